"""What :func:`~payroll_xero.journals.build_journals` makes: manual journals and their lines.

A :class:`Journal` balances by construction: its lines' signed amounts (Xero's ``LineAmount``: a debit is
positive, a credit negative) sum to exactly zero, in ``Decimal``, and it has at least two lines; building
one that does not raises :class:`UnbalancedJournal`. So no unbalanced journal can be sent, whatever made it
(:func:`build_journals`, or :meth:`Journal.from_content` of a stored payload).

Xero has no number nor reference on a manual journal: its stable ``key`` (``<pay run reference>/<type
code>``, as a bill's number) is carried at the end of the narration, ``"<batch name> - <type name>
[<key>]"``, where the client finds it again before creating anything.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .bill_values import Problem, content_digest, invoice_number

JOURNAL_LINE_AMOUNT_TYPES = "NoTax"
# The ``doc_type`` of a journal, beside a bill's ACCPAY and a credit note's ACCPAYCREDIT (Xero's name of the
# endpoint); it is not sent.
JOURNAL_DOC_TYPE = "MANUALJOURNAL"
# The rounding line of a journal type with a rounding account takes a difference of at most this many minor
# units of the currency (0.05 in HKD, 5 in JPY); a larger difference is an error, never rounded away.
MAX_ROUNDING_UNITS = 5
ROUNDING_DESCRIPTION = "Rounding"


class UnbalancedJournal(ValueError):
    """A journal whose debits and credits differ, or with fewer than two lines: never built."""


@dataclass(frozen=True, slots=True)
class JournalLine:
    """One line of a manual journal; ``amount`` is Xero's LineAmount (debit positive, credit negative)."""

    account_code: str
    description: str
    amount: Decimal
    # The pay item summed on this line; "" on the rounding line.
    pay_item: str = ""
    # (category name, option name) when the type splits by department.
    tracking: tuple[tuple[str, str], ...] = ()
    is_rounding: bool = False

    @property
    def debit(self) -> Decimal:
        return self.amount if self.amount > 0 else Decimal(0)

    @property
    def credit(self) -> Decimal:
        return -self.amount if self.amount < 0 else Decimal(0)


