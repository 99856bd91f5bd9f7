"""Synthetic pay runs and mappings at payroll scale, shared by the benchmarks.

Deterministic (seeded): the same arguments give the same pay run, so figures from
two machines or two commits describe the same work.
"""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

from payroll_xero.model import Mapping, MappingLine, MappingType, PayLine, PayRun, Payslip

# 30 pay items (accounts from the sandbox's seeded chart), as a Hong Kong payroll would print them: earnings, deductions, employer costs, totals.
EARNINGS = [
    ("BASIC", "Basic Salary", "477"),
    ("HOUSING", "Housing Allowance", "479"),
    ("TRANSPORT", "Transport Allowance", "479"),
    ("MEAL", "Meal Allowance", "479"),
    ("SHIFT", "Shift Allowance", "479"),
    ("OT", "Overtime", "480"),
    ("OT_HOLIDAY", "Holiday Overtime", "480"),
    ("COMMISSION", "Commission", "482"),
    ("BONUS", "Performance Bonus", "482"),
    ("DOUBLE_PAY", "Double Pay", "482"),
    ("ANNUAL_LEAVE", "Annual Leave Pay", "477"),
    ("SICK_LEAVE", "Sickness Allowance", "477"),
    ("MATERNITY", "Maternity Leave Pay", "477"),
    ("STATUTORY_HOL", "Statutory Holiday Pay", "477"),
    ("ACTING", "Acting Allowance", "479"),
    ("ON_CALL", "On-call Allowance", "479"),
    ("EDUCATION", "Education Allowance", "479"),
    ("PHONE", "Phone Allowance", "479"),
    ("REIMB", "Expense Reimbursement", "479"),
    ("BACK_PAY", "Back Pay", "477"),
]
DEDUCTIONS = [
    ("MPF_EE", "MPF Employee Contribution", "825"),
    ("MPF_VOL", "MPF Voluntary Contribution", "825"),
    ("MEDICAL", "Medical Plan Deduction", "826"),
    ("UNION", "Union Dues", "826"),
    ("LOAN", "Staff Loan Repayment", "826"),
    ("NO_PAY", "No-pay Leave", "477"),
]
EMPLOYER = [("MPF_ER", "MPF Employer Contribution", "478"), ("INSURANCE_ER", "Employer Insurance", None)]
TOTALS = [("GROSS", "Gross Pay"), ("NET", "Net Salary")]
PAY_ITEMS = [(c, n) for c, n, _a in EARNINGS + DEDUCTIONS + EMPLOYER] + TOTALS
assert len(PAY_ITEMS) == 30

DEPARTMENTS = [f"Dept {i:02d}" for i in range(1, 21)]
SCENARIOS = ("run", "employee", "run+dept")


def pay_run(n_payslips: int, lines: int = 30, seed: int = 7, reference: str = "PAY-2026-10") -> PayRun:
    """``n_payslips`` payslips of ``lines`` pay items each (amounts in HKD, 2 decimals, some negative)."""
    if not 1 <= lines <= len(PAY_ITEMS):
        raise ValueError(f"lines must be between 1 and {len(PAY_ITEMS)}")
    rng = random.Random(seed)
    items = PAY_ITEMS[:lines]
    negative = {c for c, _n, _a in DEDUCTIONS}
    slips = []
    for i in range(n_payslips):
        cents = [rng.randrange(1, 4_000_000) for _ in items]
        slips.append(
            Payslip(
                employee_key=f"E{i + 1:06d}",
                employee_name=f"Employee {i + 1:06d}",
                department=DEPARTMENTS[i % len(DEPARTMENTS)],
                lines=tuple(
                    PayLine(code, name, Decimal(-c if code in negative else c).scaleb(-2))
                    for (code, name), c in zip(items, cents, strict=True)
                ),
            )
        )
    return PayRun(
        reference=reference,
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
        payment_date=date(2026, 10, 31),
        currency="HKD",
        payslips=tuple(slips),
    )


def mapping(scenario: str) -> Mapping:
    """``run``: every type makes one bill per pay run; ``employee``: net pay is one bill per employee;
    ``run+dept``: per pay run, with the salary and MPF lines split by the Department tracking category."""
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {SCENARIOS}")
    salary_lines = tuple(MappingLine(c, a) for c, _n, a in EARNINGS) + tuple(
        MappingLine(c, a) for c, _n, a in DEDUCTIONS
    )
    tracking = "Department" if scenario == "run+dept" else None
    if scenario == "employee":
        salaries = MappingType("Net salaries", salary_lines, grouping="employee", code="NET")
    else:
        salaries = MappingType(
            "Salaries", salary_lines, contact_name="Payroll clearing", code="SAL", tracking_category=tracking
        )
    mpf = MappingType(
        "MPF",
        (MappingLine("MPF_EE", "825", "-"), MappingLine("MPF_ER", "478", "+")),
        contact_name="HSBC MPF Trustee",
        code="MPF",
        due_days=10,
        tracking_category=tracking,
    )
    medical = MappingType(
        "Medical plan", (MappingLine("MEDICAL", "826", "-"),), contact_name="Bupa Hong Kong", code="MED"
    )
    # INSURANCE_ER stays unmapped on purpose: one warning, as a real mapping often has.
    return Mapping(types=(salaries, mpf, medical), ignore=frozenset({"GROSS", "NET"}))
