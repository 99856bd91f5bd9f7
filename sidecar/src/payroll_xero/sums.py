"""The exact sums of a pay run's amounts, per future document: what bills and journals are built from."""

from __future__ import annotations

from decimal import Decimal

from .bill_problems import checked_amount, duplicate_employee
from .bill_values import Problem
from .model import GROUPING_EMPLOYEE, Mapping, PayRun
from .money import MAX_AMOUNT


def group_order(key: tuple) -> tuple:
    """Sort key of a document (type index, employee key) or of a tracked line (line index, option)."""
    return key[0], key[1] or ""


class PaySums:
    """The exact sums of a pay run's amounts, one accumulator per future bill or journal.

    ``groups``: (type index, employee key or None) -> exact sums by line index, or by (line index,
    department) when the type is tracked. Nested so that the per-line work allocates no key tuple:
    100k payslips x 30 lines stay a few seconds. ``unmapped``: pay item -> total of the pay items no
    type maps; ``names``: pay item -> its name; ``employees``: employee key -> name.
    """

    def __init__(self, mapping: Mapping, index: dict[str, list]) -> None:
        # A journal type makes one journal per pay run, whatever its (then refused) grouping says.
        per_employee = [t.grouping == GROUPING_EMPLOYEE and not t.is_journal for t in mapping.types]
        tracked = [bool(t.tracking_category) for t in mapping.types]
        # pay item code -> [(type index, line index, per employee, tracked)]
        self.targets_of = {
            code: [(t_idx, l_idx, per_employee[t_idx], tracked[t_idx]) for t_idx, l_idx in pairs]
            for code, pairs in index.items()
        }
        self.groups: dict[tuple, dict] = {}
        self.unmapped: dict[str, Decimal] = {}
        self.names: dict[str, str] = {}
        self.employees: dict[str, str] = {}

    def add_pay_run(self, pay_run: PayRun, problems: list[Problem]) -> None:
        employees = self.employees
        for slip in pay_run.payslips:
            ekey = slip.employee_key
            if ekey in employees:
                problems.append(duplicate_employee(slip, employees[ekey]))
            employees[ekey] = slip.employee_name
            self._add_payslip(slip, problems)

    def _add_payslip(self, slip, problems: list[Problem]) -> None:
        # The hot path: locals, no call per line but for amounts that need a careful look.
        ekey = slip.employee_key
        dept = slip.department or None
        groups, unmapped, names, get_targets = self.groups, self.unmapped, self.names, self.targets_of.get
        zero = Decimal(0)
        # A finite amount whose adjusted exponent is below MAX_AMOUNT's (a power of ten) is in range: one
        # method call instead of two comparisons; anything else takes the careful path.
        digits = MAX_AMOUNT.adjusted()
        slip_groups: dict[int, dict] = {}  # type index -> this payslip's accumulator
        for line in slip.lines:
            amount = line.amount
            if type(amount) is not Decimal or not (amount.is_finite() and amount.adjusted() < digits):
                amount = checked_amount(slip, line.code, amount, problems)
                if amount is None:
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
