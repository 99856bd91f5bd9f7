"""Manual journals: create, update a draft, post, void and delete, with Xero's rules.

What the sandbox checks, as Xero does (messages as close to Xero's as known):

* a ``Narration`` and at least two ``JournalLines``, each with a ``LineAmount`` (debit positive, credit
  negative) and an account (``AccountCode`` or ``AccountID``) that exists, is ACTIVE, and is neither a bank
  account nor the accounts payable / receivable system account (those take manual journals in no
  organisation: bank lines are bank transactions, payables and receivables need a contact);
* debits equal credits to the cent: ``"The total debits (100.00) must equal total credits (-10.00)"``;
* tracking: at most two categories a line, each ACTIVE with an ACTIVE option;
* status: created ``DRAFT`` (default) or ``POSTED``; a DRAFT may be edited, posted or DELETED, a POSTED
  journal only VOIDED (never edited), a VOIDED or DELETED one is final;
* the date after the organisation's lock date; ``Url`` an http(s) URL.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

from .batches import Outcome
from .ledger import Ledger
from .lines import build_tracking
from .values import LINE_AMOUNT_TYPES, ZERO_ID, XeroValueError, dec, money, parse_date, timestamp_now, utcnow

NEW_STATUSES = ("DRAFT", "POSTED")
TRANSITIONS = {
    "DRAFT": {"DRAFT", "POSTED", "DELETED"},
    "POSTED": {"POSTED", "VOIDED"},
    "VOIDED": set(),
    "DELETED": set(),
}
_REFUSED_SYSTEM_ACCOUNTS = ("CREDITORS", "DEBTORS")


def _account(ledger: Ledger, raw: dict[str, Any], errors: list[str]) -> dict[str, Any] | None:
    code = raw.get("AccountCode")
    if code in (None, "") and not raw.get("AccountID"):
        errors.append("Each journal line must have an account code.")
        return None
    account = ledger.account(
        code=str(code) if code not in (None, "") else None, account_id=raw.get("AccountID")
    )
    shown = code if code not in (None, "") else raw.get("AccountID")
    if account is None:
        errors.append(f"Account code '{shown}' does not match a recognised account.")
    elif account["Status"] != "ACTIVE":
        errors.append(
            f"The account code '{account['Code']}' has been archived, or has been deleted. "
            "Each line item must reference a valid account."
        )
    elif account["Type"] == "BANK":
        errors.append(
            f"Account code '{account['Code']}' is a bank account: bank accounts cannot be journalled."
        )
    elif account.get("SystemAccount") in _REFUSED_SYSTEM_ACCOUNTS:
        errors.append(
            f"Account code '{account['Code']}' is the {account['Name']} system account, which takes no "
            "manual journals."
        )
    return account


def _lines(ledger: Ledger, raw_lines: Any, errors: list[str]) -> list[dict[str, Any]]:
    if not isinstance(raw_lines, list) or len(raw_lines) < 2:
        errors.append(
            "The JournalLines element must contain at least two individual JournalLine sub-elements."
        )
        if not isinstance(raw_lines, list):
            return []
    categories = ledger.tracking_categories()
    lines = []
    for raw in raw_lines:
        if not isinstance(raw, dict):
            errors.append("Each journal line must be an object")
            continue
        try:
            amount = dec(raw["LineAmount"], "LineAmount") if raw.get("LineAmount") is not None else None
        except XeroValueError as exc:
            errors.append(str(exc))
            continue
        if amount is None:
            errors.append("Each journal line must have a LineAmount.")
            continue
        account = _account(ledger, raw, errors)
        line = {
            "Description": str(raw.get("Description") or ""),
            "TaxType": str(raw.get("TaxType") or (account or {}).get("TaxType") or "NONE"),
            "TaxAmount": "0.00",
            "LineAmount": money(amount),
            "Tracking": build_tracking(categories, raw.get("Tracking"), errors),
            "IsBlank": False,
        }
        if account is not None:
            line.update({"AccountCode": account["Code"], "AccountID": account["AccountID"]})
        lines.append(line)
    debits = sum((Decimal(x["LineAmount"]) for x in lines if Decimal(x["LineAmount"]) > 0), Decimal(0))
    credits = sum((Decimal(x["LineAmount"]) for x in lines if Decimal(x["LineAmount"]) < 0), Decimal(0))
    if debits + credits != 0:
        errors.append(f"The total debits ({money(debits)}) must equal total credits ({money(credits)})")
    return lines


def _build(
    ledger: Ledger, raw: dict[str, Any], existing: dict[str, Any] | None, errors: list[str]
) -> dict[str, Any]:
    """The journal as stored, from a (merged) request; problems go to ``errors``."""
    narration = str(raw.get("Narration") or "").strip()
    if not narration:
        errors.append("The Narration field is mandatory")
    status = str(raw.get("Status") or "DRAFT").upper()
    if existing is None and status not in NEW_STATUSES:
        errors.append(f"A new manual journal cannot be created with the status {status}")
    try:
        day = parse_date(raw["Date"]) if raw.get("Date") else utcnow().date()
    except XeroValueError as exc:
        errors.append(str(exc))
        day = utcnow().date()
    lock = ledger.lock_date()
    if lock is not None and day <= lock:
        errors.append(f"The document date cannot be before the period lock date of {lock:%d/%m/%Y}")
    line_amount_types = raw.get("LineAmountTypes") or "NoTax"
    if line_amount_types not in LINE_AMOUNT_TYPES:
        errors.append(f"LineAmountTypes '{line_amount_types}' is not one of {', '.join(LINE_AMOUNT_TYPES)}")
    url = raw.get("Url")
    if url and not re.match(r"^https?://\S+$", str(url)):
        errors.append(f"The Url '{url}' is not a valid URL.")
    doc = {
        "ManualJournalID": existing["ManualJournalID"] if existing else str(uuid.uuid4()),
        "Narration": narration,
        "Date": day.isoformat(),
        "Status": status,
        "LineAmountTypes": line_amount_types,
        "JournalLines": _lines(ledger, raw.get("JournalLines"), errors),
        "ShowOnCashBasisReports": raw.get("ShowOnCashBasisReports") is not False,
        "HasAttachments": bool(existing and existing.get("HasAttachments")),
        "UpdatedDateUTC": timestamp_now(),
        "_created_by": (existing or {}).get("_created_by"),
        "_created_at": (existing or {}).get("_created_at"),
    }
    if url:
        doc["Url"] = url
    return doc


def _status_change(
    ledger: Ledger, existing: dict[str, Any], target: str, errors: list[str]
) -> dict[str, Any]:
    current = existing["Status"]
    if target not in TRANSITIONS.get(current, set()):
        if target == "VOIDED" and current == "DRAFT":
            errors.append("A draft manual journal cannot be voided; delete it instead (Status DELETED).")
        elif target == "DELETED" and current == "POSTED":
            errors.append("A posted manual journal cannot be deleted; void it instead (Status VOIDED).")
        else:
            errors.append(f"A manual journal with the status {current} cannot be changed to {target}.")
    lock = ledger.lock_date()
    if lock is not None and parse_date(existing["Date"]) <= lock:
        errors.append(f"The document date cannot be before the period lock date of {lock:%d/%m/%Y}")
    return {**existing, "Status": target, "UpdatedDateUTC": timestamp_now()}


def _echo(raw: dict[str, Any], built: dict[str, Any] | None = None) -> dict[str, Any]:
    """What Xero answers for a journal it refused to create: what was sent, with a zero id."""
    return {**(built or raw), "ManualJournalID": ZERO_ID}


def apply_journal(
    ledger: Ledger, raw: Any, *, method: str, client_id: str, path_id: str | None = None
) -> Outcome:
    """Create (PUT/POST) or update (POST with an id) one manual journal, saving it when valid."""
    if not isinstance(raw, dict):
        return Outcome({"ManualJournalID": ZERO_ID}, ["Each manual journal must be a JSON object"])
    journal_id = raw.get("ManualJournalID") or path_id
    existing = ledger.journal(journal_id) if journal_id else None
    if journal_id and existing is None:
        return Outcome(_echo(raw), [f"Manual journal {journal_id} could not be found"])
    if existing is not None and method == "PUT":
        return Outcome(dict(existing), [f"Manual journal {journal_id} already exists; update it with POST"])
    errors: list[str] = []
    if existing is None:
        doc = _build(ledger, raw, None, errors)
        if errors:
            return Outcome(_echo(raw, doc), errors)
        doc.update({"_created_by": client_id, "_created_at": timestamp_now()})
        ledger.save_journal(doc)
        return Outcome(doc, errors)
    current = existing["Status"]
    target = str(raw.get("Status") or current).upper()
    if target != current and target in ("VOIDED", "DELETED"):
        doc = _status_change(ledger, existing, target, errors)
    elif current != "DRAFT":
        errors.append(f"This manual journal cannot be edited as it has a status of {current}.")
        doc = dict(existing)
    else:
        merged = {**existing, **{k: v for k, v in raw.items() if v is not None}}
        doc = _build(ledger, merged, existing, errors)
    if errors:
        return Outcome(dict(existing), errors)
    ledger.save_journal(doc)
    return Outcome(doc, errors)


# --- what a person does in Xero's web app ------------------------------------------------------------------


def _existing(ledger: Ledger, journal_id: str) -> dict[str, Any]:
    doc = ledger.journal(journal_id)
    if doc is None:
        raise KeyError(f"no manual journal {journal_id}")
    return doc


def user_change(ledger: Ledger, journal_id: str, target: str) -> dict[str, Any]:
    """Post (DRAFT -> POSTED), void (POSTED -> VOIDED) or delete (DRAFT -> DELETED) a journal, as in Xero."""
    existing = _existing(ledger, journal_id)
    errors: list[str] = []
    if target == "POSTED":
        if existing["Status"] != "DRAFT":
            raise ValueError(f"only DRAFT manual journals can be posted, not {existing['Status']}")
        doc = {**existing, "Status": "POSTED", "UpdatedDateUTC": timestamp_now()}
    else:
        doc = _status_change(ledger, existing, target, errors)
    if errors:
        raise ValueError("; ".join(errors))
    ledger.save_journal(doc)
    return doc


def user_edit(
    ledger: Ledger,
    journal_id: str,
    *,
    line: int = 0,
    account_code: str | None = None,
    description: str | None = None,
    narration: str | None = None,
    move_amount: Decimal | str | float | None = None,
) -> dict[str, Any]:
    """Edit a DRAFT or POSTED journal as a person may in Xero's web app: a line's account or description,
    the narration, or ``move_amount`` moved from line ``line`` to the next one (it stays balanced)."""
    existing = _existing(ledger, journal_id)
    if existing["Status"] not in ("DRAFT", "POSTED"):
        raise ValueError(f"a {existing['Status']} manual journal cannot be edited")
    lines = [dict(x) for x in existing["JournalLines"]]
    if not 0 <= line < len(lines):
        raise ValueError(f"the journal has {len(lines)} line(s): no line {line}")
    if account_code is not None:
        lines[line]["AccountCode"] = account_code
        lines[line].pop("AccountID", None)
    if description is not None:
        lines[line]["Description"] = description
    if move_amount is not None:
        moved = Decimal(str(move_amount))
        other = (line + 1) % len(lines)
        lines[line]["LineAmount"] = money(Decimal(lines[line]["LineAmount"]) + moved)
        lines[other]["LineAmount"] = money(Decimal(lines[other]["LineAmount"]) - moved)
    raw = {**existing, "JournalLines": lines, "Narration": narration or existing["Narration"]}
    errors: list[str] = []
    doc = _build(ledger, raw, existing, errors)
    if errors:
        raise ValueError("; ".join(errors))
    ledger.save_journal(doc)
    return doc
