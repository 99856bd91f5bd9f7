"""The `payroll-xero sandbox` command: a local test server, never on another address by mistake."""

from __future__ import annotations

from payroll_xero.cli import main


def test_sandbox_command_refuses_a_non_loopback_address_without_allow_remote(capsys, monkeypatch):
    monkeypatch.delenv("PAYROLL_XERO_SANDBOX_ALLOW_REMOTE", raising=False)
    assert main(["sandbox", "--host", "0.0.0.0", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert "0.0.0.0" in err
    assert "allow" in err.lower()
