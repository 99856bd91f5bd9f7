"""Shared fixtures: the Xero sandbox runs once per test session on a free port."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def sandbox_server():
    """The real sandbox HTTP server on 127.0.0.1 and a free port, for the whole session."""
    from payroll_xero.sandbox import Sandbox

    server = Sandbox(host="127.0.0.1", port=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sandbox(sandbox_server):
    """The session's sandbox, back to its seeded state (no faults, no bills, fresh limits)."""
    sandbox_server.reset()
    yield sandbox_server
    sandbox_server.reset()
