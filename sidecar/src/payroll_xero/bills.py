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
  are not numbers or beyond :data:`MAX_AMOUNT`, a currency that is not ISO 4217,
  values longer than Xero takes, two bills with one number, a pay run that gives
  nothing to send, ...) are returned, never raised.

Problem codes (``Problem.code``); errors block sending, warnings inform:

=====================  ========  ====================================================
code                   severity  meaning
=====================  ========  ====================================================
``duplicate_type``     error     two types share a code
``invalid_grouping``   error     a type's grouping is neither run nor employee
``invalid_status``     error     a type's bill status is not one Xero takes
``invalid_due_days``   error     a type's due days are not 0 to :data:`MAX_DUE_DAYS`
``missing_contact``    error     a per-run type has no contact name
``invalid_sign``       error     a mapping line's sign is neither + nor -
``duplicate_pay_item`` error     a pay item is mapped twice in one type
``invalid_currency``   error     the pay run's currency is not ISO 4217
``invalid_date``       error     the payment date is outside MIN_DATE..MAX_DATE
``duplicate_employee`` error     two payslips share an employee key
``invalid_amount``     error     a pay line amount is not a finite number
``amount_out_of_range`` error    an amount, a bill line or a bill total reaches
                                 :data:`MAX_AMOUNT`
``too_long``           error     a value is longer than Xero takes (contact number,
                                 contact name, bill number, line description,
                                 tracking category or option name)
``duplicate_number``   error     two bills get the same number
``unmapped_pay_item``  either    a pay item no type maps (error when the mapping
                                 requires every item mapped)
``contact_name_cut``   warning   a contact name cut to :data:`MAX_CONTACT_NAME`
``number_shortened``   warning   bill numbers shortened to :data:`MAX_INVOICE_NUMBER`
``nothing_to_send``    warning   the pay run gives no bill at all
=====================  ========  ====================================================
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .model import (
    BILL_STATUSES,
    GROUPING_EMPLOYEE,
    GROUPINGS,
    MAX_DATE,
    MAX_DUE_DAYS,
    MIN_DATE,
    SIGNS,
    Mapping,
    PayRun,
)
from .money import MAX_AMOUNT, is_iso_currency, quantum

# MAX_AMOUNT (money), MAX_DUE_DAYS, MIN_DATE and MAX_DATE (model) are imported here too: every limit
# build_bills checks can be imported from this module.

ACCPAY = "ACCPAY"
ACCPAYCREDIT = "ACCPAYCREDIT"
LINE_AMOUNT_TYPES = "NoTax"

# Xero's field limits, in characters; the SDK refuses longer values (ValueError) and so does Xero.
MAX_INVOICE_NUMBER = 255  # InvoiceNumber / CreditNoteNumber: the bill's number, shown as its Reference
MAX_CONTACT_NUMBER = 50  # Contact.ContactNumber (the employee key of per-employee bills)
MAX_CONTACT_NAME = 255  # Contact.Name
MAX_DESCRIPTION = 4000  # LineItem.Description
MAX_TRACKING_NAME = 100  # LineItemTracking.Name (the category) and .Option

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


def _shorten(value: object, width: int = 60) -> str:
    """``value`` as text cut to ``width`` characters (an ellipsis marks the cut), to quote it in a message."""
    text = str(value)
    return text if len(text) <= width else f"{text[: width - 1]}\u2026"


def _amount_text(amount: Decimal) -> str:
    """``amount`` as written, or in scientific notation when that is long (a 400-digit amount)."""
    text = str(amount)
    return text if len(text) <= 30 else f"{amount:.6E}"


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


