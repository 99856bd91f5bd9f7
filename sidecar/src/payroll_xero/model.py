"""Pay runs and mappings: the two inputs of bill building.

Plain frozen dataclasses, no network and nothing Odoo. The addon builds them from
the ORM; the command line loads them from JSON with :mod:`payroll_xero.loaders`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

GROUPING_RUN = "run"
GROUPING_EMPLOYEE = "employee"
GROUPINGS = (GROUPING_RUN, GROUPING_EMPLOYEE)

BILL_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED")

# What a mapping type makes: a bill (or supplier credit note) per run or employee, or one manual journal per run.
DOCUMENT_BILL = "bill"
DOCUMENT_JOURNAL = "journal"
DOCUMENTS = (DOCUMENT_BILL, DOCUMENT_JOURNAL)
# A manual journal is created as a draft or posted at once.
JOURNAL_STATUSES = ("DRAFT", "POSTED")

# A bill is due 0 to MAX_DUE_DAYS days after the payment date: ten years is already far more than any
# payment term, a larger number is a typing error (and 3,000,000 days would overflow the calendar).
MAX_DUE_DAYS = 3650
# Dates of a pay run are between MIN_DATE and MAX_DATE: outside, they are typing errors (and a payment date
# of 9999-12-31 has no due date after it). MAX_DATE + MAX_DUE_DAYS is still a valid date.
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2999, 12, 31)
SIGNS = ("+", "-")


@dataclass(frozen=True, slots=True)
class PayLine:
    """One pay item on one payslip (``BASIC``, 25000.00)."""

    code: str
    name: str
    # A Decimal once loaded; build_bills reports anything that is not a finite
    # number as a problem instead of raising.
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Payslip:
    employee_key: str
    employee_name: str
    lines: tuple[PayLine, ...]
    department: str | None = None


@dataclass(frozen=True, slots=True)
class PayRun:
    reference: str
    period_start: date
    period_end: date
    payment_date: date
    currency: str
    payslips: tuple[Payslip, ...]
    # The batch's name, for journal narrations; the reference when not given.
    name: str | None = None

    @property
    def display_name(self) -> str:
        return (self.name or "").strip() or self.reference


@dataclass(frozen=True, slots=True)
class MappingLine:
    """Pay item ``pay_item`` goes to Xero account ``account_code`` with ``sign``.

    On a bill, ``+`` adds the amount as it is on the payslip and ``-`` negates it. On a journal the same
    sign makes a signed LineAmount, Xero's way: positive is a debit, negative a credit; so ``+`` debits a
    positive pay item (and credits a negative one, a deduction) and ``-`` credits a positive one.
    """

    pay_item: str
    account_code: str
    sign: str = "+"
    description: str | None = None


@dataclass(frozen=True, slots=True)
class MappingType:
    """A kind of bill, e.g. "MPF" to the trustee or "Net salaries" per employee, or of manual journal.

    ``document`` is ``bill`` (the default) or ``journal``. A journal type makes one manual journal per pay
    run (grouping ``run``), ``status`` ``DRAFT`` or ``POSTED``; it has no contact nor due days, may map a pay
    item on several lines (a debit and a credit), and its ``rounding_account``, when given, takes one visible
    line for a difference of at most :data:`payroll_xero.journals.MAX_ROUNDING_UNITS` minor units between
    debits and credits.
    """

    name: str
    lines: tuple[MappingLine, ...]
    contact_name: str | None = None
    grouping: str = GROUPING_RUN
    status: str = "DRAFT"
    due_days: int = 0
    tracking_category: str | None = None
    # Short stable key used in InvoiceNumbers; defaults to the name.
    code: str | None = None
    document: str = DOCUMENT_BILL
    rounding_account: str | None = None

    @property
    def key(self) -> str:
        return self.code or self.name

    @property
    def is_journal(self) -> bool:
        return self.document == DOCUMENT_JOURNAL


@dataclass(frozen=True, slots=True)
class Mapping:
    types: tuple[MappingType, ...]
    require_all_mapped: bool = False
    # Pay items deliberately kept out of Xero (totals such as GROSS or NET).
    ignore: frozenset[str] = frozenset()
