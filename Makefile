# hr_payroll_xero: two commands matter on a fresh machine.
#   make demo   run the whole flow against the local Xero sandbox
#   make test   every check: sidecar tests, lint, addon static checks, addon tests in Odoo when one is available
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test demo venv lint sidecar-test addon-static addon-test bench clean

$(STAMP): sidecar/pyproject.toml requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e 'sidecar[test]' -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

test: venv lint sidecar-test addon-static addon-test

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

sidecar-test: venv
	cd sidecar && ../$(VENV)/bin/pytest

addon-static: venv
	$(PY) tools/check_addon.py addons/hr_payroll_xero

addon-test: venv
	tools/odoo-tests

demo: venv
	$(VENV)/bin/payroll-xero demo

# Benchmarks in quick mode (figures and full runs: bench/README.md).
bench: venv
	$(PY) bench/bench_build_bills.py --quick
	$(PY) bench/bench_push.py --quick
	$(PY) bench/bench_status.py --quick

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache sidecar/.pytest_cache
