"""Contacts: create and update, matched by name, number or id as Xero does."""

from __future__ import annotations

import uuid
from typing import Any

from .batches import Outcome
from .ledger import Ledger
from .values import ZERO_ID, timestamp_now

_CONTACT_FIELDS = (
    "Name",
    "ContactNumber",
    "AccountNumber",
    "FirstName",
    "LastName",
    "EmailAddress",
    "TaxNumber",
    "DefaultCurrency",
    "Addresses",
    "Phones",
    "BankAccountDetails",
    "IsSupplier",
    "IsCustomer",
    "ContactStatus",
)


def new_contact(fields: dict[str, Any]) -> dict[str, Any]:
    """A stored Contact with Xero's defaults."""
    contact = {
        "ContactID": str(uuid.uuid4()),
        "ContactStatus": "ACTIVE",
        "Name": "",
        "FirstName": "",
        "LastName": "",
        "EmailAddress": "",
        "IsSupplier": False,
        "IsCustomer": False,
        "Addresses": [],
        "Phones": [],
        "HasAttachments": False,
        "HasValidationErrors": False,
        "UpdatedDateUTC": timestamp_now(),
    }
    contact.update({k: v for k, v in fields.items() if v is not None})
    return contact


def apply_contact(ledger: Ledger, raw: Any, *, method: str, path_id: str | None = None) -> Outcome:
    """Create (PUT) or create-or-update (POST) one contact."""
    if not isinstance(raw, dict):
        return Outcome({"ContactID": ZERO_ID}, ["Each Contact must be a JSON object"])
    errors: list[str] = []
    contact_id = raw.get("ContactID") or path_id
    existing = None
    if contact_id:
        existing = ledger.contact(contact_id)
        if existing is None:
            return Outcome({**raw, "ContactID": ZERO_ID}, [f"Contact {contact_id} could not be found"])
    elif method == "POST":
        if raw.get("ContactNumber"):
            existing = ledger.contact_by("ContactNumber", str(raw["ContactNumber"]))
        if existing is None and raw.get("Name"):
            existing = ledger.contact_by("Name", str(raw["Name"]))
    name = str(raw.get("Name") if raw.get("Name") is not None else (existing or {}).get("Name", "")).strip()
    if not name:
        errors.append("The contact name must be provided.")
    elif len(name) > 255:
        errors.append("The contact name must be at most 255 characters long.")
    if len(str(raw.get("ContactNumber") or "")) > 50:
        errors.append("The ContactNumber must be at most 50 characters long.")
    other = ledger.contact_by("Name", name) if name else None
    if other is not None and (existing is None or other["ContactID"] != existing["ContactID"]):
        errors.append(
            f"The contact name {name} is already assigned to another contact. The contact name "
            "must be unique across all active contacts."
        )
    if errors:
        return Outcome({**raw, "ContactID": ZERO_ID}, errors)
    fields = {k: raw[k] for k in _CONTACT_FIELDS if k in raw and raw[k] is not None}
    fields["Name"] = name
    if existing is None:
        contact = new_contact(fields)
    else:
        contact = {**existing, **fields, "UpdatedDateUTC": timestamp_now()}
    ledger.save_contact(contact)
    return Outcome(contact, [])
