"""build_journals: manual journals from a pay run and a mapping, always balanced or refused with a problem."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payroll_xero.bills import build_bills
from payroll_xero.journals import (
    MAX_ROUNDING_UNITS,
    Journal,
    JournalLine,
    UnbalancedJournal,
    build_documents,
    build_journals,
    key_of_narration,
    narration_has_key,
)
from payroll_xero.loaders import InputError, mapping_from_dict, pay_run_from_dict
from payroll_xero.model import Mapping, MappingLine, MappingType, PayLine, PayRun, Payslip

D = Decimal


def slip(key, *lines, department=None):
    return Payslip(key, f"Employee {key}", tuple(PayLine(c, c.title(), D(a)) for c, a in lines), department)


def run(*payslips, name=None, currency="HKD"):
    return PayRun(
        "PAY-2026-10",
        date(2026, 10, 1),
        date(2026, 10, 31),
        date(2026, 10, 31),
        currency,
        tuple(payslips),
        name=name,
    )


def jtype(*lines, name="Payroll journal", code="PJ", **kw):
    return MappingType(name, tuple(MappingLine(*line) for line in lines), code=code, document="journal", **kw)


# Basic salary and the employer's MPF are expenses; what is owed is credited to liabilities.
PAYROLL = (
    ("BASIC", "477", "+", "Wages"),
    ("MPF_ER", "478", "+", "MPF employer"),
    ("MPF_ER", "825", "-", "MPF payable (employer)"),
    ("MPF_EE", "825", "+", "MPF payable (employee)"),
    ("NET", "814", "-", "Net wages payable"),
)


def payslip(key="E1", basic="31000", mpf="1500", department=None):
    net = D(basic) - D(mpf)
    return slip(
        key,
        ("BASIC", basic),
        ("MPF_EE", f"-{mpf}"),
        ("MPF_ER", mpf),
        ("NET", str(net)),
        department=department,
    )


def test_journal_lines_are_xero_line_amounts_debits_positive_credits_negative():
    result = build_journals(run(payslip()), Mapping((jtype(*PAYROLL),)))
    assert result.ok, result.problems
    (journal,) = result.journals
    assert [(ln.account_code, ln.amount) for ln in journal.lines] == [
        ("477", D("31000.00")),
        ("478", D("1500.00")),
        ("825", D("-1500.00")),
        ("825", D("-1500.00")),
        ("814", D("-29500.00")),
    ]
    assert journal.debits == journal.credits == D("32500.00")
    assert sum(ln.amount for ln in journal.lines) == 0


def test_narration_names_the_batch_and_the_type_and_ends_with_the_stable_key():
    (journal,) = build_journals(run(payslip(), name="October 2026"), Mapping((jtype(*PAYROLL),))).journals
    assert journal.key == "PAY-2026-10/PJ"
    assert journal.narration == "October 2026 - Payroll journal [PAY-2026-10/PJ]"
    assert narration_has_key(journal.narration, journal.key)
    assert key_of_narration(journal.narration) == journal.key
    (unnamed,) = build_journals(run(payslip()), Mapping((jtype(*PAYROLL),))).journals
    assert unnamed.narration == "PAY-2026-10 - Payroll journal [PAY-2026-10/PJ]"


def test_journal_is_dated_on_the_payment_date_with_the_types_status_and_url():
    mapping = Mapping((jtype(*PAYROLL, status="POSTED"),))
    (journal,) = build_journals(run(payslip()), mapping, url="https://erp.example.com/batch/7").journals
    assert (journal.date, journal.status, journal.currency) == (date(2026, 10, 31), "POSTED", "HKD")
    assert journal.url == "https://erp.example.com/batch/7"


def test_an_unbalanced_journal_is_refused_with_the_pay_items_and_the_difference():
    mapping = Mapping((jtype(("BASIC", "477", "+"), ("NET", "814", "-")),))
    result = build_journals(run(payslip()), mapping)
    assert result.journals == ()
    (problem,) = [p for p in result.problems if p.code == "unbalanced_journal"]
    assert problem.is_error and not result.ok
    assert "debits 31,000.00 (pay items BASIC)" in problem.message
    assert "credits 29,500.00 (pay items NET)" in problem.message
    assert "differ by 1,500.00 (debits exceed credits)" in problem.message
    assert problem.amount == D("1500.00") and problem.type_name == "Payroll journal"


def _half_cents():
    # Balanced to the cent on the payslip, but each credit line rounds up: credits exceed debits by 0.01.
    return run(slip("E1", ("BASIC", "10.01"), ("NET", "5.005"), ("TAX", "5.005")))


HALVES = (("BASIC", "477", "+"), ("NET", "814", "-"), ("TAX", "826", "-"))


def test_rounding_account_takes_a_small_difference_on_one_visible_line():
    result = build_journals(_half_cents(), Mapping((jtype(*HALVES, rounding_account="869"),)))
    (journal,) = result.journals
    rounding = [ln for ln in journal.lines if ln.is_rounding]
    assert rounding == [journal.lines[-1]]
    (line,) = rounding
    assert (line.account_code, line.description, line.amount, line.tracking) == (
        "869",
        "Rounding",
        D("0.01"),
        (),
    )
    assert sum(ln.amount for ln in journal.lines) == 0 and journal.debits == D("10.02")
    (warning,) = [p for p in result.problems if p.code == "journal_rounding"]
    assert not warning.is_error and "debit of 0.01 to account 869" in warning.message and result.ok


def test_a_small_difference_without_rounding_account_is_refused_and_suggests_one():
    result = build_journals(_half_cents(), Mapping((jtype(*HALVES),)))
    assert result.journals == ()
    (problem,) = [p for p in result.problems if p.code == "unbalanced_journal"]
    assert (
        "pay items NET, TAX" in problem.message
        and "differ by 0.01 (credits exceed debits)" in problem.message
    )
    assert "name a rounding account" in problem.message and "0.05" in problem.message


def test_a_rounding_account_never_takes_more_than_five_minor_units():
    assert MAX_ROUNDING_UNITS == 5
    mapping = Mapping((jtype(("BASIC", "477", "+"), ("NET", "814", "-"), rounding_account="869"),))
    six_cents = run(slip("E1", ("BASIC", "100.06"), ("NET", "100.00")))
    result = build_journals(six_cents, mapping)
    assert result.journals == ()
    (problem,) = result.errors
    assert problem.code == "unbalanced_journal" and "at most 0.05" in problem.message
    five_yen = build_journals(run(slip("E1", ("BASIC", "105"), ("NET", "100")), currency="JPY"), mapping)
    (journal,) = five_yen.journals
    assert journal.rounding == D("-5")


def test_a_journal_value_cannot_be_unbalanced_nor_have_one_line():
    line = JournalLine("477", "Wages", D("10.00"), "BASIC")
    with pytest.raises(UnbalancedJournal):
        Journal("K", "N [K]", "T", date(2026, 10, 31), "HKD", "DRAFT", (line,))
    with pytest.raises(UnbalancedJournal, match=r"differ by 0\.01"):
        Journal(
            "K",
            "N [K]",
            "T",
            date(2026, 10, 31),
            "HKD",
            "DRAFT",
            (line, JournalLine("814", "Net", D("-9.99"))),
        )


def test_content_round_trips_and_a_tampered_payload_is_refused():
    (journal,) = build_journals(run(payslip()), Mapping((jtype(*PAYROLL),))).journals
    again = Journal.from_content(json.loads(json.dumps(journal.to_dict())))
    assert again.content_hash() == journal.content_hash()
    assert (again.type_name, again.type_key) == ("Payroll journal", "PJ")
    changed = journal.to_dict()
    changed["lines"][0]["amount"] = "31000.01"
    with pytest.raises(UnbalancedJournal):
        Journal.from_content(changed)
    assert dataclasses.replace(journal, url="https://x.example").content_hash() != journal.content_hash()


def test_build_bills_ignores_journal_types_and_does_not_report_their_pay_items_as_unmapped():
    bill_type = MappingType("MPF", (MappingLine("MPF_ER", "478"),), "Trustee", code="MPF")
    mapping = Mapping((bill_type, jtype(*PAYROLL)))
    bills = build_bills(run(payslip()), mapping)
    assert [b.invoice_number for b in bills.bills] == ["PAY-2026-10/MPF"]
    assert not [p for p in bills.problems if p.code in ("unmapped_pay_item", "nothing_to_send")]
    journals = build_journals(run(payslip()), mapping)
    assert [j.key for j in journals.journals] == ["PAY-2026-10/PJ"]
    assert not journals.problems


def test_build_documents_gives_bills_journals_and_each_problem_once():
    bill_type = MappingType("MPF", (MappingLine("MPF_ER", "478"),), "Trustee", code="MPF")
    pay_run = run(payslip(), slip("E2", ("BONUS", "10")))
    result = build_documents(pay_run, Mapping((bill_type, jtype(*PAYROLL))))
    assert len(result.bills) == 1 and len(result.journals) == 1
    assert [p.code for p in result.problems] == ["unmapped_pay_item"]
    nothing = build_documents(run(), Mapping((bill_type, jtype(*PAYROLL))))
    assert [p.code for p in nothing.problems] == ["nothing_to_send"]


def test_journal_type_settings_are_checked():
    mapping = Mapping(
        (
            jtype(*PAYROLL, status="AUTHORISED"),
            jtype(*PAYROLL, code="PJ2", grouping="employee"),
            MappingType("Odd", (MappingLine("BASIC", "477"),), "C", code="ODD", document="invoice"),
        )
    )
    codes = sorted(p.code for p in build_journals(run(payslip()), mapping).errors)
    assert codes == ["invalid_document", "invalid_grouping", "invalid_status"]


def test_a_tracked_journal_type_splits_its_lines_per_department():
    pay_run = run(payslip("E1", department="Sales"), payslip("E2", "20000", "1000", department="Finance"))
    (journal,) = build_journals(pay_run, Mapping((jtype(*PAYROLL, tracking_category="Department"),))).journals
    basic = [(ln.tracking, ln.amount) for ln in journal.lines if ln.pay_item == "BASIC"]
    assert basic == [
        ((("Department", "Finance"),), D("20000.00")),
        ((("Department", "Sales"),), D("31000.00")),
    ]
    assert journal.debits == journal.credits


def test_mapping_types_made_before_journals_are_bill_types():
    old = MappingType("Net", (MappingLine("NET", "814"),), None, "employee", "DRAFT", 0, None, "NET")
    assert old.document == "bill" and not old.is_journal and old.rounding_account is None


def test_loaders_read_journal_types_and_the_batch_name():
    mapping = mapping_from_dict(
        {
            "types": [
                {
                    "name": "Payroll journal",
                    "document": "journal",
                    "status": "posted",
                    "rounding_account": "869",
                    "lines": [
                        {"pay_item": "BASIC", "account": "477"},
                        {"pay_item": "NET", "account": "814", "sign": "-"},
                    ],
                }
            ]
        }
    )
    (mtype,) = mapping.types
    assert (mtype.document, mtype.status, mtype.rounding_account, mtype.contact_name) == (
        "journal",
        "POSTED",
        "869",
        None,
    )
    for bad, message in (
        ({"document": "journal", "grouping": "employee"}, "one journal per pay run"),
        ({"document": "journal", "status": "AUTHORISED"}, "DRAFT, POSTED"),
        ({"status": "POSTED", "contact": "C"}, "DRAFT, SUBMITTED, AUTHORISED"),
        ({"document": "memo"}, '"bill", "journal"'),
    ):
        raw = {"name": "T", "lines": [{"pay_item": "A", "account": "1"}], **bad}
        with pytest.raises(InputError, match=message):
            mapping_from_dict({"types": [raw]})
    pay_run = pay_run_from_dict(
        {
            "reference": "PAY-1",
            "name": "October",
            "period_start": "2026-10-01",
            "period_end": "2026-10-31",
            "payment_date": "2026-10-31",
            "currency": "HKD",
            "payslips": [],
        }
    )
    assert pay_run.display_name == "October"


# --------------------------------------------------------------------------- properties

CODES = ["BASIC", "OT", "MPF_EE", "MPF_ER", "NET"]
amount_st = st.decimals(min_value=-50000, max_value=50000, places=3, allow_nan=False, allow_infinity=False)
slips_st = st.lists(
    st.builds(
        lambda key, lines, dept: Payslip(key, key, tuple(PayLine(c, c, a) for c, a in lines), dept),
        st.text("ABCDEFGHIJ", min_size=1, max_size=4),
        st.lists(st.tuples(st.sampled_from(CODES), amount_st), max_size=6),
        st.sampled_from([None, "Sales", "Finance"]),
    ),
    max_size=8,
    unique_by=lambda s: s.employee_key,
)
lines_st = st.lists(
    st.tuples(st.sampled_from(CODES), st.sampled_from(["477", "478", "814", "825"]), st.sampled_from("+-")),
    min_size=1,
    max_size=7,
)
journal_types_st = st.builds(
    lambda lines, tracked, rounding: jtype(
        *lines, tracking_category="Department" if tracked else None, rounding_account=rounding
    ),
    lines_st,
    st.booleans(),
    st.sampled_from([None, "869"]),
)


@settings(max_examples=200, deadline=None)
@given(slips_st, journal_types_st, st.sampled_from(["HKD", "JPY", "KWD"]))
def test_every_journal_built_balances_or_is_refused_with_a_problem(payslips, journal_type, currency):
    pay_run = run(*payslips, currency=currency)
    result = build_journals(pay_run, Mapping((journal_type,)))
    for journal in result.journals:
        assert sum(line.amount for line in journal.lines) == 0
        assert len(journal.lines) >= 2 and journal.debits == journal.credits > 0
        rounding = [line for line in journal.lines if line.is_rounding]
        assert len(rounding) <= 1
        for line in rounding:
            assert journal_type.rounding_account == line.account_code
            assert abs(line.amount) <= D(1).scaleb(-{"HKD": 2, "JPY": 0, "KWD": 3}[currency]) * 5
    refused = [p for p in result.problems if p.code == "unbalanced_journal"]
    assert len(result.journals) + len(refused) <= 1
    if not result.journals and not refused:
        assert any(p.code == "nothing_to_send" for p in result.problems)


@settings(max_examples=150, deadline=None)
@given(slips_st, st.lists(st.sampled_from(CODES), min_size=1, max_size=5, unique=True), st.booleans())
def test_a_mapping_that_credits_each_debit_always_balances_without_rounding(payslips, codes, tracked):
    lines = [line for code in codes for line in ((code, "477", "+"), (code, "814", "-"))]
    mapping = Mapping((jtype(*lines, tracking_category="Department" if tracked else None),))
    result = build_journals(run(*payslips), mapping)
    assert result.ok, result.problems
    for journal in result.journals:
        assert not any(line.is_rounding for line in journal.lines)
        assert journal.debits == journal.credits


def test_a_journal_type_grouped_per_employee_is_refused_but_still_makes_one_journal():
    mapping = Mapping((jtype(*PAYROLL, grouping="employee"),))
    result = build_journals(run(payslip("E1"), payslip("E2")), mapping)
    assert [j.key for j in result.journals] == ["PAY-2026-10/PJ"]
    assert [p.code for p in result.errors] == ["invalid_grouping"]


def test_build_documents_reports_a_pay_run_problem_once():
    bill_type = MappingType("MPF", (MappingLine("MPF_ER", "478"),), "Trustee", code="MPF")
    result = build_documents(run(payslip(), currency="HKX"), Mapping((bill_type, jtype(*PAYROLL))))
    assert [p.code for p in result.problems] == ["invalid_currency"]


def test_a_journal_reads_like_a_bill_where_a_record_keeps_both():
    journal = Journal(
        key="PR1/PJ",
        narration="October - Payroll [PR1/PJ]",
        type_name="Payroll",
        date=date(2026, 10, 31),
        currency="HKD",
        status="DRAFT",
        lines=(
            JournalLine("477", "Wages", Decimal("10.50")),
            JournalLine("814", "Payable", Decimal("-10.50")),
        ),
    )
    assert journal.invoice_number == "PR1/PJ"
    assert journal.total == Decimal("10.50")
    assert journal.doc_type == "MANUALJOURNAL"
    assert (journal.contact_name, journal.employee_key, journal.due_date, journal.is_credit_note) == (
        None,
        None,
        None,
        False,
    )
    assert "invoice_number" not in journal.content() and "doc_type" not in journal.content()
