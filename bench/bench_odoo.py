"""Benchmark: Xero bill generation inside Odoo (18.0 or 19.0) against OCA payroll_account on the same batches.

A standalone script that bootstraps Odoo from a config file (no ``odoo-bin shell``). It:

1. copies a template into a fresh database and installs ``hr_payroll_xero`` there with ``odoo-bin -i``: on
   Odoo 18 ``tmpl_payroll_account`` (payroll + account + OCA payroll_account); on Odoo 19, which has no
   payroll_account release, ``tmpl19_payroll`` (payroll only), and the payroll_account columns stay empty
   (``--template`` chooses another);
2. starts the sidecar's Xero sandbox in this process on a free port, connects the main company through the
   module's OAuth flow (consent, state check, code exchange) and synchronizes the chart of accounts;
3. builds a 30-rule payroll (the pay items of ``bench/synthetic.py``, with debit/credit accounts for
   payroll_account), ``max(sizes)`` employees with running contracts, and the mapping types: per batch
   "MPF" and "Income Additions", per employee "Net salaries";
4. for each size, creates a batch of that many payslips with 30 lines each, FAST: payslips and lines are
   inserted with SQL (all rule columns copied from the salary rule, total = quantity x amount x rate / 100),
   state ``verify``, as ``compute_sheet`` leaves them, then measures on that batch:

   * payroll_account: ``action_payslip_done()`` (one journal entry per payslip, posted), one payslip at a
     time as OCA payroll 18.0 requires. Above ``--account-sample`` payslips only the first ones are posted
     and the time and queries are EXTRAPOLATED linearly (the cost per payslip is constant: one move each);
     the other payslips are then set done with SQL;
   * Xero, per-batch types only: ``_xero_generate_bills(push=False)`` (preview + records), wall time and
     SQL queries (``cr.sql_log_count``), flush included, on a fresh cursor and a cold record cache;
   * the push of those per-batch bills to the sandbox: wall time and the calls the sandbox received;
   * Xero, per-employee type only: ``_xero_generate_bills(push=False)`` again (one bill per employee).

Run from the repository root (about 7 minutes with the defaults on 2 cores; PostgreSQL running)::

    /opt/odoo18/venv/bin/python bench/bench_odoo.py /opt/odoo18/odoo.conf
    /opt/odoo18/venv/bin/python bench/bench_odoo.py /opt/odoo18/odoo.conf --sizes 100,1000 --account-sample 0
    /opt/odoo18/venv/bin/python bench/bench_odoo.py /opt/odoo18/odoo.conf --profile   # cProfile of the largest
    /opt/odoo19/venv/bin/python bench/bench_odoo.py /opt/odoo19/odoo.conf   # Odoo 19 (no payroll_account)

The runtime is the config file's folder (``<runtime>/venv/bin/python``, ``<runtime>/src/odoo-bin``); the
sidecar is imported from this checkout.

``--account-sample 0`` posts every payslip with payroll_account (5,000 takes several minutes).
The database ``bench_odoo`` is dropped at the end unless ``--keep``.

Targets (issue 7): 5,000 payslips generate in under 2 s of Odoo time, with a query count that does not grow
with the batch, and faster than payroll_account on the same batch.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import logging
import os
import platform
import pstats
import random
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "sidecar" / "src"))

import synthetic  # noqa: E402 - after the path insert

ADDONS = HERE.parent / "addons"
# The template of each series, unless --template: Odoo 19 has no payroll_account release.
TEMPLATES = {18: "tmpl_payroll_account", 19: "tmpl19_payroll"}
MODULE = "hr_payroll_xero"
PREFIX = "BN_"  # rule codes of the bench, apart from the demo's
PERIOD = (date(2026, 10, 1), date(2026, 10, 31))
TARGET_SECONDS = 2.0
TARGET_SIZE = 5000

# Odoo's accounts (generic chart) for payroll_account: expense / payable per kind of pay item.
ODOO_ACCOUNTS = {
    "earning": ("630000", "230000"),  # Salary Expenses / Salary Payable
    "deduction": ("230000", "230100"),  # Salary Payable / Employee Payroll Taxes
    "employer": ("630000", "230200"),  # Salary Expenses / Employer Payroll Taxes
}

_logger = logging.getLogger("bench_odoo")


# ---------------------------------------------------------------------------------------------- helpers


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        mem = f"{mem_kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, StopIteration):
        mem = "? RAM"
    return f"{os.cpu_count()} CPUs ({cpu}), {mem}, Python {platform.python_version()}, {platform.platform()}"


def addons_path(conf: Path) -> str:
    base = ""
    for line in conf.read_text().splitlines():
        key, _sep, value = line.partition("=")
        if key.strip() == "addons_path":
            base = value.strip()
    return f"{base},{ADDONS}" if base else str(ADDONS)


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    _logger.info("$ %s", " ".join(cmd))
    return subprocess.run(cmd, check=True, **kwargs)  # noqa: S603 - our own commands


def _pg(conf: Path):
    """A connection to the ``postgres`` database of the config's server (autocommit)."""
    import configparser

    import psycopg2

    parser = configparser.ConfigParser()
    parser.read(conf)
    options = {key: value for key, value in parser["options"].items() if value and value != "False"}
    kwargs = {"dbname": "postgres"}
    for key, arg in (
        ("db_host", "host"),
        ("db_port", "port"),
        ("db_user", "user"),
        ("db_password", "password"),
    ):
        if key in options:
            kwargs[arg] = options[key]
    connection = psycopg2.connect(**kwargs)
    connection.autocommit = True
    return connection


