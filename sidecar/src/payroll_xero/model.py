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


@dataclass(frozen=True, slots=True)
class MappingLine:
    """Pay item ``pay_item`` goes to Xero account ``account_code`` with ``sign``."""

    pay_item: str
    account_code: str
    sign: str = "+"
    description: str | None = None


@dataclass(frozen=True, slots=True)
class MappingType:
    """A kind of bill, e.g. "MPF" to the trustee or "Net salaries" per employee."""

    name: str
    lines: tuple[MappingLine, ...]
    contact_name: str | None = None
    grouping: str = GROUPING_RUN
    status: str = "DRAFT"
    due_days: int = 0
    tracking_category: str | None = None
    # Short stable key used in InvoiceNumbers; defaults to the name.
    code: str | None = None

    @property
    def key(self) -> str:
        return self.code or self.name


@dataclass(frozen=True, slots=True)
class Mapping:
    types: tuple[MappingType, ...]
    require_all_mapped: bool = False
    # Pay items deliberately kept out of Xero (totals such as GROSS or NET).
    ignore: frozenset[str] = frozenset()
