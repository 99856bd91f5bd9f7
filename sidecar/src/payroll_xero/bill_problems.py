"""The checks of bill building: the mapping, the pay run's header and amounts, and the bills made.

Every check returns :class:`~payroll_xero.bill_values.Problem` values, never raises; the codes are listed
in :mod:`payroll_xero.bills`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation

from . import model
from .bill_values import ERROR, FIELD_LIMITS, MAX_CONTACT_NAME, MAX_INVOICE_NUMBER, WARNING, Bill, Problem
from .model import Mapping, MappingType, PayRun, Payslip
from .money import MAX_AMOUNT, is_iso_currency


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

    # The limits as locals: this runs over every line of every bill built.
    max_number, max_name, max_contact_number, max_description, max_tracking = (
        FIELD_LIMITS[field]
        for field in ("bill number", "contact name", "contact number", "description", "tracking category")
    )
    for bill in bills:
        if len(bill.invoice_number) > max_number:
            hit(bill, "bill number", bill.invoice_number)
        if len(bill.contact_name) > max_name:
            hit(bill, "contact name", bill.contact_name)
        if bill.contact_number is not None and len(bill.contact_number) > max_contact_number:
            hit(bill, "contact number", bill.contact_number)
        for line in bill.lines:
            if len(line.description) > max_description:
                hit(bill, "description", line.description, line.pay_item)
            for category, option in line.tracking:
                # A tracking name is the type's or a department's, whatever the line: one problem each.
                if len(category) > max_tracking:
                    hit(bill, "tracking category", category, line.pay_item, per_item=False)
                if len(option) > max_tracking:
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
                f"is {len(value):,} characters; Xero allows {FIELD_LIMITS[field]}.",
                pay_item=pay_item,
                type_name=bill.type_name,
                employee_key=bill.employee_key,
            )
        )
    return problems


def _origin(bill: Bill) -> str:
    who = f" for employee {bill.employee_key}" if bill.employee_key is not None else ""
    return f'type "{bill.type_name}"{who}'


def duplicate_numbers(bills: Sequence[Bill]) -> list[Problem]:
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


def mapping_problems(
    mapping: Mapping, document: str = model.DOCUMENT_BILL
) -> tuple[list[Problem], dict[str, list]]:
    """Check the whole mapping (every type, bill or journal) and index the types that make ``document``:
    pay item code -> [(type index, line index)]."""
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
        problems.extend(_type_problems(mtype))
        wanted = mtype.document == document
        # A journal may map a pay item twice (a debit and a credit line); a bill may not.
        seen_items: set[str] | None = None if mtype.is_journal else set()
        for l_idx, mline in enumerate(mtype.lines):
            problem = _line_problem(mtype, mline.pay_item, mline.sign, seen_items)
            if problem is not None:
                problems.append(problem)
                continue
            if seen_items is not None:
                seen_items.add(mline.pay_item)
            if wanted:
                index.setdefault(mline.pay_item, []).append((t_idx, l_idx))
    return problems, index


def _type_problems(mtype: MappingType) -> list[Problem]:
    """The errors of one type's own settings: document, grouping, status, due days, contact."""
    problems = []

    def error(code: str, message: str) -> None:
        problems.append(Problem(ERROR, code, message, type_name=mtype.name))

    if mtype.document not in model.DOCUMENTS:
        error(
            "invalid_document",
            f'Type "{mtype.name}" makes "{_shorten(mtype.document, 40)}"; use "bill" or "journal".',
        )
        return problems
    if mtype.is_journal:
        _journal_type_problems(mtype, error)
        return problems
    if mtype.grouping not in model.GROUPINGS:
        error(
            "invalid_grouping",
            f'Type "{mtype.name}" has grouping "{mtype.grouping}"; use "run" or "employee".',
        )
    if mtype.status not in model.BILL_STATUSES:
        error(
            "invalid_status",
            f'Type "{mtype.name}" has bill status "{mtype.status}"; use one of {", ".join(model.BILL_STATUSES)}.',
        )
    due_days = mtype.due_days
    if isinstance(due_days, bool) or not isinstance(due_days, int) or not 0 <= due_days <= model.MAX_DUE_DAYS:
        error(
            "invalid_due_days",
            f'Type "{mtype.name}" has due days {_shorten(repr(due_days), 40)}; use a whole number '
            f"of days from 0 to {model.MAX_DUE_DAYS}.",
        )
    if mtype.grouping != model.GROUPING_EMPLOYEE and not (mtype.contact_name or "").strip():
        error(
            "missing_contact",
            f'Type "{mtype.name}" makes one bill per pay run and needs a Xero contact name.',
        )
    return problems


