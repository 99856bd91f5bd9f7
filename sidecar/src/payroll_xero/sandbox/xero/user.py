"""What a person does to a bill in Xero's web app: approve, void, delete, edit it. The sandbox's admin
API calls these so that reading statuses back (and drift) can be shown and tested; each change bumps
``UpdatedDateUTC`` as Xero does."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from .documents import _build, _change_status
from .ledger import CREDIT_NOTE, INVOICE, DocKind, Ledger
from .values import money, timestamp_now

FINAL = ("PAID", "VOIDED", "DELETED")


def _kind(credit_note: bool) -> DocKind:
    return CREDIT_NOTE if credit_note else INVOICE


def _existing(ledger: Ledger, kind: DocKind, doc_id: str) -> dict[str, Any]:
    doc = ledger.document(kind, doc_id)
    if doc is None:
        raise KeyError(f"no {kind.label.lower()} {doc_id}")
    return doc


def approve(ledger: Ledger, doc_id: str, credit_note: bool = False) -> dict[str, Any]:
    """DRAFT or SUBMITTED -> AUTHORISED (Approve in Xero)."""
    kind = _kind(credit_note)
    doc = _existing(ledger, kind, doc_id)
    if doc["Status"] not in ("DRAFT", "SUBMITTED"):
        raise ValueError(f"only DRAFT or SUBMITTED documents can be approved, not {doc['Status']}")
    if Decimal(doc["Total"]) < 0:
        raise ValueError("a document with a negative total cannot be approved")
    doc = {**doc, "Status": "AUTHORISED", "UpdatedDateUTC": timestamp_now()}
    ledger.save_document(kind, doc)
    return doc


def change_status(ledger: Ledger, doc_id: str, target: str, credit_note: bool = False) -> dict[str, Any]:
    """Void (AUTHORISED, unpaid) or delete (DRAFT/SUBMITTED), with Xero's rules."""
    kind = _kind(credit_note)
    errors: list[str] = []
    doc = _change_status(ledger, kind, _existing(ledger, kind, doc_id), target, errors)
    if errors:
        raise ValueError("; ".join(errors))
    ledger.save_document(kind, doc)
    return doc


def edit(
    ledger: Ledger,
    doc_id: str,
    *,
    credit_note: bool = False,
    line: int = 0,
    unit_amount: Decimal | str | float | None = None,
    account_code: str | None = None,
    description: str | None = None,
    contact_name: str | None = None,
) -> dict[str, Any]:
    """Change one line (amount, account, description) or the contact of an unpaid document, as a person
    may in Xero's web app (even once approved); totals and the amount due follow."""
    kind = _kind(credit_note)
    existing = _existing(ledger, kind, doc_id)
    if existing["Status"] in FINAL:
        raise ValueError(f"a {existing['Status']} document cannot be edited")
    raw = copy.deepcopy(existing)
    items = raw["LineItems"]
    if not 0 <= line < len(items):
        raise ValueError(f"the document has {len(items)} line(s): no line {line}")
    item = items[line]
    if unit_amount is not None:
        amount = Decimal(str(unit_amount))
        item["UnitAmount"] = money(amount)
        item["LineAmount"] = money(amount * Decimal(str(item.get("Quantity") or 1)))
    if account_code is not None:
        item["AccountCode"] = account_code
    if description is not None:
        item["Description"] = description
    if contact_name is not None:
        raw["Contact"] = {"Name": contact_name}
    doc, errors, contact = _build(ledger, kind, raw, existing, 2)
    if errors:
        raise ValueError("; ".join(errors))
    if contact is not None:
        ledger.save_contact(contact)
    ledger.save_document(kind, doc)
    return doc
