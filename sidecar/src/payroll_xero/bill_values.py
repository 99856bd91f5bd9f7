"""What :func:`~payroll_xero.bills.build_bills` makes: bills, their lines, problems, and Xero's field limits.

Plain frozen dataclasses and constants; :mod:`payroll_xero.bills` re-exports every name.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

ACCPAY = "ACCPAY"
ACCPAYCREDIT = "ACCPAYCREDIT"
LINE_AMOUNT_TYPES = "NoTax"

# Xero's field limits, in characters; the SDK refuses longer values (ValueError) and so does Xero.
MAX_INVOICE_NUMBER = 255  # InvoiceNumber / CreditNoteNumber: the bill's number, shown as its Reference
MAX_CONTACT_NUMBER = 50  # Contact.ContactNumber (the employee key of per-employee bills)
MAX_CONTACT_NAME = 255  # Contact.Name
MAX_DESCRIPTION = 4000  # LineItem.Description
MAX_TRACKING_NAME = 100  # LineItemTracking.Name (the category) and .Option
# The limit of each value limit_problems checks, by the name its problem gives the value.
FIELD_LIMITS = {
    "bill number": MAX_INVOICE_NUMBER,
    "contact name": MAX_CONTACT_NAME,
    "contact number": MAX_CONTACT_NUMBER,
    "description": MAX_DESCRIPTION,
    "tracking category": MAX_TRACKING_NAME,
    "tracking option": MAX_TRACKING_NAME,
}

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, slots=True)
class BillLine:
    account_code: str
    description: str
    amount: Decimal
    pay_item: str
    # (category name, option name) when the type splits by department.
    tracking: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Bill:
    """A bill (``ACCPAY``) or supplier credit note (``ACCPAYCREDIT``) to send."""

    doc_type: str
    invoice_number: str
    type_name: str
    contact_name: str
    contact_number: str | None
    employee_key: str | None
    date: date
    due_date: date
    currency: str
    status: str
    lines: tuple[BillLine, ...]
    line_amount_types: str = LINE_AMOUNT_TYPES
    url: str | None = None
    # The key (MappingType.key: its code, else its name) of the mapping type that made the bill. Like
    # type_name it is not sent to Xero: not in content(), not in the hash, not in the bill's identity.
    type_key: str | None = dataclasses.field(default=None, compare=False)

    @property
    def is_credit_note(self) -> bool:
        return self.doc_type == ACCPAYCREDIT

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))

    def content(self) -> dict:
        """Everything Xero stores for this bill, as plain JSON-able values."""
        return {
            "type": self.doc_type,
            "invoice_number": self.invoice_number,
            "contact": {"name": self.contact_name, "number": self.contact_number},
            "date": self.date.isoformat(),
            "due_date": self.due_date.isoformat(),
            "currency": self.currency,
            "status": self.status,
            "line_amount_types": self.line_amount_types,
            "url": self.url,
            "lines": [
                {
                    "account_code": line.account_code,
                    "description": line.description,
                    "amount": str(line.amount),
                    "tracking": [list(t) for t in line.tracking],
                }
                for line in self.lines
            ],
        }

    def content_json(self) -> str:
        """:meth:`content` as canonical JSON (sorted keys, no spaces): the text :meth:`content_hash` digests.

        A caller that stores the content and its hash serializes once: ``content_json()`` and
        ``content_digest()`` of it.
        """
        return json.dumps(self.content(), sort_keys=True, separators=(",", ":"))

    def content_hash(self) -> str:
        """A stable digest of :meth:`content`: same bill, same hash."""
        return content_digest(self.content_json())

    def to_dict(self) -> dict:
        """:meth:`content` with the type's name and key beside it (not hashed): what :meth:`from_content` reads back."""
        return dict(self.content(), type_name=self.type_name, type_key=self.type_key)

    @classmethod
    def from_content(
        cls,
        content: dict,
        *,
        type_name: str | None = None,
        type_key: str | None = None,
        pay_items: Sequence[str] = (),
    ) -> Bill:
        """The bill whose :meth:`content` (or :meth:`to_dict`) is ``content`` (a stored payload sent again later).

        ``content`` holds what Xero receives; the type's name and key and each line's pay item are not
        part of it: given back by the caller, or read from ``content``'s ``type_name`` and ``type_key``
        when :meth:`to_dict` wrote them (absent from older payloads: "" and None).
        """
        number = content["contact"]["number"]
        if type_name is None:
            type_name = content.get("type_name") or ""
        if type_key is None:
            type_key = content.get("type_key")
        return cls(
            doc_type=content["type"],
            invoice_number=content["invoice_number"],
            type_name=type_name,
            contact_name=content["contact"]["name"],
            contact_number=number,
            employee_key=number,
            date=date.fromisoformat(content["date"]),
            due_date=date.fromisoformat(content["due_date"]),
            currency=content["currency"],
            status=content["status"],
            lines=tuple(
                BillLine(
                    account_code=line["account_code"],
                    description=line["description"],
                    amount=Decimal(line["amount"]),
                    pay_item=pay_items[idx] if idx < len(pay_items) else "",
                    tracking=tuple(tuple(option) for option in line["tracking"]),
                )
                for idx, line in enumerate(content["lines"])
            ),
            line_amount_types=content["line_amount_types"],
            url=content["url"],
            type_key=type_key,
        )


@dataclass(frozen=True, slots=True)
class Problem:
    """Something the user should know about; ``error`` ones block sending."""

    severity: str
    code: str
    message: str
    pay_item: str | None = None
    type_name: str | None = None
    employee_key: str | None = None
    amount: Decimal | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR


@dataclass(frozen=True, slots=True)
class BuildResult:
    bills: tuple[Bill, ...]
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.is_error)

    @property
    def ok(self) -> bool:
        return not self.errors


def content_digest(content_json: str) -> str:
    """The :meth:`Bill.content_hash` of the bill whose :meth:`Bill.content_json` is ``content_json``."""
    return hashlib.sha256(content_json.encode()).hexdigest()


def invoice_number(reference: str, type_key: str, employee_key: str | None = None) -> str:
    """The stable InvoiceNumber of the bill of (pay run, type[, employee]).

    On a Xero bill this is the field shown as its reference. Over-long numbers
    keep a readable head and end with a digest, so they stay unique.
    """
    parts = [reference, type_key] if employee_key is None else [reference, type_key, employee_key]
    number = "/".join(parts)
    if len(number) > MAX_INVOICE_NUMBER:
        digest = hashlib.sha256(number.encode()).hexdigest()[:16]
        number = f"{number[: MAX_INVOICE_NUMBER - 17]}~{digest}"
    return number
