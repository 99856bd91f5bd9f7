"""Invoices and credit notes: create, update, change status and pay, with Xero's rules."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from .batches import Outcome
from .contacts import new_contact
from .ledger import APPROVED, INVOICE, DocKind, Ledger
from .lines import build_lines, totals
from .values import (
    FIXED_RATES,
    LINE_AMOUNT_TYPES,
    ZERO_ID,
    XeroValueError,
    dec,
    money,
    parse_date,
    timestamp_now,
    utcnow,
)

_NEW_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED")
_TRANSITIONS = {
    "DRAFT": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
    "SUBMITTED": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
    "AUTHORISED": {"AUTHORISED", "VOIDED"},
    "PAID": {"PAID"},
    "VOIDED": set(),
    "DELETED": set(),
}
_COPIED_FIELDS = (
    "Reference",
    "Url",
    "BrandingThemeID",
    "SentToContact",
    "ExpectedPaymentDate",
    "PlannedPaymentDate",
)


def _xero_contact(contact: dict[str, Any]) -> dict[str, Any]:
    """The contact as Xero embeds it in a document."""
    summary = {
        "ContactID": contact["ContactID"],
        "Name": contact["Name"],
        "ContactStatus": contact.get("ContactStatus", "ACTIVE"),
        "HasValidationErrors": False,
    }
    if contact.get("ContactNumber"):
        summary["ContactNumber"] = contact["ContactNumber"]
    return summary


def _resolve_contact(ledger: Ledger, raw: Any, errors: list[str]) -> tuple[dict[str, Any] | None, bool]:
    """The document's contact, and whether it must be created (a Name Xero does not know yet)."""
    if not isinstance(raw, dict) or not any(raw.get(k) for k in ("ContactID", "Name", "ContactNumber")):
        errors.append("A Contact must be specified for this type of transaction")
        return None, False
    if raw.get("ContactID"):
        contact = ledger.contact(raw["ContactID"])
        if contact is None:
            errors.append(f"The contact with ContactID '{raw['ContactID']}' could not be found")
        elif contact.get("ContactStatus") == "ARCHIVED":
            errors.append(f"The contact '{contact['Name']}' has been archived and cannot be used")
        return contact, False
    if raw.get("ContactNumber"):
        contact = ledger.contact_by("ContactNumber", str(raw["ContactNumber"]))
        if contact is not None:
            return contact, False
        if not raw.get("Name"):
            errors.append(f"The contact with ContactNumber '{raw['ContactNumber']}' could not be found")
            return None, False
    contact = ledger.contact_by("Name", str(raw["Name"]))
    if contact is not None:
        return contact, False
    return new_contact({"Name": str(raw["Name"]), "ContactNumber": raw.get("ContactNumber")}), True


def _check_lock(ledger: Ledger, day: date, errors: list[str]) -> None:
    lock = ledger.lock_date()
    if lock is not None and day <= lock:
        errors.append(f"The document date cannot be before the period lock date of {lock:%d/%m/%Y}")


@dataclass
class _Header:
    """What a document says besides its lines, checked (errors are collected, never raised)."""

    doc_type: Any
    status: str
    contact: dict[str, Any] | None
    create_contact: bool
    day: date
    due: date | None
    currency: str
    line_amount_types: str


def _build(
    ledger: Ledger, kind: DocKind, raw: dict[str, Any], existing: dict[str, Any] | None, unitdp: int
) -> tuple[dict[str, Any], list[str], dict[str, Any] | None]:
    """Validate a (merged) document; returns the stored form, errors, and a contact to create."""
    errors: list[str] = []
    head = _header(ledger, kind, raw, existing, errors)
    lines = build_lines(ledger, raw.get("LineItems"), head.status, head.line_amount_types, unitdp, errors)
    amounts = totals(lines, head.line_amount_types)
    total = amounts[2]
    if total < 0 and head.status in APPROVED:
        errors.append(
            f"The total of a {head.status} document cannot be negative ({money(total)}); "
            "use a credit note instead."
        )
    _check_lock(ledger, head.day, errors)
    url = raw.get("Url")
    if url and not re.match(r"^https?://\S+$", str(url)):
        errors.append(f"The Url '{url}' is not a valid URL.")
    doc = _stored(ledger, kind, raw, existing, head, lines, amounts)
    return doc, errors, (head.contact if head.create_contact else None)


