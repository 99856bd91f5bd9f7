"""Turn a pay run and a mapping into Xero manual journals.

The journal twin of :mod:`payroll_xero.bills`, from the same inputs: the mapping's types whose ``document``
is ``journal`` make one manual journal each per pay run (bill types are :func:`build_bills`'s, and the pay
items they map are mapped). :func:`build_documents` builds both and gives the problems once.

Rules, in short:

* each mapping line sums its pay item over the payslips (per department when the type has a tracking
  category) exactly in ``Decimal``, rounds once to the currency's minor unit and applies its sign; the
  result is Xero's signed ``LineAmount``: positive a debit, negative a credit. A pay item may be on
  several lines of a type (the employer's MPF debited to an expense and credited to a liability);
* zero lines are dropped, a journal without lines is not produced;
* the journal must balance to the minor unit. When the rounded lines differ by at most
  :data:`MAX_ROUNDING_UNITS` minor units (0.05 in HKD) and the type names a ``rounding_account``, one
  visible line to that account takes the difference (and a ``journal_rounding`` warning says so);
  any other difference is an ``unbalanced_journal`` error naming the pay items of each side and the
  difference, and that journal is not built: a :class:`Journal` cannot be unbalanced;
* the narration is ``"<batch name> - <type name> [<key>]"``, the key ``<pay run reference>/<type code>``
  (stable: the client finds the journal by it before creating one); the date is the payment date; the
  status the type's (``DRAFT`` or ``POSTED``).

Problem codes besides those of :mod:`payroll_xero.bills` (errors block sending, warnings inform):

============================  ========  ============================================================
code                          severity  meaning
============================  ========  ============================================================
``unbalanced_journal``        error     debits and credits differ (more than a rounding account takes)
``journal_rounding``          warning   a rounding line balances the journal
``invalid_rounding_account``  error     a journal type's rounding account is empty
``invalid_grouping``          error     a journal type's grouping is not ``run``
``invalid_status``            error     a journal type's status is neither DRAFT nor POSTED
``nothing_to_send``           warning   the mapping has journal types and the pay run gives no journal
============================  ========  ============================================================
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .bill_problems import mapping_problems, nothing_to_send, pay_run_problems, unmapped_problems
from .bill_values import Bill, Problem
from .bills import build_bills
from .journal_problems import journal_limit_problems, journal_out_of_range, rounding_added, unbalanced_journal
from .journal_values import (
    JOURNAL_LINE_AMOUNT_TYPES,
    MAX_ROUNDING_UNITS,
    ROUNDING_DESCRIPTION,
    Journal,
    JournalLine,
    JournalResult,
    UnbalancedJournal,
    journal_key,
    journal_narration,
    key_of_narration,
    narration_has_key,
)
from .model import DOCUMENT_JOURNAL, Mapping, MappingType, PayRun
from .money import is_iso_currency, quantum
from .sums import PaySums, group_order

__all__ = [
    "JOURNAL_LINE_AMOUNT_TYPES",
    "MAX_ROUNDING_UNITS",
    "ROUNDING_DESCRIPTION",
    "DocumentsResult",
    "Journal",
    "JournalLine",
    "JournalResult",
    "UnbalancedJournal",
    "build_documents",
    "build_journals",
    "journal_key",
    "journal_narration",
    "key_of_narration",
    "narration_has_key",
]


def build_journals(pay_run: PayRun, mapping: Mapping, url: str | None = None) -> JournalResult:
    """Build the manual journals of ``pay_run`` under the journal types of ``mapping``.

    ``url``, when given, is set on every journal (Xero shows it as a link back to the source document).
    """
    enabled = gc.isenabled()
    gc.disable()  # as build_bills: many small objects, no cycle
    try:
        return _build_journals(pay_run, mapping, url)
    finally:
        if enabled:
            gc.enable()


def _build_journals(pay_run: PayRun, mapping: Mapping, url: str | None) -> JournalResult:
    problems, index = mapping_problems(mapping, DOCUMENT_JOURNAL)
    problems.extend(pay_run_problems(pay_run))
    sums = PaySums(mapping, index)
    sums.add_pay_run(pay_run, problems)
    problems.extend(unmapped_problems(sums.unmapped, sums.names, mapping, DOCUMENT_JOURNAL))
    currency = pay_run.currency if is_iso_currency(pay_run.currency) else "XXX"
    maker = _JournalMaker(pay_run, mapping, sums, quantum(currency), url, problems)
    journals = []
    for gkey in sorted(sums.groups, key=group_order):
        journal = maker.journal(gkey[0], sums.groups[gkey])
        if journal is not None:
            journals.append(journal)
    problems.extend(journal_limit_problems(journals))
    if not journals and any(t.is_journal for t in mapping.types):
        problems.append(nothing_to_send(pay_run, "journal"))
    return JournalResult(journals=tuple(journals), problems=tuple(problems))


class _JournalMaker:
    """One journal per accumulator of :class:`~payroll_xero.sums.PaySums` (journal types: one per run)."""

    def __init__(self, pay_run, mapping, sums, quantum_, url, problems) -> None:
        self.pay_run, self.mapping, self.sums = pay_run, mapping, sums
        self.quantum, self.url, self.problems = quantum_, url, problems

    def journal(self, t_idx: int, acc: dict) -> Journal | None:
        mtype = self.mapping.types[t_idx]
        lines = self._lines(mtype, acc)
        if not lines:
            return None
        key = journal_key(self.pay_run.reference, mtype.key)
        difference = sum((line.amount for line in lines), Decimal(0))
        if difference:
            tolerance = self.quantum * MAX_ROUNDING_UNITS
            account = (mtype.rounding_account or "").strip()
            if not account or abs(difference) > tolerance:
                self.problems.append(unbalanced_journal(mtype, key, lines, difference, tolerance))
                return None
            rounding = JournalLine(account, ROUNDING_DESCRIPTION, -difference, "", (), True)
            lines.append(rounding)
            self.problems.append(rounding_added(mtype, key, rounding))
        journal = Journal(
            key=key,
            narration=journal_narration(self.pay_run.display_name, mtype.name, key),
            type_name=mtype.name,
            date=self.pay_run.payment_date,
            currency=self.pay_run.currency,
            status=mtype.status,
            lines=tuple(lines),
            url=self.url,
            type_key=mtype.key,
        )
        problem = journal_out_of_range(journal)
        if problem is not None:
            self.problems.append(problem)
        return journal

    def _lines(self, mtype: MappingType, acc: dict) -> list[JournalLine]:
        """The journal's non-zero lines, in mapping order then tracking option order."""
        category = mtype.tracking_category
        lines = []
        for key in sorted(acc, key=group_order) if category else sorted(acc):
            l_idx, dept = key if category else (key, None)
            mline = mtype.lines[l_idx]
            amount = acc[key].quantize(self.quantum, rounding=ROUND_HALF_UP)
            if mline.sign == "-":
                amount = -amount
            if not amount:
                continue
            description = (
                (mline.description or "").strip() or self.sums.names.get(mline.pay_item) or mline.pay_item
            )
            tracking = ((category, dept),) if dept and category else ()
            lines.append(JournalLine(mline.account_code, description, amount, mline.pay_item, tracking))
        return lines


@dataclass(frozen=True, slots=True)
class DocumentsResult:
    """Bills and journals of one pay run, and the problems found once (see :func:`build_documents`)."""

    bills: tuple[Bill, ...]
    journals: tuple[Journal, ...]
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.is_error)

    @property
    def ok(self) -> bool:
        return not self.errors


def build_documents(pay_run: PayRun, mapping: Mapping, url: str | None = None) -> DocumentsResult:
    """:func:`build_bills` and :func:`build_journals` of one pay run and mapping, their problems given once
    (a mapping or pay run problem both report is listed once; "nothing to send" only when the run gives
    neither a bill nor a journal)."""
    bills = build_bills(pay_run, mapping, url)
    journals = build_journals(pay_run, mapping, url)
    problems = [p for p in (*bills.problems, *journals.problems) if p.code != "nothing_to_send"]
    if not bills.bills and not journals.journals:
        what = "bill nor journal" if any(t.is_journal for t in mapping.types) else "bill"
        problems.append(nothing_to_send(pay_run, what))
    return DocumentsResult(
        bills=bills.bills, journals=journals.journals, problems=tuple(dict.fromkeys(problems))
    )
