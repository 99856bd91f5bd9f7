"""Xero's accounting rules as the sandbox reproduces them: dates, amounts, validation and JSON shapes.

Documents are stored with ISO dates (``"2025-01-31"``), ISO UTC timestamps and amounts as decimal strings;
:func:`present` turns them into what Xero sends (``/Date(ms+0000)/`` dates, numbers) and :func:`plain` into
Python values (``Decimal`` amounts, ISO dates) for the sandbox's Python API.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from . import seed
from .store import Store

ZERO_ID = "00000000-0000-0000-0000-000000000000"
PROVIDER_NAME = seed.DEMO_APP_NAME
MONEY_KEYS = frozenset(
    {
        "SubTotal",
        "TotalTax",
        "Total",
        "AmountDue",
        "AmountPaid",
        "AmountCredited",
        "RemainingCredit",
        "LineAmount",
        "UnitAmount",
        "Quantity",
        "TaxAmount",
        "CurrencyRate",
        "Amount",
        "AppliedAmount",
    }
)
DATE_KEYS = frozenset({"Date", "DueDate", "FullyPaidOnDate", "PeriodLockDate", "EndOfYearLockDate"})
TIMESTAMP_KEYS = frozenset({"UpdatedDateUTC", "CreatedDateUTC"})
LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")
TWO_PLACES = Decimal("0.01")
# Units of a foreign currency per unit of the (HKD) base currency, as Xero's CurrencyRate; fixed in the sandbox.
FIXED_RATES = {"USD": "0.128205", "EUR": "0.118", "GBP": "0.101", "CNY": "0.92", "SGD": "0.172"}

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{2,4})?\)/$")


class XeroValueError(ValueError):
    """A request value the sandbox cannot read (answered with a 400)."""


# --- time, dates and amounts -------------------------------------------------------------------------------


def utcnow() -> datetime:
    """Now, in UTC (through ``datetime.now`` so freezegun can move it)."""
    return datetime.now(timezone.utc)


def timestamp_now() -> str:
    """Now as the ISO UTC timestamp stored in documents (no time zone suffix, like Xero's)."""
    return utcnow().replace(tzinfo=None).isoformat(timespec="milliseconds")


def parse_date(value: Any) -> date:
    """A date from Xero's ``/Date(ms+0000)/`` form or an ISO date / datetime string."""
    if isinstance(value, date):
        return value.date() if isinstance(value, datetime) else value
    text = str(value).strip()
    match = _MS_DATE.match(text)
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, timezone.utc).date()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise XeroValueError(f"'{text}' is not a valid date") from None


def parse_timestamp(value: str) -> datetime:
    """An aware UTC datetime from an ISO string, an HTTP date or ``/Date(ms)/``."""
    from email.utils import parsedate_to_datetime

    text = value.strip()
    match = _MS_DATE.match(text)
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, timezone.utc)
    try:
        result = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            result = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            raise XeroValueError(f"'{text}' is not a valid date and time") from None
    if result.tzinfo is None:
        result = result.replace(tzinfo=timezone.utc)
    return result.astimezone(timezone.utc)


def ms_date(value: str | date | None) -> str | None:
    """Xero's JSON date, e.g. ``/Date(1738281600000+0000)/``, from an ISO date or timestamp."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = parse_timestamp(value)
    elif not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    millis = int(value.replace(tzinfo=value.tzinfo or timezone.utc).timestamp() * 1000)
    return f"/Date({millis}+0000)/"


def dec(value: Any, what: str) -> Decimal:
    """A Decimal from a JSON number or string."""
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise XeroValueError(f"{what} '{value}' is not a number") from None
    if not result.is_finite():
        raise XeroValueError(f"{what} '{value}' is not a number")
    return result


def money(value: Decimal, places: Decimal = TWO_PLACES) -> str:
    """An amount rounded half up, as stored."""
    return str(value.quantize(places, rounding=ROUND_HALF_UP))


def _convert(value: Any, key: str | None, ms: bool) -> Any:
    if isinstance(value, dict):
        # Xero leaves out what has no value (the SDK cannot read a null date)
        return {k: _convert(v, k, ms) for k, v in value.items() if not k.startswith("_") and v is not None}
    if isinstance(value, list):
        return [_convert(v, None, ms) for v in value]
    if key in MONEY_KEYS and isinstance(value, (str, int, float)):
        return Decimal(str(value))
    if ms and key in DATE_KEYS | TIMESTAMP_KEYS and isinstance(value, str) and value:
        return ms_date(value)
    return value


def present(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored document as Xero sends it (``/Date()/`` dates, DateString fields, numbers)."""
    result = _convert(doc, None, True)
    for key in ("Date", "DueDate"):
        if doc.get(key):
            result[f"{key}String"] = f"{doc[key]}T00:00:00"
    return result