def limit_problems(bills: Iterable[Bill]) -> list[Problem]:
    """``too_long`` errors for the values of ``bills`` longer than Xero takes.

    Checks the bill number (:data:`MAX_INVOICE_NUMBER`), the contact's name (:data:`MAX_CONTACT_NAME`) and
    number (:data:`MAX_CONTACT_NUMBER`), each line's description (:data:`MAX_DESCRIPTION`) and tracking
    category and option names (:data:`MAX_TRACKING_NAME`). One problem per field and value, naming the
    first bill that has it and how many others do. :func:`build_bills` runs it on the bills it makes; a
    caller holding bills made another way (a stored payload given back by :meth:`Bill.from_content`) can
    run it before sending: the SDK raises ``ValueError`` on such values and Xero refuses them.
    """
    # (field, pay item or None, value) -> [first bill, bills counted, last bill, pay item of its first line]
    found: dict[tuple, list] = {}

    def hit(bill: Bill, field: str, value: str, pay_item: str | None = None, per_item: bool = True) -> None:
        key = (field, pay_item if per_item else None, value)
        entry = found.get(key)
        if entry is None:
            found[key] = [bill, 1, bill, pay_item]
        elif entry[2] is not bill:
            entry[1] += 1
            entry[2] = bill

    for bill in bills:
        if len(bill.invoice_number) > MAX_INVOICE_NUMBER:
            hit(bill, "bill number", bill.invoice_number)
        if len(bill.contact_name) > MAX_CONTACT_NAME:
            hit(bill, "contact name", bill.contact_name)
        if bill.contact_number is not None and len(bill.contact_number) > MAX_CONTACT_NUMBER:
            hit(bill, "contact number", bill.contact_number)
        for line in bill.lines:
            if len(line.description) > MAX_DESCRIPTION:
                hit(bill, "description", line.description, line.pay_item)
            for category, option in line.tracking:
                # A tracking name is the type's or a department's, whatever the line: one problem each.
                if len(category) > MAX_TRACKING_NAME:
                    hit(bill, "tracking category", category, line.pay_item, per_item=False)
                if len(option) > MAX_TRACKING_NAME:
                    hit(bill, "tracking option", option, line.pay_item, per_item=False)
    problems = []
    for (field, _item, value), (bill, count, _last, pay_item) in found.items():
        others = f" (and {_plural(count - 1, 'other bill')})" if count > 1 else ""
        line = f"line {pay_item}: " if pay_item else ""
        problems.append(
            Problem(
                ERROR,
                "too_long",
                f'Bill {_shorten(bill.invoice_number, 100)}{others}: {line}the {field} "{_shorten(value)}" '
                f"is {len(value):,} characters; Xero allows {_LIMITS[field]}.",
                pay_item=pay_item,
                type_name=bill.type_name,
                employee_key=bill.employee_key,
            )
        )
    return problems


_LIMITS = {
    "bill number": MAX_INVOICE_NUMBER,
    "contact name": MAX_CONTACT_NAME,
    "contact number": MAX_CONTACT_NUMBER,
    "description": MAX_DESCRIPTION,
    "tracking category": MAX_TRACKING_NAME,
    "tracking option": MAX_TRACKING_NAME,
}


def _origin(bill: Bill) -> str:
    who = f" for employee {bill.employee_key}" if bill.employee_key is not None else ""
    return f'type "{bill.type_name}"{who}'


