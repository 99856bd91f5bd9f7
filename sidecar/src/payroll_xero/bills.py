"""Turn a pay run and a mapping into Xero bills.

This is the only place where bill arithmetic lives: the command line and the
Odoo addon both call :func:`build_bills` and send what it returns.

Rules, in short:

* each mapping line sums its pay item over the payslips (per employee for
  ``employee`` types, per department when the type has a tracking category),
  exactly in ``Decimal``, then rounds once to the currency's minor unit and
  applies its sign;
* zero lines are dropped, a bill without lines is not produced;
* a bill whose total is negative becomes a supplier credit note
  (``ACCPAYCREDIT``) carrying the absolute amounts;
* problems (unmapped pay items, a pay item mapped twice in a type, amounts that
  are not numbers, a currency that is not ISO 4217, ...) are returned, never
  raised.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from .model import BILL_STATUSES, GROUPING_EMPLOYEE, GROUPINGS, SIGNS, Mapping, PayRun
from .money import is_iso_currency, round_money

ACCPAY = "ACCPAY"
ACCPAYCREDIT = "ACCPAYCREDIT"
LINE_AMOUNT_TYPES = "NoTax"

# Xero's field limits.
MAX_INVOICE_NUMBER = 255
MAX_CONTACT_NUMBER = 50
MAX_CONTACT_NAME = 255

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

    def content_hash(self) -> str:
        """A stable digest of :meth:`content`: same bill, same hash."""
        raw = json.dumps(self.content(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(raw.encode()).hexdigest()


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


def _as_decimal(value: object) -> Decimal | None:
    """A finite Decimal from ``value``, or None when it is not a number."""
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        result = Decimal(str(value).strip()) if not isinstance(value, int) else Decimal(value)
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def _mapping_problems(mapping: Mapping) -> tuple[list[Problem], dict[str, list]]:
    """Check the mapping and index it: pay item code -> [(type index, line index)]."""
    problems: list[Problem] = []
    index: dict[str, list] = {}
    seen_keys: dict[str, str] = {}
    for t_idx, mtype in enumerate(mapping.types):
        key = mtype.key.casefold()
        if key in seen_keys:
            problems.append(
                Problem(
                    ERROR,
                    "duplicate_type",
                    f'Types "{seen_keys[key]}" and "{mtype.name}" share the code "{mtype.key}": '
                    "give each type its own code.",
                    type_name=mtype.name,
                )
            )
        seen_keys.setdefault(key, mtype.name)
        if mtype.grouping not in GROUPINGS:
            problems.append(
                Problem(
                    ERROR,
                    "invalid_grouping",
                    f'Type "{mtype.name}" has grouping "{mtype.grouping}"; use "run" or "employee".',
                    type_name=mtype.name,
                )
            )
        if mtype.status not in BILL_STATUSES:
            problems.append(
                Problem(
                    ERROR,
                    "invalid_status",
                    f'Type "{mtype.name}" has bill status "{mtype.status}"; '
                    f"use one of {', '.join(BILL_STATUSES)}.",
                    type_name=mtype.name,
                )
            )
        if mtype.grouping != GROUPING_EMPLOYEE and not (mtype.contact_name or "").strip():
            problems.append(
                Problem(
                    ERROR,
                    "missing_contact",
                    f'Type "{mtype.name}" makes one bill per pay run and needs a Xero contact name.',
                    type_name=mtype.name,
                )
            )
        seen_items: set[str] = set()
        for l_idx, mline in enumerate(mtype.lines):
            if mline.sign not in SIGNS:
                problems.append(
                    Problem(
                        ERROR,
                        "invalid_sign",
                        f'Type "{mtype.name}", pay item {mline.pay_item}: sign "{mline.sign}" '
                        'is neither "+" nor "-".',
                        pay_item=mline.pay_item,
                        type_name=mtype.name,
                    )
                )
                continue
            if mline.pay_item in seen_items:
                problems.append(
                    Problem(
                        ERROR,
                        "duplicate_pay_item",
                        f'Pay item {mline.pay_item} is mapped twice in type "{mtype.name}": '
                        "keep one line per pay item (only the first one is used).",
                        pay_item=mline.pay_item,
                        type_name=mtype.name,
                    )
                )
                continue
            seen_items.add(mline.pay_item)
            index.setdefault(mline.pay_item, []).append((t_idx, l_idx))
    return problems, index


def build_bills(pay_run: PayRun, mapping: Mapping, url: str | None = None) -> BuildResult:
    """Build the bills of ``pay_run`` under ``mapping``.

    ``url``, when given, is set on every bill (Xero shows it as a link back to
    the source document).
    """
    problems, index = _mapping_problems(mapping)
    currency = pay_run.currency
    if not is_iso_currency(currency):
        problems.append(
            Problem(
                ERROR,
                "invalid_currency",
                f'Pay run {pay_run.reference}: currency "{currency}" is not an ISO 4217 code '
                "(for example HKD or USD).",
            )
        )
        currency_ok = False
    else:
        currency_ok = True

    types = mapping.types
    per_employee = [t.grouping == GROUPING_EMPLOYEE for t in types]
    tracked = [t.tracking_category or None for t in types]
    # (type index, group key, line index, tracking option) -> exact sum
    sums: dict[tuple, Decimal] = {}
    unmapped: dict[str, Decimal] = {}
    names: dict[str, str] = {}
    employees: dict[str, str] = {}
    get_targets = index.get

    for slip in pay_run.payslips:
        ekey = slip.employee_key
        if ekey in employees:
            problems.append(
                Problem(
                    ERROR,
                    "duplicate_employee",
                    f"Employee key {ekey} appears on more than one payslip "
                    f'("{employees[ekey]}" and "{slip.employee_name}"); each employee needs its own key.',
                    employee_key=ekey,
                )
            )
        employees[ekey] = slip.employee_name
        dept = slip.department or None
        for line in slip.lines:
            amount = line.amount
            if type(amount) is not Decimal or not amount.is_finite():
                amount = _as_decimal(amount)
                if amount is None:
                    problems.append(
                        Problem(
                            ERROR,
                            "invalid_amount",
                            f"Employee {ekey} ({slip.employee_name}), pay item {line.code}: "
                            f"amount {line.amount!r} is not a number.",
                            pay_item=line.code,
                            employee_key=ekey,
                        )
                    )
                    continue
            code = line.code
            known = names.get(code)
            if known is None or line.name < known:
                names[code] = line.name
            targets = get_targets(code)
            if targets is None:
                unmapped[code] = unmapped.get(code, Decimal(0)) + amount
                continue
            for t_idx, l_idx in targets:
                k = (
                    t_idx,
                    ekey if per_employee[t_idx] else None,
                    l_idx,
                    dept if tracked[t_idx] else None,
                )
                sums[k] = sums.get(k, Decimal(0)) + amount

    for code in sorted(unmapped):
        total = unmapped[code]
        if not total or code in mapping.ignore:
            continue
        severity = ERROR if mapping.require_all_mapped else WARNING
        problems.append(
            Problem(
                severity,
                "unmapped_pay_item",
                f"Pay item {code} ({names.get(code, code)}) totalling {total} is not mapped "
                "by any type: add it to a type or it stays out of Xero.",
                pay_item=code,
                amount=total,
            )
        )

    rounding = currency if currency_ok else "XXX"
    bills = _assemble(pay_run, mapping, sums, names, employees, rounding, url)
    return BuildResult(bills=tuple(bills), problems=tuple(problems))


def _assemble(pay_run, mapping, sums, names, employees, currency, url) -> list[Bill]:
    # Group sums per bill, keep lines in mapping order then tracking option order.
    per_bill: dict[tuple, list] = {}
    for (t_idx, ekey, l_idx, dept), total in sums.items():
        per_bill.setdefault((t_idx, ekey), []).append((l_idx, dept or "", dept, total))

    bills: list[Bill] = []
    for t_idx, ekey in sorted(per_bill, key=lambda k: (k[0], k[1] or "")):
        mtype = mapping.types[t_idx]
        rows = sorted(per_bill[(t_idx, ekey)], key=lambda r: (r[0], r[1]))
        lines = []
        for l_idx, _sort, dept, total in rows:
            mline = mtype.lines[l_idx]
            amount = round_money(total, currency)
            if mline.sign == "-":
                amount = -amount
            if not amount:
                continue
            tracking = ((mtype.tracking_category, dept),) if dept and mtype.tracking_category else ()
            description = (mline.description or "").strip() or names.get(mline.pay_item) or mline.pay_item
            lines.append(BillLine(mline.account_code, description, amount, mline.pay_item, tracking))
        if not lines:
            continue
        doc_type = ACCPAY
        if sum((line.amount for line in lines), Decimal(0)) < 0:
            doc_type = ACCPAYCREDIT
            lines = [
                BillLine(line.account_code, line.description, -line.amount, line.pay_item, line.tracking)
                for line in lines
            ]
        if ekey is None:
            contact_name, contact_number = (mtype.contact_name or "").strip(), None
        else:
            contact_name, contact_number = employees[ekey], ekey
        bills.append(
            Bill(
                doc_type=doc_type,
                invoice_number=invoice_number(pay_run.reference, mtype.key, ekey),
                type_name=mtype.name,
                contact_name=contact_name[:MAX_CONTACT_NAME],
                contact_number=contact_number,
                employee_key=ekey,
                date=pay_run.payment_date,
                due_date=pay_run.payment_date + timedelta(days=mtype.due_days),
                currency=pay_run.currency,
                status=mtype.status,
                lines=tuple(lines),
                url=url,
            )
        )
    return bills