def _header(
    ledger: Ledger, kind: DocKind, raw: dict[str, Any], existing: dict[str, Any] | None, errors: list[str]
) -> _Header:
    doc_type = raw.get("Type")
    if doc_type not in kind.types:
        errors.append(
            f"The Type must be one of {', '.join(kind.types)}" if doc_type else "The Type field is mandatory"
        )
    status = str(raw.get("Status") or "DRAFT").upper()
    if existing is None and status not in _NEW_STATUSES:
        errors.append(f"A new document cannot be created with the status {status}")
    contact, create_contact = _resolve_contact(ledger, raw.get("Contact"), errors)
    try:
        day = parse_date(raw["Date"]) if raw.get("Date") else utcnow().date()
    except XeroValueError as exc:
        errors.append(str(exc))
        day = utcnow().date()
    due = None
    if raw.get("DueDate"):
        try:
            due = parse_date(raw["DueDate"])
        except XeroValueError as exc:
            errors.append(str(exc))
    if due is None and status in APPROVED and kind is INVOICE:
        errors.append("Due Date is required for a document with the status " + status)
    currency = str(raw.get("CurrencyCode") or ledger.organisation["BaseCurrency"]).upper()
    if currency not in {c["Code"] for c in ledger.currencies()}:
        errors.append(f"Organisation is not subscribed to currency {currency}")
    line_amount_types = raw.get("LineAmountTypes") or "Exclusive"
    if line_amount_types not in LINE_AMOUNT_TYPES:
        errors.append(f"LineAmountTypes '{line_amount_types}' is not one of {', '.join(LINE_AMOUNT_TYPES)}")
        line_amount_types = "Exclusive"
    return _Header(doc_type, status, contact, create_contact, day, due, currency, line_amount_types)


def _stored(
    ledger: Ledger,
    kind: DocKind,
    raw: dict[str, Any],
    existing: dict[str, Any] | None,
    head: _Header,
    lines: list[dict[str, Any]],
    amounts: tuple[Decimal, Decimal, Decimal],
) -> dict[str, Any]:
    """The document as the store keeps it."""
    sub_total, total_tax, total = amounts
    doc_id = existing[kind.id_field] if existing else str(uuid.uuid4())
    paid = Decimal(existing.get("AmountPaid", "0")) if existing else Decimal(0)
    credited = Decimal(existing.get("AmountCredited", "0")) if existing else Decimal(0)
    number = raw.get(kind.number_field)
    if not number and head.doc_type in ("ACCREC", "ACCRECCREDIT") and existing is None:
        number = f"{kind.number_prefix}{len(ledger.documents(kind)) + 1:04d}"
    currency = head.currency
    rate = raw.get("CurrencyRate") or (
        1 if currency == ledger.organisation["BaseCurrency"] else FIXED_RATES.get(currency, 1)
    )
    doc: dict[str, Any] = {
        "Type": head.doc_type,
        kind.id_field: doc_id,
        kind.number_field: number or "",
        "Reference": raw.get("Reference") or "",
        "Contact": _xero_contact(head.contact) if head.contact else raw.get("Contact"),
        "Date": head.day.isoformat(),
        "DueDate": head.due.isoformat() if head.due else None,
        "Status": head.status,
        "LineAmountTypes": head.line_amount_types,
        "LineItems": lines,
        "SubTotal": money(sub_total),
        "TotalTax": money(total_tax),
        "Total": money(total),
        "CurrencyCode": currency,
        "CurrencyRate": money(dec(rate, "CurrencyRate"), Decimal("0.000001")),
        "UpdatedDateUTC": timestamp_now(),
        "HasAttachments": bool(existing and existing.get("HasAttachments")),
        "HasErrors": False,
        "_created_by": existing.get("_created_by") if existing else None,
    }
    for key in _COPIED_FIELDS:
        if raw.get(key) not in (None, ""):
            doc[key] = raw[key]
    if kind is INVOICE:
        doc.update(
            {
                "AmountPaid": money(paid),
                "AmountCredited": money(credited),
                "AmountDue": money(total - paid - credited),
                "Payments": (existing or {}).get("Payments", []),
                "CreditNotes": [],
                "Prepayments": [],
                "Overpayments": [],
                "IsDiscounted": False,
            }
        )
    else:
        doc.update({"RemainingCredit": money(total - credited), "Allocations": [], "Payments": []})
    if doc.get("DueDate") is None:
        del doc["DueDate"]
    return doc


def _echo(
    kind: DocKind, raw: dict[str, Any], built: dict[str, Any] | None = None, *, new: bool = True
) -> dict[str, Any]:
    """What Xero answers for a document it refused: what was sent (and computed); new ones get a zero id."""
    doc = dict(built) if built else dict(raw)
    if new:
        doc[kind.id_field] = ZERO_ID
    return doc


