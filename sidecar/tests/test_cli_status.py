"""``payroll-xero status``: push a run, change its bills in Xero, read what Xero says of them."""

from __future__ import annotations

from test_jobs import EXAMPLES, _connected, _run, env  # noqa: F401  (the env fixture)

from payroll_xero.sandbox import DEMO_TENANT_ID

ARGV = ["--mapping", str(EXAMPLES / "mapping.json")]


def _block(lines: list[str], number: str) -> str:
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{number}: "))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith("  ")), len(lines))
    return "\n".join(lines[start:end])


def test_status_shows_paid_voided_edited_and_unchanged_bills(sandbox, env):  # noqa: F811
    _connected(sandbox, env)
    code, pushed = _run(["push", str(EXAMPLES / "payrun.json"), *ARGV])
    assert code == 0, pushed
    bills = sorted(sandbox.invoices(DEMO_TENANT_ID), key=lambda d: d["InvoiceNumber"])
    assert len(bills) >= 3
    paid, voided, edited = bills[0], bills[1], bills[2]
    for doc in (paid, voided):
        sandbox.approve_invoice(DEMO_TENANT_ID, doc["InvoiceID"])
    sandbox.pay_invoice(DEMO_TENANT_ID, paid["InvoiceID"], paid["Total"])
    sandbox.void_invoice(DEMO_TENANT_ID, voided["InvoiceID"])
    sandbox.edit_invoice(DEMO_TENANT_ID, edited["InvoiceID"], line=0, unit_amount="1.00")

    code, printed = _run(["status", str(EXAMPLES / "payrun.json"), *ARGV])
    assert code == 0, printed
    lines = printed.splitlines()
    assert " PAID " in _block(lines, paid["InvoiceNumber"])
    assert "fully paid -" not in _block(lines, paid["InvoiceNumber"])
    assert " VOIDED " in _block(lines, voided["InvoiceNumber"])
    assert "changed in Xero" not in _block(lines, voided["InvoiceNumber"])
    assert "changed in Xero: " in _block(lines, edited["InvoiceNumber"])
    for doc in bills[3:]:
        block = _block(lines, doc["InvoiceNumber"])
        assert " DRAFT " in block and "changed in Xero" not in block
