"""What the Xero client hands back: plain, frozen values (no SDK model leaks out)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from ..bill_values import MAX_CONTACT_NAME

BATCH_SIZE = 50  # documents per create call (Xero suggests about 50)
LOOKUP_BATCH = 25  # numbers per lookup call (keeps URLs short)
GONE_STATUSES = ("DELETED", "VOIDED")
STATUS_PAGE = 100  # documents per page when reading statuses back (Xero's page size)
IDS_BATCH = 50  # ids per IDs= call: Xero's gateway answers 404 past ~52 GUIDs (XeroAPI/Xero-OpenAPI#534)
CREDIT_IDS_BATCH = 25  # credit notes per where=CreditNoteID==Guid(...) OR ... call (URL length)
CLOCK_MARGIN = timedelta(
    minutes=5
)  # our clock vs Xero's: a watermark never passes the run's start minus this
# Account types Xero refuses on bill lines: BANK (bank, credit card and PayPal accounts alike, told apart by
# their BankAccountType) takes payments, never a line. Every other type takes them unless it is a system
# account (Accounts Payable, GST, Retained Earnings...) or archived.
UNPOSTABLE_ACCOUNT_TYPES = frozenset({"BANK"})


def namesake_contact_name(name: str, contact_number: str) -> str:
    """The name of an employee's contact when Xero already has another contact called ``name``:
    "Name (number)" (Xero's contact names are unique).

    It holds at most :data:`MAX_CONTACT_NAME` characters, as Xero requires: a long name is cut, never the
    number, which is what tells the namesakes apart.
    """
    suffix = f" ({contact_number})"
    return name[: max(0, MAX_CONTACT_NAME - len(suffix))].rstrip() + suffix


@dataclass(frozen=True, slots=True)
class Organisation:
    organisation_id: str
    name: str
    base_currency: str
    currencies: tuple[str, ...]
    country_code: str | None = None
    short_code: str | None = None


@dataclass(frozen=True, slots=True)
class Account:
    account_id: str
    code: str | None
    name: str
    type: str | None
    status: str | None
    account_class: str | None = None
    tax_type: str | None = None
    system_account: str | None = None
    updated: datetime | None = None

    @property
    def is_postable(self) -> bool:
        """Whether a bill line may use this account: ACTIVE, with a code, not a system account and not of a
        type Xero refuses on bill lines (:data:`UNPOSTABLE_ACCOUNT_TYPES`: bank accounts)."""
        return (
            bool(self.code)
            and self.status == "ACTIVE"
            and not self.system_account
            and self.type not in UNPOSTABLE_ACCOUNT_TYPES
        )


@dataclass(frozen=True, slots=True)
class TrackingCategory:
    tracking_category_id: str
    name: str
    status: str | None
    options: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class XeroBillLine:
    """One line of a bill or credit note as it is in Xero (``amount`` is its LineAmount)."""

    account_code: str | None
    description: str | None
    amount: Decimal | None
    # (category name, option name) pairs, as Xero names them.
    tracking: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class XeroBill:
    """A bill or supplier credit note as it is in Xero.

    The content fields (contact name, dates, reference, currency, lines) are what a
    document read from Xero says; a document built from a status change only may leave
    them empty. :func:`bill_differences` compares them with a :class:`~payroll_xero.bills.Bill`.
    """

    xero_id: str
    number: str | None
    status: str | None
    total: Decimal | None
    contact_id: str | None
    is_credit_note: bool = False
    amount_paid: Decimal = Decimal(0)
    contact_name: str | None = None
    date: date | None = None
    due_date: date | None = None
    reference: str | None = None
    currency: str | None = None
    line_amount_types: str | None = None
    lines: tuple[XeroBillLine, ...] = ()
    amount_due: Decimal | None = None
    fully_paid_on: date | None = None
    updated_at: datetime | None = None  # aware UTC: Xero's UpdatedDateUTC


@dataclass(frozen=True, slots=True)
class StatusPage:
    """One page of documents read back from Xero by ``XeroClient.changed_bills``.

    ``watermark`` is where a later run may resume once this page is saved: every document
    modified before it has been read (bills and credit notes alike).
    """

    bills: tuple[XeroBill, ...]
    watermark: datetime | None
    credit_notes: bool
    calls: int = 1


@dataclass(frozen=True, slots=True)
class PushResult:
    """What happened to one bill: created, already there, or refused (``errors``)."""

    invoice_number: str
    ok: bool
    xero_id: str | None = None
    xero_number: str | None = None
    status: str | None = None
    total: Decimal | None = None
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    created: bool = False
    already_existed: bool = False
    is_credit_note: bool = False
    contact_id: str | None = None
    # For a bill found in Xero (``already_existed``): how its content differs from the bill
    # pushed, as readable sentences (see :func:`bill_differences`); empty when the same.
    differences: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class XeroJournal:
    """A manual journal as it is in Xero; ``key`` is the one its narration carries (``... [KEY]``), if any.

    Line amounts are Xero's LineAmount: a debit positive, a credit negative. A journal built from a status
    change only may leave the content fields empty.
    """

    xero_id: str
    narration: str | None
    status: str | None
    key: str | None = None
    date: date | None = None
    line_amount_types: str | None = None
    lines: tuple[XeroBillLine, ...] = ()
    url: str | None = None
    show_on_cash_basis_reports: bool | None = None
    updated_at: datetime | None = None  # aware UTC: Xero's UpdatedDateUTC

    @property
    def debits(self) -> Decimal:
        return sum((line.amount for line in self.lines if line.amount and line.amount > 0), Decimal(0))


@dataclass(frozen=True, slots=True)
class JournalPushResult:
    """What happened to one journal: created, already there (found by its key), or refused (``errors``)."""

    key: str
    ok: bool
    xero_id: str | None = None
    status: str | None = None
    debits: Decimal | None = None
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    created: bool = False
    already_existed: bool = False
    # For a journal found in Xero: how it differs from the one pushed (see journal_differences).
    differences: tuple[str, ...] = ()

    # Read where a bill's PushResult is read: the key is the journal's number, no contact.
    contact_id = None
    is_credit_note = False

    @property
    def invoice_number(self) -> str:
        return self.key


@dataclass(frozen=True, slots=True)
class JournalStatusPage:
    """One page of manual journals read back by ``XeroClient.changed_journals``; ``watermark`` as in
    :class:`StatusPage` (every journal modified before it has been read)."""

    journals: tuple[XeroJournal, ...]
    watermark: datetime | None
    calls: int = 1