def _change_status(
    ledger: Ledger, kind: DocKind, existing: dict[str, Any], target: str, errors: list[str]
) -> dict[str, Any]:
    """Delete or void a document."""
    current = existing["Status"]
    if target not in _TRANSITIONS.get(current, set()):
        if target == "VOIDED" and current in ("DRAFT", "SUBMITTED"):
            errors.append(f"A {current} document cannot be voided; delete it instead (Status DELETED).")
        elif target == "DELETED" and current == "AUTHORISED":
            errors.append("An AUTHORISED document cannot be deleted; void it instead (Status VOIDED).")
        else:
            errors.append(f"A document with the status {current} cannot be changed to {target}.")
    if target == "VOIDED" and Decimal(existing.get("AmountPaid", "0")) != 0:
        errors.append(
            "This document cannot be voided because it has payments. Remove the payments or "
            "raise a credit note."
        )
    _check_lock(ledger, parse_date(existing["Date"]), errors)
    doc = dict(existing)
    doc["Status"] = target
    doc["UpdatedDateUTC"] = timestamp_now()
    return doc


def apply_document(
    ledger: Ledger,
    kind: DocKind,
    raw: Any,
    *,
    method: str,
    client_id: str,
    path_id: str | None = None,
    unitdp: int = 2,
) -> Outcome:
    """Create (PUT/POST) or update (POST with an id) one invoice or credit note, saving it when valid."""
    if not isinstance(raw, dict):
        return Outcome({kind.id_field: ZERO_ID}, [f"Each {kind.label} must be a JSON object"])
    doc_id = raw.get(kind.id_field) or path_id
    existing = None
    if doc_id:
        existing = ledger.document(kind, doc_id)
        if existing is None:
            return Outcome(_echo(kind, raw), [f"{kind.label} {doc_id} could not be found"])
        if method == "PUT":
            return Outcome(
                _echo(kind, raw, new=False), [f"{kind.label} {doc_id} already exists; update it with POST"]
            )
    errors: list[str] = []
    target = str(raw.get("Status") or (existing or {}).get("Status") or "DRAFT").upper()
    if existing is not None and target in ("DELETED", "VOIDED") and target != existing["Status"]:
        doc = _change_status(ledger, kind, existing, target, errors)
        if not errors:
            ledger.save_document(kind, doc)
        return Outcome(doc, errors)
    if existing is not None:
        current = existing["Status"]
        if target not in _TRANSITIONS.get(current, set()):
            errors.append(f"This document cannot be edited as it has a status of {current}.")
        elif raw.get("LineItems") is not None and current != "DRAFT":
            errors.append(f"The line items of a document with the status {current} cannot be changed.")
        if errors:
            return Outcome(dict(existing), errors)
        merged = {**existing, **{k: v for k, v in raw.items() if v is not None}}
        if raw.get("Contact") is None:
            merged["Contact"] = {"ContactID": existing["Contact"]["ContactID"]}
    else:
        merged = raw
    doc, errors, contact_to_create = _build(ledger, kind, merged, existing, unitdp)
    if errors:
        if existing is None:
            return Outcome(_echo(kind, raw, doc), errors)
        return Outcome(dict(existing), errors)
    if existing is None:
        doc["_created_by"] = client_id
        doc["_created_at"] = timestamp_now()
    if contact_to_create is not None:
        ledger.save_contact(contact_to_create)
    if doc["Type"] in ("ACCPAY", "ACCPAYCREDIT"):
        contact = ledger.contact(doc["Contact"]["ContactID"])
        if contact and not contact.get("IsSupplier"):
            contact["IsSupplier"] = True
            ledger.save_contact(contact)
    ledger.save_document(kind, doc)
    return Outcome(doc, errors)


def pay(ledger: Ledger, invoice_id: str, amount: Decimal) -> dict[str, Any]:
    """Record a payment against an AUTHORISED invoice (PAID once nothing is due)."""
    doc = ledger.document(INVOICE, invoice_id)
    if doc is None:
        raise KeyError(f"no invoice {invoice_id}")
    if doc["Status"] != "AUTHORISED":
        raise ValueError(f"only AUTHORISED invoices can be paid, not {doc['Status']}")
    due = Decimal(doc["AmountDue"])
    if amount <= 0 or amount > due:
        raise ValueError(f"payment {amount} must be above 0 and at most the amount due {due}")
    today = utcnow().date().isoformat()
    doc["Payments"] = [
        *doc.get("Payments", []),
        {"PaymentID": str(uuid.uuid4()), "Date": today, "Amount": money(amount)},
    ]
    doc["AmountPaid"] = money(Decimal(doc["AmountPaid"]) + amount)
    doc["AmountDue"] = money(due - amount)
    if due - amount == 0:
        doc["Status"] = "PAID"
        doc["FullyPaidOnDate"] = today
    doc["UpdatedDateUTC"] = timestamp_now()
    ledger.save_document(INVOICE, doc)
    return doc
