"""Turn a pay run and a mapping into Xero bills.

This is the only place where bill arithmetic lives: the command line and the
Odoo addon both call :func:`build_bills` and send what it returns.

Types that make manual journals (``document="journal"``) are :func:`payroll_xero.journals.build_journals`'s:
build_bills checks them with the whole mapping but makes nothing of them, and the pay items they map are
mapped (not reported as unmapped).

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
``invalid_document``   error     a type makes neither a bill nor a journal
``invalid_grouping``   error     a type's grouping is neither run nor employee (a journal
                                 type's is not run)
``invalid_status``     error     a type's bill (or journal) status is not one Xero takes
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
``nothing_to_send``    warning   the pay run gives no bill at all (and the mapping has no
                                 journal type)
=====================  ========  ====================================================
"""

import gc
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from .bill_problems import (
    bill_out_of_range,
    contact_name_cut,
    duplicate_numbers,
    limit_problems,
    mapping_problems,
    nothing_to_send,
    number_shortened,
    pay_run_problems,
    unmapped_problems,
)
from .bill_values import (
    ACCPAY,
    ACCPAYCREDIT,
    ERROR,
    LINE_AMOUNT_TYPES,
    MAX_CONTACT_NAME,
    MAX_CONTACT_NUMBER,
    MAX_DESCRIPTION,
    MAX_INVOICE_NUMBER,
    MAX_TRACKING_NAME,
    WARNING,
    Bill,
    BillLine,
    BuildResult,
    Problem,
    content_digest,
    invoice_number,
)
from .model import MAX_DATE, MAX_DUE_DAYS, MIN_DATE, Mapping, MappingType, PayRun
from .money import MAX_AMOUNT, is_iso_currency, quantum
from .sums import PaySums, group_order

# The values (bill_values), the checks (bill_problems) and every limit build_bills checks (MAX_AMOUNT from
# money, MAX_DUE_DAYS, MIN_DATE and MAX_DATE from model) can be imported from this module.
__all__ = [
    "ACCPAY",
    "ACCPAYCREDIT",
    "ERROR",
    "LINE_AMOUNT_TYPES",
    "MAX_AMOUNT",
    "MAX_CONTACT_NAME",
    "MAX_CONTACT_NUMBER",
    "MAX_DATE",
    "MAX_DESCRIPTION",
    "MAX_DUE_DAYS",
    "MAX_INVOICE_NUMBER",
    "MAX_TRACKING_NAME",
    "MIN_DATE",
    "WARNING",
    "Bill",
    "BillLine",
    "BuildResult",
    "Problem",
    "build_bills",
    "content_digest",
    "invoice_number",
    "limit_problems",
]


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
    problems, index = mapping_problems(mapping)
    problems.extend(pay_run_problems(pay_run))
    sums = PaySums(mapping, index)
    sums.add_pay_run(pay_run, problems)
    problems.extend(unmapped_problems(sums.unmapped, sums.names, mapping))
    rounding = pay_run.currency if is_iso_currency(pay_run.currency) else "XXX"
    bills = _Assembler(pay_run, mapping, sums, rounding, url, problems).bills()
    problems.extend(duplicate_numbers(bills))
    problems.extend(limit_problems(bills))
    if not bills and not any(t.is_journal for t in mapping.types):
        # A mapping with journal types says "nothing to send" from build_journals (or build_documents).
        problems.append(nothing_to_send(pay_run))
    return BuildResult(bills=tuple(bills), problems=tuple(problems))


def _due_date(payment_date: date, due_days: int) -> date:
    """``payment_date`` + ``due_days``; the payment date itself when that is no date (a problem says why)."""
    try:
        return payment_date + timedelta(days=due_days)
    except (OverflowError, TypeError, ValueError):
        return payment_date


