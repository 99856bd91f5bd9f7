"""The ``status`` command: what Xero says of each bill and manual journal of a pay run (status, payments,
changes made in Xero)."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from .bills import Bill
from .client import XeroBill, XeroClient, XeroJournal, bill_differences, journal_differences
from .errors import XeroError
from .jobs import EXIT_FAILED, EXIT_INPUT, EXIT_OK
from .journals import Journal, build_documents


def format_status(bill: Bill, found: XeroBill | None, contact_id: str | None) -> list[str]:
    """The lines ``status`` prints for one bill of the run."""
    if found is None:
        return [f"{bill.invoice_number}: not found in Xero"]
    paid_on = found.fully_paid_on.isoformat() if found.fully_paid_on else "-"
    due = "-" if found.amount_due is None else found.amount_due
    lines = [
        f"{bill.invoice_number}: {found.status} total {found.total} paid {found.amount_paid} "
        f"due {due} fully paid {paid_on}"
    ]
    if found.status not in ("VOIDED", "DELETED"):
        changes = bill_differences(bill, found, contact_id)
        if changes:
            lines.append("  changed in Xero: " + "; ".join(changes))
    return lines


def format_journal_status(journal: Journal, found: XeroJournal | None) -> list[str]:
    """The lines ``status`` prints for one journal of the run."""
    if found is None:
        return [f"{journal.key}: not found in Xero"]
    lines = [f"{journal.key}: {found.status} journal, debits {found.debits:,.2f}"]
    if found.status not in ("VOIDED", "DELETED"):
        changes = journal_differences(journal, found)
        if changes:
            lines.append("  changed in Xero: " + "; ".join(changes))
    return lines


def _journal_in_xero(client: XeroClient, journal: Journal) -> XeroJournal | None:
    """The live journal of that key, else the last VOIDED/DELETED one."""
    live, gone = client.find_journals([journal.key])
    if journal.key in live:
        return live[journal.key]
    read = [j for page in client.read_journals(gone.get(journal.key, [])) for j in page]
    return read[-1] if read else None


def _found_in_xero(client: XeroClient, bill: Bill, contact_id: str) -> XeroBill | None:
    """The live document of that number and contact, else the last VOIDED/DELETED one."""
    key = (bill.invoice_number, contact_id)
    live, gone = client.find_bills([key], bill.is_credit_note)  # the push's own lookup
    if key in live:
        return live[key]
    read = [b for page in client.read_bills(gone.get(key, []), bill.is_credit_note) for b in page]
    return read[-1] if read else None


def status(pay_run_path: str | Path, mapping_path: str | Path, client: XeroClient, out: TextIO) -> int:
    """Find the run's bills (by number and contact) and journals (by key) in Xero and print what Xero says
    of each."""
    from .loaders import InputError, load_mapping, load_pay_run

    try:
        built = build_documents(load_pay_run(pay_run_path), load_mapping(mapping_path))
    except InputError as exc:
        print(f"error: {exc}", file=out)
        return EXIT_INPUT
    try:
        for bill in built.bills:
            contact_id = client.find_contact(bill.contact_name, bill.contact_number)
            found = _found_in_xero(client, bill, contact_id) if contact_id else None
            for line in format_status(bill, found, contact_id):
                print(line, file=out)
        for journal in built.journals:
            for line in format_journal_status(journal, _journal_in_xero(client, journal)):
                print(line, file=out)
    except XeroError as exc:
        print(f"error: {exc}", file=out)
        return EXIT_FAILED
    return EXIT_OK
