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

import gc
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .model import BILL_STATUSES, GROUPING_EMPLOYEE, GROUPINGS, SIGNS, Mapping, PayRun
from .money import is_iso_currency, quantum

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

    def content_json(self) -> str:
        """:meth:`content` as canonical JSON (sorted keys, no spaces): the text :meth:`content_hash` digests.

        A caller that stores the content and its hash serializes once: ``content_json()`` and
        ``content_digest()`` of it.
        """
        return json.dumps(self.content(), sort_keys=True, separators=(",", ":"))

    def content_hash(self) -> str:
        """A stable digest of :meth:`content`: same bill, same hash."""
        return content_digest(self.content_json())

    @classmethod
    def from_content(cls, content: dict, *, type_name: str = "", pay_items: Sequence[str] = ()) -> Bill:
        """The bill whose :meth:`content` is ``content`` (a stored payload sent again later).

        ``content`` holds what Xero receives; the type's name and each line's pay item are not
        part of it and are given back by the caller.
        """
        number = content["contact"]["number"]
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
    # Building makes millions of small objects and no reference cycle: left on, the cycle
    # collector would rescan the whole heap (pay run included) several times for nothing,
    # a third of the time at 100k payslips. It is paused for the build, then restored.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _build_bills(pay_run, mapping, url)
    finally:
        if enabled:
            gc.enable()


def _build_bills(pay_run: PayRun, mapping: Mapping, url: str | None) -> BuildResult:
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
    tracked = [bool(t.tracking_category) for t in types]
    # pay item code -> [(type index, line index, per employee, tracked)]
    targets_of = {
        code: [(t_idx, l_idx, per_employee[t_idx], tracked[t_idx]) for t_idx, l_idx in pairs]
        for code, pairs in index.items()
    }
    # One accumulator per future bill, (type index, employee key or None) -> exact sums by
    # line index, or by (line index, department) when the type is tracked. Nested so that the
    # per-line work allocates no key tuple: 100k payslips x 30 lines stay a few seconds.
    groups: dict[tuple, dict] = {}
    unmapped: dict[str, Decimal] = {}
    names: dict[str, str] = {}
    employees: dict[str, str] = {}
    get_targets = targets_of.get
    zero = Decimal(0)

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
        slip_groups: dict[int, dict] = {}  # type index -> this payslip's accumulator
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
                unmapped[code] = unmapped.get(code, zero) + amount
                continue
            for t_idx, l_idx, by_employee, by_dept in targets:
                acc = slip_groups.get(t_idx)
                if acc is None:
                    gkey = (t_idx, ekey if by_employee else None)
                    acc = groups.get(gkey)
                    if acc is None:
                        acc = groups[gkey] = {}
                    slip_groups[t_idx] = acc
                k = (l_idx, dept) if by_dept else l_idx
                acc[k] = acc.get(k, zero) + amount

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
    bills = _assemble(pay_run, mapping, groups, names, employees, rounding, url)
    return BuildResult(bills=tuple(bills), problems=tuple(problems))


def _group_order(key: tuple) -> tuple:
    """Sort key of a bill (type index, employee key) or of a tracked line (line index, option)."""
    return key[0], key[1] or ""


def _assemble(pay_run, mapping, groups, names, employees, currency, url) -> list[Bill]:
    # One bill per accumulator; lines in mapping order then tracking option order.
    # Rounding is round_money's, with the currency's quantum computed once.
    quantum_ = quantum(currency)
    due_dates: dict[int, date] = {}  # type index -> due date, for types that make a bill
    # type index -> per line index: (account code, description, pay item, negate), filled when used
    line_info: list[list] = [[None] * len(t.lines) for t in mapping.types]
    bills: list[Bill] = []
    for gkey in sorted(groups, key=_group_order):
        t_idx, ekey = gkey
        mtype = mapping.types[t_idx]
        category = mtype.tracking_category
        infos = line_info[t_idx]
        acc = groups[gkey]
        lines = []
        net = Decimal(0)  # the bill's total, summed in line order
        for key in sorted(acc, key=_group_order) if category else sorted(acc):
            if category:
                l_idx, dept = key
            else:
                l_idx, dept = key, None
            info = infos[l_idx]
            if info is None:
                mline = mtype.lines[l_idx]
                description = (mline.description or "").strip() or names.get(mline.pay_item) or mline.pay_item
                info = infos[l_idx] = (mline.account_code, description, mline.pay_item, mline.sign == "-")
            account_code, description, pay_item, negate = info
            amount = acc[key].quantize(quantum_, rounding=ROUND_HALF_UP)
            if negate:
                amount = -amount
            if not amount:
                continue
            tracking = ((category, dept),) if dept and category else ()
            lines.append(BillLine(account_code, description, amount, pay_item, tracking))
            net += amount
        if not lines:
            continue
        doc_type = ACCPAY
        if net < 0:
            doc_type = ACCPAYCREDIT
            lines = [
                BillLine(line.account_code, line.description, -line.amount, line.pay_item, line.tracking)
                for line in lines
            ]
        if ekey is None:
            contact_name, contact_number = (mtype.contact_name or "").strip(), None
        else:
            contact_name, contact_number = employees[ekey], ekey
        number = invoice_number(pay_run.reference, mtype.key, ekey)
        contact_name = contact_name[:MAX_CONTACT_NAME]
        due_date = due_dates.get(t_idx)
        if due_date is None:
            due_date = due_dates[t_idx] = pay_run.payment_date + timedelta(days=mtype.due_days)
        bills.append(
            Bill(
                doc_type=doc_type,
                invoice_number=number,
                type_name=mtype.name,
                contact_name=contact_name,
                contact_number=contact_number,
                employee_key=ekey,
                date=pay_run.payment_date,
                due_date=due_date,
                currency=pay_run.currency,
                status=mtype.status,
                lines=tuple(lines),
                url=url,
            )
        )
    return bills