def _journal_type_problems(mtype: MappingType, error: Callable[[str, str], None]) -> None:
    """The errors of a journal type: one journal per pay run, DRAFT or POSTED, a rounding account with a code."""
    if mtype.grouping != model.GROUPING_RUN:
        error(
            "invalid_grouping",
            f'Type "{mtype.name}" makes manual journals: one per pay run (grouping "run"), '
            f'not per "{_shorten(mtype.grouping, 40)}".',
        )
    if mtype.status not in model.JOURNAL_STATUSES:
        error(
            "invalid_status",
            f'Type "{mtype.name}" has journal status "{_shorten(mtype.status, 40)}"; '
            f"use one of {', '.join(model.JOURNAL_STATUSES)}.",
        )
    if mtype.rounding_account is not None and not str(mtype.rounding_account).strip():
        error("invalid_rounding_account", f'Type "{mtype.name}" names an empty rounding account.')


def _line_problem(
    mtype: MappingType, pay_item: str, sign: str, seen_items: set[str] | None
) -> Problem | None:
    """The error of a mapping line that is not used: a wrong sign, or its pay item mapped before in the type."""
    if sign not in model.SIGNS:
        return Problem(
            ERROR,
            "invalid_sign",
            f'Type "{mtype.name}", pay item {pay_item}: sign "{sign}" is neither "+" nor "-".',
            pay_item=pay_item,
            type_name=mtype.name,
        )
    if seen_items is not None and pay_item in seen_items:
        return Problem(
            ERROR,
            "duplicate_pay_item",
            f'Pay item {pay_item} is mapped twice in type "{mtype.name}": '
            "keep one line per pay item (only the first one is used).",
            pay_item=pay_item,
            type_name=mtype.name,
        )
    return None


def pay_run_problems(pay_run: PayRun) -> list[Problem]:
    """Errors of the pay run's currency (not ISO 4217) and payment date (outside MIN_DATE..MAX_DATE of the model)."""
    problems = []
    if not is_iso_currency(pay_run.currency):
        problems.append(
            Problem(
                ERROR,
                "invalid_currency",
                f'Pay run {pay_run.reference}: currency "{pay_run.currency}" is not an ISO 4217 code '
                "(for example HKD or USD).",
            )
        )
    payment_date = pay_run.payment_date
    try:
        date_ok = model.MIN_DATE <= payment_date <= model.MAX_DATE
    except TypeError:  # not a date (a datetime does not compare with dates)
        date_ok = False
    if not date_ok or type(payment_date) is not date:
        problems.append(
            Problem(
                ERROR,
                "invalid_date",
                f"Pay run {pay_run.reference}: payment date {_shorten(payment_date, 40)} is not a date "
                f"from {model.MIN_DATE} to {model.MAX_DATE}.",
            )
        )
    return problems


def duplicate_employee(slip: Payslip, first_name: str) -> Problem:
    """The error of ``slip``, whose employee key an earlier payslip (of ``first_name``) has."""
    ekey = slip.employee_key
    return Problem(
        ERROR,
        "duplicate_employee",
        f"Employee key {ekey} appears on more than one payslip "
        f'("{first_name}" and "{slip.employee_name}"); each employee needs its own key.',
        employee_key=ekey,
    )