def _duplicate_numbers(bills: Sequence[Bill]) -> list[Problem]:
    """Errors for bills that get a number another bill has (type code "NET/E0001" and employee E0001 of NET)."""
    first: dict[str, Bill] = {}
    problems = []
    for bill in bills:
        other = first.setdefault(bill.invoice_number, bill)
        if other is not bill:
            problems.append(
                Problem(
                    ERROR,
                    "duplicate_number",
                    f"Bill number {_shorten(bill.invoice_number, 100)} is made twice: by {_origin(other)} "
                    f"and by {_origin(bill)}. Xero keeps one bill per number: give the types codes that "
                    'cannot meet (without "/").',
                    type_name=bill.type_name,
                    employee_key=bill.employee_key,
                )
            )
    return problems


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
        due_days = mtype.due_days
        if isinstance(due_days, bool) or not isinstance(due_days, int) or not 0 <= due_days <= MAX_DUE_DAYS:
            problems.append(
                Problem(
                    ERROR,
                    "invalid_due_days",
                    f'Type "{mtype.name}" has due days {_shorten(repr(due_days), 40)}; use a whole number '
                    f"of days from 0 to {MAX_DUE_DAYS}.",
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
    payment_date = pay_run.payment_date
    try:
        date_ok = MIN_DATE <= payment_date <= MAX_DATE
    except TypeError:  # not a date (a datetime does not compare with dates)
        date_ok = False
    if not date_ok or type(payment_date) is not date:
        problems.append(
            Problem(
                ERROR,
                "invalid_date",
                f"Pay run {pay_run.reference}: payment date {_shorten(payment_date, 40)} is not a date "
                f"from {MIN_DATE} to {MAX_DATE}.",
            )
        )

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
    low, high = -MAX_AMOUNT, MAX_AMOUNT
    # A finite amount whose adjusted exponent is below MAX_AMOUNT's (a power of ten) is in range: one
    # method call instead of two comparisons on the hot path; anything else takes the careful path.
    digits = MAX_AMOUNT.adjusted()

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
            if type(amount) is not Decimal or not (amount.is_finite() and amount.adjusted() < digits):
                amount = _as_decimal(amount)
                if amount is None:
                    problems.append(
                        Problem(
                            ERROR,
                            "invalid_amount",
                            f"Employee {ekey} ({slip.employee_name}), pay item {line.code}: "
                            f"amount {_shorten(repr(line.amount))} is not a number.",
                            pay_item=line.code,
                            employee_key=ekey,
                        )
                    )
                    continue
                if not low < amount < high:
                    problems.append(
                        Problem(
                            ERROR,
                            "amount_out_of_range",
                            f"Employee {ekey} ({slip.employee_name}), pay item {line.code}: "
                            f"amount {_amount_text(amount)} is beyond what Xero takes "
                            f"(less than {MAX_AMOUNT:,} either way).",
                            pay_item=line.code,
                            employee_key=ekey,
                            amount=amount,
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
    bills = _assemble(pay_run, mapping, groups, names, employees, rounding, url, problems)
    problems.extend(_duplicate_numbers(bills))
    problems.extend(limit_problems(bills))
    if not bills:
        if not pay_run.payslips:
            why = "has no payslips"
        else:
            why = "gives no bill: the pay items its types map all sum to zero, or none is mapped"
        problems.append(
            Problem(
                WARNING,
                "nothing_to_send",
                f"Pay run {pay_run.reference} {why}: nothing will be sent to Xero.",
            )
        )
    return BuildResult(bills=tuple(bills), problems=tuple(problems))


def _due_date(payment_date: date, due_days: int) -> date:
    """``payment_date`` + ``due_days``; the payment date itself when that is no date (a problem says why)."""
    try:
        return payment_date + timedelta(days=due_days)
    except (OverflowError, TypeError, ValueError):
        return payment_date


def _group_order(key: tuple) -> tuple:
    """Sort key of a bill (type index, employee key) or of a tracked line (line index, option)."""
    return key[0], key[1] or ""


def _assemble(pay_run, mapping, groups, names, employees, currency, url, problems) -> list[Bill]:
    # One bill per accumulator; lines in mapping order then tracking option order.
    # Rounding is round_money's, with the currency's quantum computed once.
    quantum_ = quantum(currency)
    low, high = -MAX_AMOUNT, MAX_AMOUNT
    reference_length = len(pay_run.reference)
    shortened: set[int] = set()  # types whose bill numbers were shortened (one warning each)
    cut: set = set()  # employee keys, or type indexes, whose contact name was cut (one warning each)
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
        largest = None  # a line amount Xero cannot take, if any
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
            if not low < amount < high and (largest is None or abs(amount) > abs(largest)):
                largest = amount
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
        if t_idx not in shortened:
            length = reference_length + 1 + len(mtype.key) + (0 if ekey is None else 1 + len(ekey))
            if length > MAX_INVOICE_NUMBER:
                shortened.add(t_idx)
                problems.append(
                    Problem(
                        WARNING,
                        "number_shortened",
                        f'Type "{mtype.name}": bill numbers such as "{_shorten(number, 100)}" would be '
                        f"{length:,} characters; Xero allows {MAX_INVOICE_NUMBER}: they are shortened and end "
                        "with a digest. A shorter pay run reference or type code keeps them readable.",
                        type_name=mtype.name,
                    )
                )
        if len(contact_name) > MAX_CONTACT_NAME:
            whose = t_idx if ekey is None else ekey
            if whose not in cut:
                cut.add(whose)
                who = f'type "{mtype.name}"' if ekey is None else f"employee {ekey}"
                problems.append(
                    Problem(
                        WARNING,
                        "contact_name_cut",
                        f'Bill {number}: the contact name of {who} "{_shorten(contact_name)}" is '
                        f"{len(contact_name):,} characters; Xero allows {MAX_CONTACT_NAME}: the Xero contact "
                        f"is named with its first {MAX_CONTACT_NAME} characters.",
                        type_name=mtype.name,
                        employee_key=ekey,
                    )
                )
            contact_name = contact_name[:MAX_CONTACT_NAME]
        if largest is not None or not low < net < high:
            what = f"a line of {largest:,}" if largest is not None else f"a total of {abs(net):,}"
            problems.append(
                Problem(
                    ERROR,
                    "amount_out_of_range",
                    f"Bill {number} ({contact_name}) has {what}, beyond what Xero takes (less than "
                    f"{MAX_AMOUNT:,}): check the payslips of the pay run.",
                    type_name=mtype.name,
                    employee_key=ekey,
                    amount=largest if largest is not None else net,
                )
            )
        due_date = due_dates.get(t_idx)
        if due_date is None:
            due_date = due_dates[t_idx] = _due_date(pay_run.payment_date, mtype.due_days)
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
                type_key=mtype.key,
            )
        )
    return bills