def database_exists(conf: Path, db: str) -> bool:
    with _pg(conf) as connection, connection.cursor() as cr:
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db])
        return bool(cr.fetchone())


def drop_database(conf: Path, db: str) -> None:
    connection = _pg(conf)
    with connection.cursor() as cr:
        cr.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    connection.close()


def make_database(conf: Path, db: str, template: str) -> None:
    """Fresh copy of the template with the module installed (its own odoo-bin process)."""
    runtime = conf.resolve().parent
    drop_database(conf, db)
    connection = _pg(conf)
    with connection.cursor() as cr:
        cr.execute(f'CREATE DATABASE "{db}" TEMPLATE "{template}"')
    connection.close()
    log = Path(f"/tmp/{db}-install.log")  # noqa: S108 - a log next to the runtime's
    started = time.perf_counter()
    with log.open("w") as out:
        run(
            [
                str(runtime / "venv/bin/python"),
                str(runtime / "src/odoo-bin"),
                "-c",
                str(conf),
                f"--addons-path={addons_path(conf)}",
                "-d",
                db,
                "-i",
                MODULE,
                "--stop-after-init",
                "--no-http",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(
                os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(HERE.parent / "sidecar" / "src")
            ),
        )
    errors = [line for line in log.read_text().splitlines() if " ERROR " in line]
    if errors:
        raise SystemExit(f"installing {MODULE} logged errors (see {log}):\n" + "\n".join(errors[:5]))
    print(f"database {db}: {template} + {MODULE} installed in {time.perf_counter() - started:.1f} s ({log})")


def bootstrap(conf: Path, db: str):
    """Load Odoo in this process on ``db``; returns the registry."""
    import odoo
    from odoo.modules.registry import Registry

    odoo.tools.config.parse_config(["-c", str(conf), f"--addons-path={addons_path(conf)}", "-d", db])
    logging.getLogger("odoo").setLevel(logging.WARNING)
    logging.getLogger("payroll_xero").setLevel(logging.WARNING)
    return Registry(db)


@contextmanager
def environment(registry, uid=None, context=None):
    """A new transaction (committed at the end) and its environment, as one request would have."""
    from odoo import SUPERUSER_ID, api

    with registry.cursor() as cr:
        env = api.Environment(cr, uid or SUPERUSER_ID, context or {})
        yield env
        env.flush_all()
        cr.commit()


class Meter:
    """Wall time and SQL queries of a block, including what its commit does (ORM flush, precommit hooks
    such as mail tracking); the commit itself is left to the caller."""

    def __init__(self, env, profile: bool = False):
        self.env, self.profile = env, profile
        self.seconds = 0.0
        self.queries = 0
        self.stats = ""

    def __enter__(self) -> Meter:
        self.env.invalidate_all()
        self._profiler = cProfile.Profile() if self.profile else None
        self._queries = self.env.cr.sql_log_count
        self._start = time.perf_counter()
        if self._profiler:
            self._profiler.enable()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type:
            return
        self.env.cr.flush()
        if self._profiler:
            self._profiler.disable()
        self.seconds = time.perf_counter() - self._start
        self.queries = self.env.cr.sql_log_count - self._queries
        if self._profiler:
            out = io.StringIO()
            pstats.Stats(self._profiler, stream=out).sort_stats("cumulative").print_stats(35)
            self.stats = out.getvalue()


# ---------------------------------------------------------------------------------------------- set-up


def connect_sandbox(registry):
    """Sandbox on a free port, the main company connected through the module's OAuth flow."""
    from payroll_xero.client import limiter_for
    from payroll_xero.sandbox import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID, Sandbox

    sandbox = Sandbox(host="127.0.0.1", port=0).start()
    # The push of the per-batch bills is a handful of calls; the limits stay out of the measurement anyway.
    limiter_for(DEMO_TENANT_ID).per_minute = sandbox.limiter.minute_limit = 100_000
    with environment(registry) as env:
        params = env["ir.config_parameter"].sudo()
        for key in ("login_url", "identity_url", "api_url"):
            params.set_param(f"hr_payroll_xero.{key}", sandbox.url)
        params.set_param("web.base.url", "http://127.0.0.1:8069")
        company = env.ref("base.main_company")
        company.xero_currency_code = company.currency_id.name
        connection = env["xero.connection"].create(
            {
                "name": f"Xero {company.name}",
                "company_id": company.id,
                "client_id": DEMO_CLIENT_ID,
                "client_secret": DEMO_CLIENT_SECRET,
            }
        )
        action = connection.action_connect()
        redirect = sandbox.approve(action["url"], tenant_ids=[DEMO_TENANT_ID])
        query = {key: values[0] for key, values in parse_qs(urlsplit(redirect).query).items()}
        assert env["xero.connection"]._xero_check_state(query["state"]) == connection
        connection._xero_complete_consent(query["code"])
        connection_id = connection.id
    with environment(registry) as env:  # the token is committed: refreshes lock its row on their cursor
        connection = env["xero.connection"].browse(connection_id)
        connection._xero_sync_accounts()
        print(
            f"sandbox {sandbox.url}: {connection.tenant_name} connected, "
            f"{len(env['xero.account'].search([('connection_id', '=', connection_id)]))} accounts synchronized"
        )
    return sandbox


def setup_payroll(registry, n_employees: int) -> dict:
    """Rules, structure, salary journal, departments, employees with contracts, mapping types."""
    started = time.perf_counter()
    with environment(registry) as env:
        env = env(
            context=dict(env.context, mail_create_nolog=True, mail_notrack=True, no_reset_password=True)
        )
        company = env.ref("base.main_company")
        has_account = "account_debit" in env["hr.salary.rule"]._fields  # OCA payroll_account installed
        journal = None
        if has_account:
            Account = env["account.account"].with_company(company)

            def account(code):
                found = Account.search([("code", "=", code)], limit=1)
                assert found, f"account {code} is missing from the chart"
                return found

            journal = env["account.journal"].create(
                {
                    "name": "Salaries (bench)",
                    "code": "BSAL",
                    "type": "general",
                    "company_id": company.id,
                    "default_account_id": account("230000").id,
                }
            )
        Category = env["hr.salary.rule.category"]
        categories = {
            kind: Category.create({"name": f"Bench {kind}", "code": f"{PREFIX}{kind.upper()}"})
            for kind in ("earning", "deduction", "employer", "total")
        }
        kinds = (
            [(code, name, "earning") for code, name, _a in synthetic.EARNINGS]
            + [(code, name, "deduction") for code, name, _a in synthetic.DEDUCTIONS]
            + [(code, name, "employer") for code, name, _a in synthetic.EMPLOYER]
            + [(code, name, "total") for code, name in synthetic.TOTALS]
        )
        Rule = env["hr.salary.rule"].with_company(company)
        rules = {}
        for sequence, (code, name, kind) in enumerate(kinds, start=1):
            vals = {
                "name": name,
                "code": f"{PREFIX}{code}",
                "sequence": sequence,
                "category_id": categories[kind].id,
                "condition_select": "none",
                "amount_select": "fix",
                "amount_fix": 0.0,
                "company_id": company.id,
                "xero_ignore": kind == "total",
            }
            if has_account and kind in ODOO_ACCOUNTS:
                debit, credit = ODOO_ACCOUNTS[kind]
                vals.update(account_debit=account(debit).id, account_credit=account(credit).id)
            rules[code] = Rule.create(vals)
        structure = env["hr.payroll.structure"].create(
            {
                "name": "Bench HK Monthly",
                "code": f"{PREFIX}HK",
                "company_id": company.id,
                "parent_id": False,
                "rule_ids": [(6, 0, [rule.id for rule in rules.values()])],
            }
        )
        departments = env["hr.department"].create(
            [{"name": name, "company_id": company.id} for name in synthetic.DEPARTMENTS]
        )
        employees, contracts = _employees_with_contracts(
            env, company, departments, structure, journal, n_employees
        )
        xero = {
            account.code: account.id
            for account in env["xero.account"].search([("company_id", "=", company.id)])
        }

        def lines(items, sign="+"):
            return [
                (0, 0, {"salary_rule_id": rules[code].id, "account_id": xero[acc], "sign": sign})
                for code, _name, acc in items
                if acc
            ]

        Type = env["xero.mapping.type"]
        types = {
            "MPF": Type.create(
                {
                    "name": "MPF",
                    "code": "MPF",
                    "grouping": "run",
                    "contact_name": "HSBC MPF Trustee",
                    "due_days": 10,
                    "line_ids": lines([("MPF_EE", "", "825")], "-") + lines([("MPF_ER", "", "478")]),
                }
            ),
            "INCOME": Type.create(
                {
                    "name": "Income Additions",
                    "code": "INCOME",
                    "grouping": "run",
                    "contact_name": "Payroll clearing",
                    "line_ids": lines(synthetic.EARNINGS),
                }
            ),
            "NET": Type.create(
                {
                    "name": "Net salaries",
                    "code": "NET",
                    "grouping": "employee",
                    "line_ids": lines(synthetic.EARNINGS) + lines(synthetic.DEDUCTIONS),
                }
            ),
        }
        setup = {
            "company": company.id,
            "journal": journal.id if journal else None,
            "has_account": has_account,
            "structure": structure.id,
            "rules": {code: rule.id for code, rule in rules.items()},
            "kinds": {code: kind for code, _n, kind in kinds},
            "employees": employees.ids,
            "contracts": {contract.employee_id.id: contract.id for contract in contracts},
            "contract_table": contracts._table,
            "types": {key: mtype.id for key, mtype in types.items()},
        }
    print(
        f"payroll: {len(rules)} rules, {n_employees:,} employees with contracts, 3 mapping types "
        f"({time.perf_counter() - started:.1f} s)"
    )
    return setup


def _employees_with_contracts(env, company, departments, structure, journal, n_employees):
    """``n_employees`` employees with a running contract each: ``hr.contract`` records on Odoo 18, the
    employees' own ``hr.version`` on Odoo 19 (given its contract fields when the employee is created)."""
    wage = lambda idx: 15000.0 + (idx * 37) % 45000  # noqa: E731
    employee_vals = [
        {
            "name": f"Bench Employee {idx:05d}",
            "department_id": departments[idx % len(departments)].id,
            "company_id": company.id,
        }
        for idx in range(n_employees)
    ]
    if "hr.contract" not in env:
        for idx, vals in enumerate(employee_vals):
            vals.update(
                wage=wage(idx),
                struct_id=structure.id,
                date_version=date(2026, 1, 1),
                contract_date_start=date(2026, 1, 1),
            )
        employees = env["hr.employee"].create(employee_vals)
        return employees, employees.version_id
    employees = env["hr.employee"].create(employee_vals)
    contracts = env["hr.contract"].create(
        [
            {
                "name": f"Contract {employee.name}",
                "employee_id": employee.id,
                "wage": wage(idx),
                "struct_id": structure.id,
                "date_start": date(2026, 1, 1),
                "state": "open",
                "company_id": company.id,
                **({"journal_id": journal.id} if journal else {}),
            }
            for idx, employee in enumerate(employees)
        ]
    )
    return employees, contracts


def make_batch(registry, setup: dict, size: int, seed: int = 7) -> int:
    """A batch of ``size`` payslips in state verify, 30 lines each, inserted with SQL; returns its id."""
    rng = random.Random(seed + size)
    with environment(registry) as env:
        cr = env.cr
        journal = {"journal_id": setup["journal"]} if setup["has_account"] else {}
        run = env["hr.payslip.run"].create(
            {
                "name": f"Bench {size:,} payslips",
                "company_id": setup["company"],
                "date_start": PERIOD[0],
                "date_end": PERIOD[1],
                **journal,
            }
        )
        env.flush_all()
        employees = setup["employees"][:size]
        journal_column, journal_value = ("journal_id, ", "c.journal_id, ") if journal else ("", "")
        cr.execute(
            f"""
            INSERT INTO hr_payslip (name, number, employee_id, contract_id, struct_id, company_id,
                                    payslip_run_id, {journal_column}state, date_from, date_to, compute_date,
                                    credit_note, paid, create_uid, write_uid, create_date, write_date)
            SELECT 'Bench payslip of ' || e.name, 'BSLIP/' || %(run)s || '/' || e.id, e.id, c.id,
                   %(struct)s, %(company)s, %(run)s, {journal_value}'verify', %(start)s, %(end)s, %(end)s,
                   false, false, 1, 1, now() at time zone 'UTC', now() at time zone 'UTC'
              FROM hr_employee e JOIN {setup["contract_table"]} c ON c.employee_id = e.id
             WHERE e.id = ANY(%(employees)s)
             ORDER BY e.id
            RETURNING id, employee_id, contract_id
            """,  # noqa: S608 - table and column names of this script, no user input
            {
                "run": run.id,
                "struct": setup["structure"],
                "company": setup["company"],
                "start": PERIOD[0],
                "end": PERIOD[1],
                "employees": employees,
            },
        )
        slips = cr.fetchall()
        negative = {code for code, _n, _a in synthetic.DEDUCTIONS}
        rows = []
        for slip_id, employee_id, contract_id in slips:
            for code, rule_id in setup["rules"].items():
                amount = rng.randrange(1, 4_000_000) / 100
                rate = -100.0 if code in negative else 100.0
                rows.append((slip_id, rule_id, employee_id, contract_id, amount, rate, amount * rate / 100))
        _insert_lines(cr, rows, setup["contract_table"])
        env.invalidate_all()
        assert len(slips) == size, (len(slips), size)
        return run.id


def _insert_lines(cr, rows, contract_table: str) -> None:
    """Insert payslip lines: rule columns copied from the rule, currency (OCA payroll 18; 19's lines have
    none) from the contract's company."""
    cr.execute(
        "SELECT 1 FROM information_schema.columns WHERE table_name = 'hr_payslip_line' AND column_name = 'currency_id'"
    )
    currency_column, currency_value = ("currency_id, ", "co.currency_id, ") if cr.fetchone() else ("", "")
    cr.execute_values(
        f"""
        INSERT INTO hr_payslip_line (slip_id, salary_rule_id, employee_id, contract_id, quantity, amount,
               rate, total, {currency_column}date_from, name, code, sequence, category_id, parent_rule_id,
               company_id, register_id, condition_select, condition_python, condition_range,
               condition_range_min, condition_range_max, amount_select, amount_fix, amount_percentage,
               amount_percentage_base, amount_python_compute, appears_on_payslip, active,
               create_uid, write_uid, create_date, write_date)
        SELECT v.slip_id, r.id, v.employee_id, v.contract_id, 1, v.amount, v.rate, v.total,
               {currency_value}DATE '{PERIOD[0].isoformat()}', r.name, r.code, r.sequence, r.category_id,
               r.parent_rule_id, r.company_id, r.register_id, r.condition_select, r.condition_python,
               r.condition_range, r.condition_range_min, r.condition_range_max, r.amount_select,
               r.amount_fix, r.amount_percentage, r.amount_percentage_base, r.amount_python_compute,
               r.appears_on_payslip, true, 1, 1, now() at time zone 'UTC', now() at time zone 'UTC'
          FROM (VALUES %s) AS v(slip_id, rule_id, employee_id, contract_id, amount, rate, total)
          JOIN hr_salary_rule r ON r.id = v.rule_id
          JOIN {contract_table} c ON c.id = v.contract_id
          JOIN res_company co ON co.id = c.company_id
        """,  # noqa: S608 - a constant date, no user input
        rows,
        template="(%s, %s, %s, %s, %s::numeric, %s::numeric, %s::numeric)",
        page_size=10_000,
    )


# ---------------------------------------------------------------------------------------------- measures


def measure_payroll_account(registry, run_id: int, sample: int, installed: bool = True) -> dict:
    """Post the batch's payslips with payroll_account (``sample`` of them when > 0), then set all done.
    Without payroll_account (Odoo 19) the payslips are only set done and the figures are None."""
    if not installed:
        with environment(registry) as env:
            env.cr.execute("UPDATE hr_payslip SET state = 'done' WHERE payslip_run_id = %s", [run_id])
            env.invalidate_all()
            env["hr.payslip.run"].browse(run_id).close_payslip_run()
        return dict.fromkeys(
            ("posted", "move_lines", "measured_seconds", "measured_queries", "seconds", "queries"), None
        ) | {"extrapolated": False}
    with environment(registry) as env:
        Slip = env["hr.payslip"]
        slips = Slip.search([("payslip_run_id", "=", run_id)], order="id")
        size = len(slips)
        posted = slips[:sample] if 0 < sample < size else slips
        with Meter(env) as meter:
            for slip in posted.with_context(without_compute_sheet=True):  # one at a time (OCA 18.0)
                slip.action_payslip_done()
        moves = posted.move_id
        assert len(moves) == len(posted) and set(moves.mapped("state")) == {"posted"}, "payroll_account"
        lines = len(moves.line_ids)
        env.flush_all()
        env.cr.execute(
            "UPDATE hr_payslip SET state = 'done' WHERE payslip_run_id = %s AND state = 'verify'", [run_id]
        )
        env.invalidate_all()
        env["hr.payslip.run"].browse(run_id).close_payslip_run()
    factor = size / len(posted)
    return {
        "posted": len(posted),
        "move_lines": lines,
        "measured_seconds": meter.seconds,
        "measured_queries": meter.queries,
        "seconds": meter.seconds * factor,
        "queries": round(meter.queries * factor),
        "extrapolated": len(posted) < size,
    }


def set_active_types(registry, setup: dict, keys: set[str]) -> None:
    with environment(registry) as env:
        for key, type_id in setup["types"].items():
            env["xero.mapping.type"].browse(type_id).active = key in keys


def measure_generate(registry, run_id: int, user_id: int, profile: bool) -> dict:
    with environment(registry, user_id) as env:
        run = env["hr.payslip.run"].browse(run_id)
        with Meter(env, profile) as meter:
            records = run._xero_generate_bills(push=False)
        return {
            "seconds": meter.seconds,
            "queries": meter.queries,
            "bills": len(records),
            "bill_lines": len(records.line_ids),
            "ids": records.ids,
            "stats": meter.stats,
        }


def measure_push(registry, sandbox, record_ids: list[int], user_id: int) -> dict:
    calls_before = len(sandbox.calls)
    with environment(registry, user_id) as env:
        records = env["xero.bill.record"].browse(record_ids)
        with Meter(env) as meter:
            records.action_push()  # what the Push button does: access check, then the push as superuser
        states = set(records.mapped("state"))
        errors = records.filtered(lambda r: r.state != "sent").mapped("last_error")
    calls = sandbox.calls[calls_before:]
    assert states == {"sent"}, f"push: {states} {errors[:3]}"
    return {"seconds": meter.seconds, "queries": meter.queries, "calls": len(calls)}


# ---------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", type=Path, help="Odoo config file, e.g. /opt/odoo18/odoo.conf")
    parser.add_argument("--db", default="bench_odoo", help="database to create (dropped first if present)")
    parser.add_argument("--sizes", default="100,1000,5000", help="payslips per batch, comma-separated")
    parser.add_argument(
        "--account-sample",
        type=int,
        default=500,
        help="post at most this many payslips per batch with payroll_account and extrapolate "
        "(0: post them all)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the generations of the largest batch"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--template", help=f"template database (default: by series, {TEMPLATES})")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]

    import odoo.release

    template = args.template or TEMPLATES.get(odoo.release.version_info[0])
    if not template or not database_exists(args.config, template):
        raise SystemExit(f"no template database {template!r}: create it or pass --template")

    print(f"machine: {machine()}")
    print(f"odoo: {odoo.release.version} ({Path(odoo.release.__file__).parent.parent})")
    make_database(args.config, args.db, template)
    registry = bootstrap(args.config, args.db)
    sandbox = connect_sandbox(registry)
    try:
        setup = setup_payroll(registry, max(sizes))
        with environment(registry) as env:
            user = env.ref("base.user_admin")
            assert user.has_group("hr_payroll_xero.group_xero_user"), "admin is no Xero user"
            user_id = user.id
        # Warm-up on a small batch, not reported: the figures then describe a running server (registry
        # caches, ormcache, code paths loaded), not the first request after a restart.
        warm = make_batch(registry, setup, min(10, max(sizes)))
        measure_payroll_account(registry, warm, 0, setup["has_account"])
        set_active_types(registry, setup, {"MPF", "INCOME"})
        measure_push(registry, sandbox, measure_generate(registry, warm, user_id, False)["ids"], user_id)
        set_active_types(registry, setup, {"NET"})
        measure_generate(registry, warm, user_id, False)
        results = []
        for size in sizes:
            started = time.perf_counter()
            run_id = make_batch(registry, setup, size)
            made = time.perf_counter() - started
            account = measure_payroll_account(registry, run_id, args.account_sample, setup["has_account"])
            profile = args.profile and size == max(sizes)
            set_active_types(registry, setup, {"MPF", "INCOME"})
            per_run = measure_generate(registry, run_id, user_id, profile)
            push = measure_push(registry, sandbox, per_run["ids"], user_id)
            set_active_types(registry, setup, {"NET"})
            per_employee = measure_generate(registry, run_id, user_id, profile)
            posted = (
                f"payroll_account posted {account['posted']:,} ({account['move_lines']:,} move lines) in "
                f"{account['measured_seconds']:.2f} s / {account['measured_queries']:,} queries"
                if setup["has_account"]
                else "no payroll_account"
            )
            print(
                f"  {size:>6,} payslips: batch made in {made:.1f} s; {posted}; "
                f"per-batch {per_run['bills']} bills ({per_run['bill_lines']} lines); "
                f"per-employee {per_employee['bills']:,} bills ({per_employee['bill_lines']:,} lines)"
            )
            for label, result in (("per-batch types", per_run), ("per-employee type", per_employee)):
                if result["stats"]:
                    print(f"\n--- cProfile, {label}, {size:,} payslips ---\n{result['stats']}")
            results.append((size, per_run, per_employee, push, account))
    finally:
        sandbox.stop()
        if not args.keep:
            import odoo.sql_db
            from odoo.modules.registry import Registry

            Registry.delete(args.db)
            odoo.sql_db.close_all()
            drop_database(args.config, args.db)

    print()
    header = (
        f"{'payslips':>8} | {'lines':>7} | {'xero per-batch s':>16} | {'queries':>7} | "
        f"{'xero per-employee s':>19} | {'queries':>7} | {'push s':>6} | {'calls':>5} | "
        f"{'payroll_account s':>17} | {'queries':>8}"
    )
    print(header)
    print("-" * len(header))
    for size, per_run, per_employee, push, account in results:
        mark = "*" if account["extrapolated"] else " "
        posted = (
            f"{account['seconds']:>16.1f}{mark} | {account['queries']:>7,}{mark}"
            if setup["has_account"]
            else f"{'-':>17} | {'-':>8}"
        )
        print(
            f"{size:>8,} | {size * len(setup['rules']):>7,} | {per_run['seconds']:>16.2f} | "
            f"{per_run['queries']:>7,} | {per_employee['seconds']:>19.2f} | {per_employee['queries']:>7,} | "
            f"{push['seconds']:>6.2f} | {push['calls']:>5} | {posted}"
        )
    if any(account["extrapolated"] for *_rest, account in results):
        print(
            f"* payroll_account extrapolated linearly from the first {args.account_sample:,} payslips of the "
            "batch (one journal entry per payslip: constant cost per payslip)"
        )
    size, per_run, per_employee, _push, account = results[-1]
    worst = max(per_run["seconds"], per_employee["seconds"])
    grows = any(
        (a[1]["queries"], a[2]["queries"]) != (b[1]["queries"], b[2]["queries"])
        for a, b in itertools.pairwise(results)
    )
    versus = (
        f"{'faster' if worst < account['seconds'] else 'SLOWER'} than payroll_account ({account['seconds']:.1f} s)"
        if setup["has_account"]
        else "payroll_account not installed"
    )
    print(
        f"\ntarget: {TARGET_SIZE:,} payslips under {TARGET_SECONDS} s -> {size:,} payslips, slowest grouping "
        f"{worst:.2f} s: {'MET' if size >= TARGET_SIZE and worst < TARGET_SECONDS else 'MISSED'}; "
        f"query count {'GROWS' if grows else 'constant'} with the batch; {versus}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