def plain(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored document for Python callers: ISO dates, ``Decimal`` amounts, no sandbox metadata."""
    return _convert(doc, None, False)


def envelope(key: str, items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """The wrapper Xero puts around accounting answers."""
    body = {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": PROVIDER_NAME,
        "DateTimeUTC": ms_date(utcnow()),
        key: items,
    }
    body.update(extra)
    return body


def validation_exception(
    elements: list[dict[str, Any]], message: str = "A validation exception occurred"
) -> dict[str, Any]:
    """Xero's 400 body for documents that failed validation."""
    return {"ErrorNumber": 10, "Type": "ValidationException", "Message": message, "Elements": elements}


# --- where filters -----------------------------------------------------------------------------------------

_ATOM = re.compile(
    r"^(?P<neg>!)?(?P<field>[A-Za-z_][\w.]*)\s*(?:"
    r"(?P<op>==|!=|>=|<=|>|<)\s*(?P<value>.+)"
    r"|\.(?P<method>Contains|StartsWith|EndsWith)\(\s*\"(?P<arg>[^\"]*)\"\s*\)"
    r")$",
    re.IGNORECASE,
)
_OR = re.compile(r"\s+OR\s+|\s*\|\|\s*", re.IGNORECASE)
_AND = re.compile(r"\s+AND\s+|\s*&&\s*", re.IGNORECASE)
_GUID = re.compile(r'^Guid\(\s*"?([0-9a-fA-F-]{36})"?\s*\)$', re.IGNORECASE)
_DATETIME = re.compile(
    r"^DateTime\(\s*(\d{4})\s*,\s*(\d{1,2})\s*,\s*(\d{1,2})(?:\s*,[\d\s,]*)?\)$", re.IGNORECASE
)


def field_value(doc: dict[str, Any], path: str) -> Any:
    """A (dotted, case-insensitive) field of a document."""
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        lowered = {k.lower(): v for k, v in value.items()}
        value = lowered.get(part.lower())
    return value


def _literal(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    if match := _GUID.match(text):
        return match.group(1).lower()
    if match := _DATETIME.match(text):
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if text.lower() == "null":
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise XeroValueError(f"Cannot read the value {text} in the where filter") from None


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if isinstance(expected, date):
        if not actual:
            return False
        actual = parse_date(actual)
    elif isinstance(expected, Decimal):
        try:
            actual = Decimal(str(actual))
        except InvalidOperation:
            return False
    elif isinstance(expected, str) and isinstance(actual, str) and _GUID.match(f'Guid("{expected}")'):
        actual = actual.lower()
    if op == "==":
        return actual == expected
    if op == "!=":
        return actual != expected
    if actual is None or expected is None:
        return False
    try:
        return {
            ">": actual > expected,
            "<": actual < expected,
            ">=": actual >= expected,
            "<=": actual <= expected,
        }[op]
    except TypeError:
        return False


def _atom(text: str) -> Callable[[dict[str, Any]], bool]:
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    match = _ATOM.match(text)
    if not match:
        raise XeroValueError(f"The where filter '{text}' is not supported by the sandbox")
    field, neg = match.group("field"), bool(match.group("neg"))
    if match.group("method"):
        method, arg = match.group("method").lower(), match.group("arg")

        def test(doc: dict[str, Any]) -> bool:
            value = str(field_value(doc, field) or "")
            hit = {
                "contains": arg in value,
                "startswith": value.startswith(arg),
                "endswith": value.endswith(arg),
            }[method]
            return hit != neg

        return test
    op, expected = match.group("op"), _literal(match.group("value"))
    return lambda doc: _compare(field_value(doc, field), op, expected) != neg


def compile_where(expr: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate for Xero's ``where`` filter (``==``, ``!=``, ``<``..., ``.Contains()``, AND/OR)."""
    alternatives = [[_atom(a) for a in _AND.split(part)] for part in _OR.split(expr.strip())]
    return lambda doc: any(all(test(doc) for test in group) for group in alternatives)


def sort_documents(docs: list[dict[str, Any]], order: str | None) -> list[dict[str, Any]]:
    """Sort by Xero's ``order`` parameter (``Field [ASC|DESC]``, comma-separated)."""
    if not order:
        return docs
    for part in reversed([p.strip() for p in order.split(",") if p.strip()]):
        bits = part.split()
        reverse = len(bits) > 1 and bits[1].upper() == "DESC"
        docs = sorted(docs, key=lambda d, f=bits[0]: str(field_value(d, f) or ""), reverse=reverse)
    return docs


# --- an organisation's data --------------------------------------------------------------------------------


class Ledger:
    """One organisation's data in the store."""

    def __init__(self, store: Store, tenant_id: str) -> None:
        self.store = store
        self.tenant_id = tenant_id

    @property
    def organisation(self) -> dict[str, Any]:
        org = self.store.get("organisation", self.tenant_id, self.tenant_id)
        if org is None:
            raise KeyError(f"unknown tenant {self.tenant_id}")
        return org

    def lock_date(self) -> date | None:
        org = self.organisation
        dates = [parse_date(d) for d in (org.get("PeriodLockDate"), org.get("EndOfYearLockDate")) if d]
        return max(dates) if dates else None

    def currencies(self) -> list[dict[str, Any]]:
        return self.store.all("currency", self.tenant_id)

    def accounts(self) -> list[dict[str, Any]]:
        return self.store.all("account", self.tenant_id)

    def account(self, code: str | None = None, account_id: str | None = None) -> dict[str, Any] | None:
        for acc in self.accounts():
            if (code is not None and acc["Code"] == code) or (account_id and acc["AccountID"] == account_id):
                return acc
        return None

    def tracking_categories(self) -> list[dict[str, Any]]:
        return self.store.all("tracking", self.tenant_id)

    def contacts(self) -> list[dict[str, Any]]:
        return self.store.all("contact", self.tenant_id)

    def contact(self, contact_id: str) -> dict[str, Any] | None:
        return self.store.get("contact", self.tenant_id, str(contact_id).lower())

    def contact_by(self, key: str, value: str) -> dict[str, Any] | None:
        for contact in self.contacts():
            if (
                contact.get("ContactStatus") != "ARCHIVED"
                and contact.get(key)
                and (contact[key].lower() == value.lower() if key == "Name" else contact[key] == value)
            ):
                return contact
        return None

    def save_contact(self, contact: dict[str, Any]) -> None:
        self.store.put("contact", self.tenant_id, contact["ContactID"], contact)

    def documents(self, kind: DocKind) -> list[dict[str, Any]]:
        return self.store.all(kind.store_kind, self.tenant_id)

    def document(self, kind: DocKind, doc_id: str) -> dict[str, Any] | None:
        return self.store.get(kind.store_kind, self.tenant_id, str(doc_id).lower())

    def save_document(self, kind: DocKind, doc: dict[str, Any]) -> None:
        self.store.put(kind.store_kind, self.tenant_id, doc[kind.id_field], doc)


# --- invoices and credit notes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DocKind:
    """Invoices and credit notes share their rules; this names what differs."""

    label: str
    collection: str
    store_kind: str
    id_field: str
    number_field: str
    types: tuple[str, ...]
    due_field: str
    number_prefix: str


INVOICE = DocKind(
    "Invoice", "Invoices", "invoice", "InvoiceID", "InvoiceNumber", ("ACCPAY", "ACCREC"), "AmountDue", "INV-"
)
CREDIT_NOTE = DocKind(
    "Credit Note",
    "CreditNotes",
    "creditnote",
    "CreditNoteID",
    "CreditNoteNumber",
    ("ACCPAYCREDIT", "ACCRECCREDIT"),
    "RemainingCredit",
    "CN-",
)
APPROVED = ("SUBMITTED", "AUTHORISED")
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


@dataclass
class Outcome:
    """One document of a batch: what to answer with, and its validation errors."""

    doc: dict[str, Any]
    errors: list[str]


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


def _build_lines(
    ledger: Ledger, raw_lines: Any, status: str, line_amount_types: str, unitdp: int, errors: list[str]
) -> list[dict[str, Any]]:
    if raw_lines is None:
        return []
    if not isinstance(raw_lines, list):
        errors.append("LineItems must be a list")
        return []
    categories = ledger.tracking_categories()
    unit_places = Decimal(1).scaleb(-unitdp)
    lines = []
    for raw in raw_lines:
        if not isinstance(raw, dict):
            errors.append("Each line item must be an object")
            continue
        description = str(raw.get("Description") or "").strip()
        if not description:
            errors.append("The description field is mandatory for each line item.")
        try:
            quantity = dec(raw.get("Quantity", 1) if raw.get("Quantity") is not None else 1, "Quantity")
            unit = dec(raw["UnitAmount"], "UnitAmount") if raw.get("UnitAmount") is not None else None
            amount = dec(raw["LineAmount"], "LineAmount") if raw.get("LineAmount") is not None else None
        except XeroValueError as exc:
            errors.append(str(exc))
            continue
        if amount is None:
            amount = (quantity * (unit or Decimal(0))).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
        elif unit is None:
            unit = amount / quantity if quantity else Decimal(0)
        account = None
        code = raw.get("AccountCode")
        if code not in (None, "") or raw.get("AccountID"):
            account = ledger.account(
                code=str(code) if code not in (None, "") else None, account_id=raw.get("AccountID")
            )
            shown = code if code not in (None, "") else raw.get("AccountID")
            if account is None:
                errors.append(f"Account code '{shown}' is not a valid code for this document.")
            elif account["Status"] != "ACTIVE":
                errors.append(
                    f"The account code '{account['Code']}' has been archived, or has been deleted. "
                    "Each line item must reference a valid account."
                )
            elif account.get("SystemAccount") or account["Type"] == "BANK":
                errors.append(
                    f"Account code '{account['Code']}' is a system or bank account and cannot be "
                    "used on this document."
                )
        elif status in APPROVED:
            errors.append("Each line item must have an account code before the document can be approved.")
        tax_type = str(raw.get("TaxType") or (account or {}).get("TaxType") or "NONE")
        if tax_type not in seed.TAX_RATES:
            errors.append(
                f"The TaxType code '{tax_type}' does not exist or cannot be used for this type "
                "of transaction."
            )
            rate = Decimal(0)
        else:
            rate = Decimal(seed.TAX_RATES[tax_type]) / 100
        if line_amount_types == "NoTax":
            tax = Decimal(0)
        elif line_amount_types == "Inclusive":
            tax = amount * rate / (1 + rate)
        else:
            tax = amount * rate
        tracking = _build_tracking(categories, raw.get("Tracking"), errors)
        line = {
            "LineItemID": str(raw.get("LineItemID") or uuid.uuid4()),
            "Description": description,
            "Quantity": money(quantity, Decimal("0.0001")),
            "UnitAmount": money(unit or Decimal(0), unit_places),
            "TaxType": tax_type,
            "TaxAmount": money(tax),
            "LineAmount": money(amount),
            "Tracking": tracking,
        }
        if account is not None:
            line["AccountCode"] = account["Code"]
            line["AccountID"] = account["AccountID"]
        elif code not in (None, ""):
            line["AccountCode"] = str(code)
        lines.append(line)
    return lines


def _build_tracking(categories: list[dict[str, Any]], raw: Any, errors: list[str]) -> list[dict[str, Any]]:
    if not raw:
        return []
    if not isinstance(raw, list):
        errors.append("Tracking must be a list")
        return []
    if len(raw) > 2:
        errors.append("A line item can only be tracked against two tracking categories.")
    result = []
    for item in raw:
        item = item if isinstance(item, dict) else {}
        category = next(
            (
                c
                for c in categories
                if c["TrackingCategoryID"] == item.get("TrackingCategoryID")
                or (item.get("Name") and c["Name"].lower() == str(item["Name"]).lower())
            ),
            None,
        )
        if category is None or category["Status"] != "ACTIVE":
            errors.append(
                f"The tracking category '{item.get('Name') or item.get('TrackingCategoryID')}' "
                "does not exist or is archived."
            )
            continue
        option = next(
            (
                o
                for o in category["Options"]
                if o["TrackingOptionID"] == item.get("TrackingOptionID")
                or (item.get("Option") and o["Name"].lower() == str(item["Option"]).lower())
            ),
            None,
        )
        if option is None or option["Status"] != "ACTIVE":
            errors.append(
                f"'{item.get('Option') or item.get('TrackingOptionID')}' is not a valid option for "
                f"the tracking category '{category['Name']}'."
            )
            continue
        result.append(
            {
                "TrackingCategoryID": category["TrackingCategoryID"],
                "Name": category["Name"],
                "TrackingOptionID": option["TrackingOptionID"],
                "Option": option["Name"],
            }
        )
    return result


def _totals(lines: list[dict[str, Any]], line_amount_types: str) -> tuple[Decimal, Decimal, Decimal]:
    amounts = sum((Decimal(line["LineAmount"]) for line in lines), Decimal(0))
    tax = sum((Decimal(line["TaxAmount"]) for line in lines), Decimal(0)).quantize(TWO_PLACES)
    if line_amount_types == "Inclusive":
        return amounts - tax, tax, amounts
    return amounts, tax, amounts + tax


def _check_lock(ledger: Ledger, day: date, errors: list[str]) -> None:
    lock = ledger.lock_date()
    if lock is not None and day <= lock:
        errors.append(f"The document date cannot be before the period lock date of {lock:%d/%m/%Y}")


def _build(
    ledger: Ledger, kind: DocKind, raw: dict[str, Any], existing: dict[str, Any] | None, unitdp: int
) -> tuple[dict[str, Any], list[str], dict[str, Any] | None]:
    """Validate a (merged) document; returns the stored form, errors, and a contact to create."""
    errors: list[str] = []
    org = ledger.organisation
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
    currency = str(raw.get("CurrencyCode") or org["BaseCurrency"]).upper()
    if currency not in {c["Code"] for c in ledger.currencies()}:
        errors.append(f"Organisation is not subscribed to currency {currency}")
    line_amount_types = raw.get("LineAmountTypes") or "Exclusive"
    if line_amount_types not in LINE_AMOUNT_TYPES:
        errors.append(f"LineAmountTypes '{line_amount_types}' is not one of {', '.join(LINE_AMOUNT_TYPES)}")
        line_amount_types = "Exclusive"
    lines = _build_lines(ledger, raw.get("LineItems"), status, line_amount_types, unitdp, errors)
    sub_total, total_tax, total = _totals(lines, line_amount_types)
    if total < 0 and status in APPROVED:
        errors.append(
            f"The total of a {status} document cannot be negative ({money(total)}); "
            "use a credit note instead."
        )
    _check_lock(ledger, day, errors)
    url = raw.get("Url")
    if url and not re.match(r"^https?://\S+$", str(url)):
        errors.append(f"The Url '{url}' is not a valid URL.")

    doc_id = existing[kind.id_field] if existing else str(uuid.uuid4())
    paid = Decimal(existing.get("AmountPaid", "0")) if existing else Decimal(0)
    credited = Decimal(existing.get("AmountCredited", "0")) if existing else Decimal(0)
    number = raw.get(kind.number_field)
    if not number and doc_type in ("ACCREC", "ACCRECCREDIT") and existing is None:
        number = f"{kind.number_prefix}{len(ledger.documents(kind)) + 1:04d}"
    base = org["BaseCurrency"]
    doc: dict[str, Any] = {
        "Type": doc_type,
        kind.id_field: doc_id,
        kind.number_field: number or "",
        "Reference": raw.get("Reference") or "",
        "Contact": _xero_contact(contact) if contact else raw.get("Contact"),
        "Date": day.isoformat(),
        "DueDate": due.isoformat() if due else None,
        "Status": status,
        "LineAmountTypes": line_amount_types,
        "LineItems": lines,
        "SubTotal": money(sub_total),
        "TotalTax": money(total_tax),
        "Total": money(total),
        "CurrencyCode": currency,
        "CurrencyRate": money(
            dec(
                raw.get("CurrencyRate") or (1 if currency == base else FIXED_RATES.get(currency, 1)),
                "CurrencyRate",
            ),
            Decimal("0.000001"),
        ),
        "UpdatedDateUTC": timestamp_now(),
        "HasAttachments": False,
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
    return doc, errors, (contact if create_contact else None)


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


# --- contacts ----------------------------------------------------------------------------------------------

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


# --- batches -----------------------------------------------------------------------------------------------


def batch_items(body: Any, collection: str) -> list[Any]:
    """The documents of a request body: ``{"Invoices": [...]}``, a list, or one document."""
    if isinstance(body, dict) and collection in body:
        items = body[collection]
        return items if isinstance(items, list) else [items]
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        return [body]
    raise XeroValueError(f"The request body must hold {collection}")


def batch_answer(collection: str, outcomes: list[Outcome], summarize: bool) -> tuple[int, dict[str, Any]]:
    """Xero's answer to a batch: 200 with per-document status, or 400 ValidationException."""
    failed = [o for o in outcomes if o.errors]
    if summarize and failed:
        elements = [
            {**present(o.doc), "HasErrors": True, "ValidationErrors": [{"Message": m} for m in o.errors]}
            for o in failed
        ]
        return 400, validation_exception(elements)
    items = []
    for outcome in outcomes:
        item = present(outcome.doc)
        if outcome.errors:
            item.update(
                {
                    "StatusAttributeString": "ERROR",
                    "HasErrors": True,
                    "ValidationErrors": [{"Message": m} for m in outcome.errors],
                }
            )
        else:
            item["StatusAttributeString"] = "OK"
        items.append(item)
    return 200, envelope(collection, items)
