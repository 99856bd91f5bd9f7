"""The `payroll-xero sandbox` command: a local test server, never on another address by mistake."""

from __future__ import annotations

from payroll_xero.cli import main


def test_sandbox_command_refuses_a_non_loopback_address_without_allow_remote(capsys, monkeypatch):
    monkeypatch.delenv("PAYROLL_XERO_SANDBOX_ALLOW_REMOTE", raising=False)
    assert main(["sandbox", "--host", "203.0.113.5", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert "203.0.113.5" in err
    assert "allow" in err.lower()
