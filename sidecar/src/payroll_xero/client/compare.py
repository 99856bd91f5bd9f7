"""Reading Xero's answers against the bills and journals sent: which lines a refusal is about, and how a
document found in Xero differs from the bill (or manual journal) this app would send."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ..bills import Bill
from ..journal_values import Journal
from .values import XeroBill, XeroJournal, namesake_contact_name


def _mentions(message: str, word: str) -> bool:
    return bool(word) and re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", message) is not None


def _line_refs(bill: Bill | Journal, message: str) -> str:
    """Name the lines of ``bill`` (or a journal) a Xero message is about (by account code or tracking
    option, else by tracking category)."""
    for words_of in (
        lambda line: [line.account_code, *(opt for _cat, opt in line.tracking)],
        lambda line: [cat for cat, _opt in line.tracking],
    ):
        hits = [
            f"line {idx} ({line.description}, account {line.account_code})"
            for idx, line in enumerate(bill.lines, start=1)
            if any(_mentions(message, w) for w in words_of(line))
        ]
        if hits:
            return ", ".join(hits)
    return ""


def readable_errors(bill: Bill, messages: Iterable[str]) -> tuple[str, ...]:
    """Xero's messages for ``bill``, each prefixed with the bill number and the lines it concerns."""
    out = []
    for message in messages:
        refs = _line_refs(bill, message)
        where = f"{bill.invoice_number}, {refs}" if refs else bill.invoice_number
        out.append(f"{where}: {message}")
    return tuple(out)


def readable_journal_errors(journal: Journal, messages: Iterable[str]) -> tuple[str, ...]:
    """Xero's messages for ``journal``, each prefixed with its key and the lines it concerns."""
    out = []
    for message in messages:
        refs = _line_refs(journal, message)
        out.append(f"journal {journal.key}{', ' + refs if refs else ''}: {message}")
    return tuple(out)


_CENT = Decimal("0.01")


