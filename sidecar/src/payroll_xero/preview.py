"""``payroll-xero bills``: show the bills of a pay run, as a table or as JSON."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from typing import TextIO

from .bills import BuildResult, build_bills
from .loaders import InputError, load_mapping, load_pay_run


def result_to_dict(result: BuildResult) -> dict:
    """The build result as JSON-able data (amounts as strings, exact)."""
    return {
        "bills": [dict(bill.to_dict(), total=str(bill.total)) for bill in result.bills],
        "problems": [
            {
                "severity": p.severity,
                "code": p.code,
                "message": p.message,
                "pay_item": p.pay_item,
                "type": p.type_name,
                "employee_key": p.employee_key,
                "amount": None if p.amount is None else str(p.amount),
            }
            for p in result.problems
        ],
        "ok": result.ok,
    }


def _money(amount: Decimal) -> str:
    return f"{amount:,.{max(0, -amount.as_tuple().exponent)}f}"


def format_table(result: BuildResult) -> str:
    """A readable text table of the bills and the problems."""
    out: list[str] = []
    for bill in result.bills:
        kind = "CREDIT NOTE" if bill.is_credit_note else "BILL"
        contact = bill.contact_name + (f" [{bill.contact_number}]" if bill.contact_number else "")
        out.append(f"{kind} {bill.invoice_number}  {bill.status}")
        out.append(f"  to {contact}   date {bill.date}   due {bill.due_date}   {bill.currency}")
        width = max(len(line.description) for line in bill.lines)
        for line in bill.lines:
            tracking = "  " + ", ".join(f"{c}: {o}" for c, o in line.tracking) if line.tracking else ""
            out.append(
                f"    {line.account_code:<8} {line.description:<{width}} {_money(line.amount):>16}{tracking}"
            )
        out.append(f"    {'':<8} {'Total':<{width}} {_money(bill.total):>16}")
        out.append("")
    count = len(result.bills)
    notes = sum(1 for b in result.bills if b.is_credit_note)
    out.append(f"{count} document(s): {count - notes} bill(s), {notes} credit note(s)")
    for problem in result.problems:
        out.append(f"{problem.severity.upper()}: {problem.message}")
    return "\n".join(out)


def run_bills(args, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    try:
        pay_run = load_pay_run(args.payrun)
        mapping = load_mapping(args.mapping)
    except InputError as exc:
        print(f"error: {exc}", file=stderr)
        return 2
    result = build_bills(pay_run, mapping)
    if args.json:
        print(json.dumps(result_to_dict(result), indent=2), file=stdout)
    else:
        print(format_table(result), file=stdout)
    return 0 if result.ok else 1