class _Assembler:
    """One bill per accumulator of :class:`~payroll_xero.sums.PaySums`; lines in mapping order then tracking option order.

    Rounding is round_money's, with the currency's quantum computed once. Warnings about a type or a
    contact are given once each.
    """

    def __init__(self, pay_run, mapping, sums, currency, url, problems) -> None:
        self.pay_run, self.mapping, self.sums, self.url, self.problems = pay_run, mapping, sums, url, problems
        self.quantum = quantum(currency)
        self.shortened: set[int] = set()  # types whose bill numbers were shortened
        self.cut: set = set()  # employee keys, or type indexes, whose contact name was cut
        self.due_dates: dict[int, date] = {}  # type index -> due date, for types that make a bill
        # type index -> per line index: (account code, description, pay item, negate), filled when used
        self.line_info: list[list] = [[None] * len(t.lines) for t in mapping.types]

    def bills(self) -> list[Bill]:
        groups = self.sums.groups
        bills = []
        for gkey in sorted(groups, key=group_order):
            bill = self._bill(*gkey, groups[gkey])
            if bill is not None:
                bills.append(bill)
        return bills

    def _bill(self, t_idx: int, ekey: str | None, acc: dict) -> Bill | None:
        mtype = self.mapping.types[t_idx]
        lines, net, largest = self._lines(t_idx, mtype, acc)
        if not lines:
            return None
        doc_type = ACCPAY
        if net < 0:
            doc_type = ACCPAYCREDIT
            lines = [
                BillLine(ln.account_code, ln.description, -ln.amount, ln.pay_item, ln.tracking)
                for ln in lines
            ]
        pay_run = self.pay_run
        number = invoice_number(pay_run.reference, mtype.key, ekey)
        self._check_number(t_idx, mtype, ekey, number)
        contact_name, contact_number = self._contact(t_idx, mtype, ekey, number)
        due_date = self.due_dates.get(t_idx)
        if due_date is None:
            due_date = self.due_dates[t_idx] = _due_date(pay_run.payment_date, mtype.due_days)
        bill = Bill(
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
            url=self.url,
            type_key=mtype.key,
        )
        problem = bill_out_of_range(bill, largest, net)
        if problem is not None:
            self.problems.append(problem)
        return bill

    def _lines(
        self, t_idx: int, mtype: MappingType, acc: dict
    ) -> tuple[list[BillLine], Decimal, Decimal | None]:
        """The bill's non-zero lines, its total summed in line order, and a line amount Xero cannot take."""
        category = mtype.tracking_category
        infos = self.line_info[t_idx]
        quantum_, low, high = self.quantum, -MAX_AMOUNT, MAX_AMOUNT
        lines = []
        net = Decimal(0)
        largest = None
        for key in sorted(acc, key=group_order) if category else sorted(acc):
            l_idx, dept = key if category else (key, None)
            info = infos[l_idx]
            if info is None:
                info = infos[l_idx] = self._line_info(mtype, l_idx)
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
        return lines, net, largest

    def _line_info(self, mtype: MappingType, l_idx: int) -> tuple:
        mline = mtype.lines[l_idx]
        description = (
            (mline.description or "").strip() or self.sums.names.get(mline.pay_item) or mline.pay_item
        )
        return mline.account_code, description, mline.pay_item, mline.sign == "-"

    def _check_number(self, t_idx: int, mtype: MappingType, ekey: str | None, number: str) -> None:
        """Warn once per type when its bill numbers are longer than Xero takes (and so shortened)."""
        if t_idx in self.shortened:
            return
        length = len(self.pay_run.reference) + 1 + len(mtype.key) + (0 if ekey is None else 1 + len(ekey))
        if length > MAX_INVOICE_NUMBER:
            self.shortened.add(t_idx)
            self.problems.append(number_shortened(mtype, number, length))

    def _contact(
        self, t_idx: int, mtype: MappingType, ekey: str | None, number: str
    ) -> tuple[str, str | None]:
        """The bill's contact name (cut to what Xero takes, warned once per contact) and number."""
        if ekey is None:
            contact_name, contact_number = (mtype.contact_name or "").strip(), None
        else:
            contact_name, contact_number = self.sums.employees[ekey], ekey
        if len(contact_name) > MAX_CONTACT_NAME:
            whose = t_idx if ekey is None else ekey
            if whose not in self.cut:
                self.cut.add(whose)
                self.problems.append(contact_name_cut(mtype, ekey, number, contact_name))
            contact_name = contact_name[:MAX_CONTACT_NAME]
        return contact_name, contact_number
