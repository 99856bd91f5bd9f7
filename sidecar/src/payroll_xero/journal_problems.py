"""The checks of journal building: balance, rounding, amounts and Xero's field limits.

Every check returns :class:`~payroll_xero.bill_values.Problem` values, never raises; the codes are listed
in :mod:`payroll_xero.journals`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from .bill_values import ERROR, MAX_DESCRIPTION, MAX_TRACKING_NAME, WARNING, Problem
from .journal_values import MAX_ROUNDING_UNITS, Journal, JournalLine
from .model import MappingType
from .money import MAX_AMOUNT


def _money(amount: Decimal) -> str:
    return f"{amount:,}"


def _items(lines: Iterable[JournalLine]) -> str:
    items = list(dict.fromkeys(line.pay_item for line in lines if line.pay_item))
    return ", ".join(items) if items else "none"


def unbalanced_journal(
    mtype: MappingType, key: str, lines: Sequence[JournalLine], difference: Decimal, tolerance: Decimal
) -> Problem:
    """The error of the journal ``key`` of ``mtype``, whose debits and credits differ by ``difference``.

    Names the pay items on each side and the difference; says what a rounding account would take (at
    most ``tolerance``) when the difference is that small, or that it is too large for one.
    """
    debits = [line for line in lines if line.amount > 0]
    credits = [line for line in lines if line.amount < 0]
    debit_total = sum((line.amount for line in debits), Decimal(0))
    credit_total = -sum((line.amount for line in credits), Decimal(0))
    larger = "debits exceed credits" if difference > 0 else "credits exceed debits"
    account = (mtype.rounding_account or "").strip()
    if account:
        advice = (
            f"the rounding account {account} takes a difference of at most {_money(tolerance)} "
            f"({MAX_ROUNDING_UNITS} minor units) only: check the type's lines and signs"
        )
    elif abs(difference) <= tolerance:
        advice = (
            "check the type's lines and signs, or name a rounding account on the type to take "
            f"differences of at most {_money(tolerance)}"
        )
    else:
        advice = "check the type's lines and signs: every debit needs its credit"
    return Problem(
        ERROR,
        "unbalanced_journal",
        f'Journal {key} (type "{mtype.name}") does not balance: debits {_money(debit_total)} '
        f"(pay items {_items(debits)}) and credits {_money(credit_total)} (pay items {_items(credits)}) "
        f"differ by {_money(abs(difference))} ({larger}); {advice}. It is not sent.",
        type_name=mtype.name,
        amount=difference,
    )


def rounding_added(mtype: MappingType, key: str, line: JournalLine) -> Problem:
    """The warning of the journal ``key``, balanced by its rounding ``line``."""
    side = "debit" if line.amount > 0 else "credit"
    return Problem(
        WARNING,
        "journal_rounding",
        f'Journal {key} (type "{mtype.name}"): debits and credits differed by {_money(abs(line.amount))} '
        f"after rounding each line; a rounding line ({side} of {_money(abs(line.amount))} to account "
        f"{line.account_code}) balances it.",
        type_name=mtype.name,
        amount=line.amount,
    )


def journal_out_of_range(journal: Journal) -> Problem | None:
    """The error of a journal with a line or a total Xero cannot take, if any."""
    largest = max((abs(line.amount) for line in journal.lines), default=Decimal(0))
    if largest < MAX_AMOUNT and journal.debits < MAX_AMOUNT:
        return None
    what = f"a line of {largest:,}" if largest >= MAX_AMOUNT else f"debits of {journal.debits:,}"
    return Problem(
        ERROR,
        "amount_out_of_range",
        f"Journal {journal.key} has {what}, beyond what Xero takes (less than {MAX_AMOUNT:,}): "
        "check the payslips of the pay run.",
        type_name=journal.type_name,
        amount=largest if largest >= MAX_AMOUNT else journal.debits,
    )


def journal_limit_problems(journals: Iterable[Journal]) -> list[Problem]:
    """``too_long`` errors for journal line descriptions and tracking names longer than Xero takes."""
    problems: list[Problem] = []
    seen: set[tuple[str, str, str]] = set()
    for journal in journals:
        for line in journal.lines:
            values = [("description", line.description, MAX_DESCRIPTION)]
            for category, option in line.tracking:
                values += [
                    ("tracking category", category, MAX_TRACKING_NAME),
                    ("tracking option", option, MAX_TRACKING_NAME),
                ]
            for field, value, limit in values:
                if len(value) <= limit or (journal.key, field, value) in seen:
                    continue
                seen.add((journal.key, field, value))
                shown = value if len(value) <= 60 else f"{value[:59]}\u2026"
                problems.append(
                    Problem(
                        ERROR,
                        "too_long",
                        f'Journal {journal.key}: line {line.pay_item or "rounding"}: the {field} "{shown}" '
                        f"is {len(value):,} characters; Xero allows {limit}.",
                        pay_item=line.pay_item or None,
                        type_name=journal.type_name,
                    )
                )
    return problems
