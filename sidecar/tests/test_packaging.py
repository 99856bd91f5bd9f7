"""The distribution's dependency floors (issue 10, item 11)."""

from __future__ import annotations

import re
from importlib.metadata import requires, version
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _floors() -> dict[str, tuple[int, ...]]:
    text = PYPROJECT.read_text(encoding="utf-8")
    block = re.search(r"(?ms)^dependencies = \[(.*?)^\]", text).group(1)
    found = {}
    for name, floor in re.findall(r'"([A-Za-z0-9_.-]+)>=([0-9.]+)', block):
        found[name.lower()] = tuple(int(p) for p in floor.split("."))
    return found


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version(name))[:3])


def test_requests_and_urllib3_have_the_floors_the_client_relies_on():
    floors = _floors()
    assert floors["requests"] >= (2, 32, 4)
    # The client switches redirects off with a pool-level Retry(redirect=0): honoured from 2.5.0.
    assert floors["urllib3"] >= (2, 5, 0)


def test_the_installed_distribution_declares_them_and_this_environment_meets_them():
    declared = " ".join(requires("payroll-xero") or ())
    assert "urllib3>=2.5.0" in declared and "requests>=2.32.4" in declared
    assert _version("urllib3") >= (2, 5, 0)
    assert _version("requests") >= (2, 32, 4)