def _money(value: Any) -> Decimal | None:
    """An amount rounded as Xero keeps it (2 places); None when it is not a number."""
    if value is None:
        return None
    try:
        return Decimal(str(value)).quantize(_CENT, ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return None


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "nothing"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return f'"{value}"'


def _same_text(a: str | None, b: str | None) -> bool:
    return (a or "").strip() == (b or "").strip()


def _tracking_key(tracking: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return sorted((cat.strip().casefold(), opt.strip().casefold()) for cat, opt in tracking)


def _tracking_text(tracking: Iterable[tuple[str, str]]) -> str:
    pairs = [f"{cat}: {opt}" for cat, opt in tracking]
    return ", ".join(pairs) if pairs else "none"


def bill_differences(bill: Bill, found: XeroBill, contact_id: str | None = None) -> tuple[str, ...]:
    """How the document ``found`` in Xero differs from ``bill``, as readable sentences.

    Compared: the contact (by ``contact_id`` when given, else by name), date, due date (bills),
    reference (the number), currency, line amount types, the number of lines and, line by line
    in the order sent, account, amount, description and tracking, and the total. Amounts are
    compared as Xero keeps them (rounded to 2 places). Empty when the content is the same.
    """
    out: list[str] = []
    _contact_differences(out, bill, found, contact_id)
    _header_differences(out, bill, found)
    _line_differences(out, bill, found)
    if _money(found.total) != _money(bill.total):
        _differ(out, "total", _money(found.total), _money(bill.total))
    return tuple(out)


def _differ(out: list[str], what: str, in_xero: Any, here: Any) -> None:
    out.append(f"{what}: {_shown(in_xero)} in Xero, {_shown(here)} in the bill sent.")


def _contact_differences(out: list[str], bill: Bill, found: XeroBill, contact_id: str | None) -> None:
    if contact_id is not None:
        if found.contact_id != contact_id:
            name = f" ({found.contact_name})" if found.contact_name else ""
            out.append(
                f"contact: another contact in Xero{name} than the bill's ({bill.contact_name}, {contact_id})."
            )
    elif found.contact_name is not None:
        names = {bill.contact_name.strip().casefold()}
        if bill.contact_number:
            names.add(namesake_contact_name(bill.contact_name.strip(), bill.contact_number).casefold())
        if found.contact_name.strip().casefold() not in names:
            _differ(out, "contact", found.contact_name, bill.contact_name)


def _header_differences(out: list[str], bill: Bill, found: XeroBill) -> None:
    if found.date != bill.date:
        _differ(out, "date", found.date, bill.date)
    if not bill.is_credit_note and found.due_date != bill.due_date:
        _differ(out, "due date", found.due_date, bill.due_date)
    if not _same_text(found.number, bill.invoice_number):
        _differ(out, "reference", found.number, bill.invoice_number)
    if (found.currency or "").upper() != bill.currency.upper():
        _differ(out, "currency", found.currency, bill.currency)
    if found.line_amount_types is not None and found.line_amount_types != bill.line_amount_types:
        _differ(out, "line amounts", found.line_amount_types, bill.line_amount_types)


def _line_differences(out: list[str], bill: Bill, found: XeroBill) -> None:
    if len(found.lines) != len(bill.lines):
        out.append(f"lines: {len(found.lines)} in Xero, {len(bill.lines)} in the bill sent.")
    for idx, (there, line) in enumerate(zip(found.lines, bill.lines, strict=False), start=1):
        where = f"line {idx} ({line.description})"
        if not _same_text(there.account_code, line.account_code):
            _differ(out, f"{where}, account", there.account_code, line.account_code)
        if _money(there.amount) != _money(line.amount):
            _differ(out, f"{where}, amount", _money(there.amount), _money(line.amount))
        if not _same_text(there.description, line.description):
            _differ(out, f"line {idx}, description", there.description, line.description)
        if _tracking_key(there.tracking) != _tracking_key(line.tracking):
            out.append(
                f"{where}, tracking: {_tracking_text(there.tracking)} in Xero, "
                f"{_tracking_text(line.tracking)} in the bill sent."
            )


def journal_differences(journal: Journal, found: XeroJournal) -> tuple[str, ...]:
    """How the manual journal ``found`` in Xero differs from ``journal``, as readable sentences: the
    narration, the date, the number of lines and, line by line in the order sent, account, amount
    (debit positive, credit negative), description and tracking, and the debits. Amounts are compared as
    Xero keeps them (2 places); the status is not content (a draft posted in Xero is not "changed")."""
    out: list[str] = []
    if not _same_text(found.narration, journal.narration):
        out.append(
            f"narration: {_shown(found.narration)} in Xero, {_shown(journal.narration)} in the journal sent."
        )
    if found.date != journal.date:
        out.append(f"date: {_shown(found.date)} in Xero, {_shown(journal.date)} in the journal sent.")
    if len(found.lines) != len(journal.lines):
        out.append(f"lines: {len(found.lines)} in Xero, {len(journal.lines)} in the journal sent.")
    for idx, (there, line) in enumerate(zip(found.lines, journal.lines, strict=False), start=1):
        where = f"line {idx} ({line.description})"
        if not _same_text(there.account_code, line.account_code):
            out.append(
                f"{where}, account: {_shown(there.account_code)} in Xero, {_shown(line.account_code)} "
                "in the journal sent."
            )
        if _money(there.amount) != _money(line.amount):
            out.append(
                f"{where}, amount: {_shown(_money(there.amount))} in Xero, {_shown(_money(line.amount))} "
                "in the journal sent."
            )
        if not _same_text(there.description, line.description):
            out.append(
                f"line {idx}, description: {_shown(there.description)} in Xero, {_shown(line.description)} "
                "in the journal sent."
            )
        if _tracking_key(there.tracking) != _tracking_key(line.tracking):
            out.append(
                f"{where}, tracking: {_tracking_text(there.tracking)} in Xero, "
                f"{_tracking_text(line.tracking)} in the journal sent."
            )
    if _money(found.debits) != _money(journal.debits):
        out.append(
            f"debits: {_shown(_money(found.debits))} in Xero, {_shown(_money(journal.debits))} in the journal sent."
        )
    return tuple(out)