def checked_amount(slip: Payslip, code: str, value: object, problems: list[Problem]) -> Decimal | None:
    """``value`` as a Decimal Xero takes; None, with an error added to ``problems``, when it is not one."""
    ekey = slip.employee_key
    amount = _as_decimal(value)
    if amount is None:
        problems.append(
            Problem(
                ERROR,
                "invalid_amount",
                f"Employee {ekey} ({slip.employee_name}), pay item {code}: "
                f"amount {_shorten(repr(value))} is not a number.",
                pay_item=code,
                employee_key=ekey,
            )
        )
        return None
    if not -MAX_AMOUNT < amount < MAX_AMOUNT:
        problems.append(
            Problem(
                ERROR,
                "amount_out_of_range",
                f"Employee {ekey} ({slip.employee_name}), pay item {code}: "
                f"amount {_amount_text(amount)} is beyond what Xero takes "
                f"(less than {MAX_AMOUNT:,} either way).",
                pay_item=code,
                employee_key=ekey,
                amount=amount,
            )
        )
        return None
    return amount


def unmapped_problems(
    unmapped: dict[str, Decimal],
    names: dict[str, str],
    mapping: Mapping,
    document: str = model.DOCUMENT_BILL,
) -> list[Problem]:
    """One problem per pay item no type maps whose total is not zero (an error when all must be mapped).

    ``unmapped`` holds the pay items no type making ``document`` maps: those a type making the other
    document maps (a journal type's, when bills are built) are mapped all the same, and not reported.
    """
    problems = []
    severity = ERROR if mapping.require_all_mapped else WARNING
    mapped = {
        mline.pay_item for mtype in mapping.types if mtype.document != document for mline in mtype.lines
    }
    for code in sorted(unmapped):
        total = unmapped[code]
        if not total or code in mapping.ignore or code in mapped:
            continue
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
    return problems


def nothing_to_send(pay_run: PayRun, what: str = "bill") -> Problem:
    """The warning of a pay run that gives no ``what`` (bill, journal, or bill nor journal)."""
    if not pay_run.payslips:
        why = "has no payslips"
    else:
        why = f"gives no {what}: the pay items its types map all sum to zero, or none is mapped"
    return Problem(
        WARNING,
        "nothing_to_send",
        f"Pay run {pay_run.reference} {why}: nothing will be sent to Xero.",
    )


def number_shortened(mtype: MappingType, number: str, length: int) -> Problem:
    """The warning of a type whose bill numbers (``number`` one of them) would be ``length`` characters."""
    return Problem(
        WARNING,
        "number_shortened",
        f'Type "{mtype.name}": bill numbers such as "{_shorten(number, 100)}" would be '
        f"{length:,} characters; Xero allows {MAX_INVOICE_NUMBER}: they are shortened and end "
        "with a digest. A shorter pay run reference or type code keeps them readable.",
        type_name=mtype.name,
    )


def contact_name_cut(mtype: MappingType, ekey: str | None, number: str, contact_name: str) -> Problem:
    """The warning of bill ``number``, whose contact name is longer than Xero takes."""
    who = f'type "{mtype.name}"' if ekey is None else f"employee {ekey}"
    return Problem(
        WARNING,
        "contact_name_cut",
        f'Bill {number}: the contact name of {who} "{_shorten(contact_name)}" is '
        f"{len(contact_name):,} characters; Xero allows {MAX_CONTACT_NAME}: the Xero contact "
        f"is named with its first {MAX_CONTACT_NAME} characters.",
        type_name=mtype.name,
        employee_key=ekey,
    )


def bill_out_of_range(bill: Bill, largest: Decimal | None, net: Decimal) -> Problem | None:
    """The error of a bill with a line (``largest``) or a total (``net``) Xero cannot take, if any."""
    if largest is None and -MAX_AMOUNT < net < MAX_AMOUNT:
        return None
    what = f"a line of {largest:,}" if largest is not None else f"a total of {abs(net):,}"
    return Problem(
        ERROR,
        "amount_out_of_range",
        f"Bill {bill.invoice_number} ({bill.contact_name}) has {what}, beyond what Xero takes (less than "
        f"{MAX_AMOUNT:,}): check the payslips of the pay run.",
        type_name=bill.type_name,
        employee_key=bill.employee_key,
        amount=largest if largest is not None else net,
    )
