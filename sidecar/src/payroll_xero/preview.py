"""``payroll-xero bills`` and ``payroll-xero journals``: show the bills (or manual journals) of a pay run,
as a table or as JSON."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from typing import TextIO

from .bill_values import Problem
from .bills import BuildResult, build_bills
from .journals import JournalResult, build_journals
from .loaders import InputError, load_mapping, load_pay_run


def problem_to_dict(p: Problem) -> dict:
    return {
        "severity": p.severity,
        "code": p.code,
        "message": p.message,
        "pay_item": p.pay_item,
        "type": p.type_name,
        "employee_key": p.employee_key,
        "amount": None if p.amount is None else str(p.amount),
    }


def result_to_dict(result: BuildResult) -> dict:
    """The build result as JSON-able data (amounts as strings, exact)."""
    return {
        "bills": [dict(bill.to_dict(), total=str(bill.total)) for bill in result.bills],
        "problems": [problem_to_dict(p) for p in result.problems],
        "ok": result.ok,
    }


def journals_to_dict(result: JournalResult) -> dict:
    """The journals built as JSON-able data: each journal's :meth:`~payroll_xero.journals.Journal.to_dict`
    with its debits and credits (equal), the problems, and ``ok``."""
    return {
        "journals": [
            dict(j.to_dict(), debits=str(j.debits), credits=str(j.credits)) for j in result.journals
        ],
        "problems": [problem_to_dict(p) for p in result.problems],
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


def format_journal_table(result: JournalResult) -> str:
    """A readable text table of the journals (debit and credit columns) and the problems."""
    out: list[str] = []
    for journal in result.journals:
        out.append(f"JOURNAL {journal.key}  {journal.status}")
        out.append(f"  {journal.narration}   date {journal.date}   {journal.currency}")
        width = max(len(line.description) for line in journal.lines)
        for line in journal.lines:
            debit = _money(line.debit) if line.amount > 0 else ""
            credit = _money(line.credit) if line.amount < 0 else ""
            tracking = "  " + ", ".join(f"{c}: {o}" for c, o in line.tracking) if line.tracking else ""
            out.append(
                f"    {line.account_code:<8} {line.description:<{width}} {debit:>16} {credit:>16}{tracking}"
            )
        out.append(
            f"    {'':<8} {'Total':<{width}} {_money(journal.debits):>16} {_money(journal.credits):>16}"
        )
        out.append("")
    out.append(f"{len(result.journals)} journal(s)")
    for problem in result.problems:
        out.append(f"{problem.severity.upper()}: {problem.message}")
    return "\n".join(out)


def run_journals(args, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """``payroll-xero journals``: exit 0, 1 when a problem is an error, 2 when an input is unusable."""
    return _run(args, build_journals, journals_to_dict, format_journal_table, stdout, stderr)


def run_bills(args, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    return _run(args, build_bills, result_to_dict, format_table, stdout, stderr)


def _run(args, build, to_dict, table, stdout: TextIO | None, stderr: TextIO | None) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    try:
        pay_run = load_pay_run(args.payrun)
        mapping = load_mapping(args.mapping)
    except InputError as exc:
        print(f"error: {exc}", file=stderr)
        return 2
    result = build(pay_run, mapping)
    if args.json:
        print(json.dumps(to_dict(result), indent=2), file=stdout)
    else:
        print(table(result), file=stdout)
    return 0 if result.ok else 1