@dataclass(frozen=True, slots=True)
class Journal:
    """A manual journal to send: one per journal type and pay run, dated on the pay run's payment date.

    ``currency`` is the pay run's: Xero posts manual journals in the organisation's base currency only, so
    it is not sent but checked against it (:func:`payroll_xero.jobs.journal_preflight_problems`).
    """

    key: str
    narration: str
    type_name: str
    date: date
    currency: str
    status: str
    lines: tuple[JournalLine, ...]
    line_amount_types: str = JOURNAL_LINE_AMOUNT_TYPES
    url: str | None = None
    # The key (MappingType.key) of the type that made the journal; not sent, not hashed.
    type_key: str | None = dataclasses.field(default=None, compare=False)

    def __post_init__(self) -> None:
        if len(self.lines) < 2:
            raise UnbalancedJournal(
                f"Journal {self.key}: a manual journal needs at least two lines, it has {len(self.lines)}."
            )
        difference = sum((line.amount for line in self.lines), Decimal(0))
        if difference:
            raise UnbalancedJournal(
                f"Journal {self.key}: debits {self.debits} and credits {self.credits} differ by {difference}."
            )

    @property
    def debits(self) -> Decimal:
        """The sum of the debit lines (positive)."""
        return sum((line.debit for line in self.lines), Decimal(0))

    @property
    def credits(self) -> Decimal:
        """The sum of the credit lines, as a positive amount (equal to :attr:`debits`)."""
        return sum((line.credit for line in self.lines), Decimal(0))

    @property
    def rounding(self) -> Decimal:
        """The rounding line's amount (0 without one)."""
        return sum((line.amount for line in self.lines if line.is_rounding), Decimal(0))

    # What a journal shows where a bill shows its number, type, contact and total, so that one record
    # (the addon's) keeps and lists both: the key is the journal's number, it has no contact nor due date.
    doc_type = JOURNAL_DOC_TYPE
    is_credit_note = False
    contact_name = None
    contact_number = None
    employee_key = None
    due_date = None

    @property
    def invoice_number(self) -> str:
        """The journal's stable key, in the place of a bill's number."""
        return self.key

    @property
    def total(self) -> Decimal:
        """The journal's total: its debits (equal to its credits)."""
        return self.debits

    def content(self) -> dict:
        """What is sent to Xero (plus the key and the currency the amounts are in), as plain JSON-able values."""
        return {
            "document": "journal",
            "key": self.key,
            "narration": self.narration,
            "date": self.date.isoformat(),
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
                    "rounding": line.is_rounding,
                }
                for line in self.lines
            ],
        }

    def content_json(self) -> str:
        """:meth:`content` as canonical JSON (sorted keys, no spaces): the text :meth:`content_hash` digests."""
        return json.dumps(self.content(), sort_keys=True, separators=(",", ":"))

    def content_hash(self) -> str:
        """A stable digest of :meth:`content`: same journal, same hash."""
        return content_digest(self.content_json())

    def to_dict(self) -> dict:
        """:meth:`content` with the type's name and key beside it (not hashed): what :meth:`from_content` reads."""
        return dict(self.content(), type_name=self.type_name, type_key=self.type_key)

    @classmethod
    def from_content(
        cls,
        content: dict,
        *,
        type_name: str | None = None,
        type_key: str | None = None,
        pay_items: Sequence[str] = (),
    ) -> Journal:
        """The journal whose :meth:`content` (or :meth:`to_dict`) is ``content``; raises
        :class:`UnbalancedJournal` when its lines do not balance (a payload changed since)."""
        return cls(
            key=content["key"],
            narration=content["narration"],
            type_name=(content.get("type_name") or "") if type_name is None else type_name,
            date=date.fromisoformat(content["date"]),
            currency=content["currency"],
            status=content["status"],
            lines=tuple(
                JournalLine(
                    account_code=line["account_code"],
                    description=line["description"],
                    amount=Decimal(line["amount"]),
                    pay_item=pay_items[idx] if idx < len(pay_items) else "",
                    tracking=tuple(tuple(option) for option in line["tracking"]),
                    is_rounding=bool(line.get("rounding")),
                )
                for idx, line in enumerate(content["lines"])
            ),
            line_amount_types=content["line_amount_types"],
            url=content["url"],
            type_key=content.get("type_key") if type_key is None else type_key,
        )


@dataclass(frozen=True, slots=True)
class JournalResult:
    """What :func:`build_journals` gives: the journals (each balanced) and the problems found."""

    journals: tuple[Journal, ...]
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.is_error)

    @property
    def ok(self) -> bool:
        return not self.errors


def journal_key(reference: str, type_key: str) -> str:
    """The stable key of the journal of (pay run, type): ``<reference>/<type code>``, shortened as bill numbers."""
    return invoice_number(reference, type_key)


def journal_narration(run_name: str, type_name: str, key: str) -> str:
    """The narration of a journal: the batch's name and the type's, then the key in brackets at the end."""
    return f"{run_name.strip()} - {type_name.strip()} [{key}]"


def narration_has_key(narration: str | None, key: str) -> bool:
    """True when ``narration`` carries ``key`` (it ends with ``[key]``)."""
    return bool(narration) and narration.rstrip().endswith(f"[{key}]")


def key_of_narration(narration: str | None) -> str | None:
    """The key a narration carries at its end (``... [KEY]``), or None."""
    text = (narration or "").rstrip()
    if not text.endswith("]"):
        return None
    start = text.rfind(" [")
    if start < 0:
        return text[1:-1] if text.startswith("[") else None
    return text[start + 2 : -1] or None
