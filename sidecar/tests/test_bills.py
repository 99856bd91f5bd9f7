"""build_bills: every rule of turning a pay run and a mapping into bills."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from payroll_xero.bills import ACCPAY, ACCPAYCREDIT, Bill, build_bills, content_digest, invoice_number
from payroll_xero.model import Mapping, MappingLine, MappingType, PayLine, PayRun, Payslip

D = Decimal


def slip(key, *lines, name=None, department=None):
    return Payslip(
        employee_key=key,
        employee_name=name or f"Employee {key}",
        department=department,
        lines=tuple(PayLine(code, code.title(), D(amount)) for code, amount in lines),
    )


def run(*payslips, currency="HKD", reference="PR-1"):
    return PayRun(
        reference=reference,
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
        payment_date=date(2026, 10, 31),
        currency=currency,
        payslips=tuple(payslips),
    )


def mtype(name, *lines, grouping="run", contact="Trustee", **kw):
    return MappingType(
        name=name,
        lines=tuple(MappingLine(*line) for line in lines),
        contact_name=contact if grouping == "run" else None,
        grouping=grouping,
        **kw,
    )


def test_run_grouping_sums_each_pay_item_over_all_payslips():
    pay_run = run(slip("E1", ("BASIC", "100.10"), ("OT", "5")), slip("E2", ("BASIC", "200.20")))
    result = build_bills(pay_run, Mapping((mtype("Wages", ("BASIC", "477"), ("OT", "480")),)))
    assert result.ok
    (bill,) = result.bills
    assert [(line.account_code, line.amount) for line in bill.lines] == [
        ("477", D("300.30")),
        ("480", D("5.00")),
    ]
    assert bill.total == D("305.30")
    assert bill.doc_type == ACCPAY
    assert bill.contact_name == "Trustee" and bill.contact_number is None


def test_employee_grouping_makes_one_bill_per_employee_with_employee_as_contact():
    pay_run = run(slip("E2", ("BASIC", "200"), name="Wong"), slip("E1", ("BASIC", "100"), name="Chan"))
    result = build_bills(pay_run, Mapping((mtype("Net", ("BASIC", "477"), grouping="employee", code="NET"),)))
    assert [(b.contact_name, b.contact_number, b.total) for b in result.bills] == [
        ("Chan", "E1", D("100.00")),
        ("Wong", "E2", D("200.00")),
    ]
    assert [b.invoice_number for b in result.bills] == ["PR-1/NET/E1", "PR-1/NET/E2"]


def test_minus_sign_negates_the_sum_and_description_defaults_to_pay_item_name():
    pay_run = run(slip("E1", ("MPF_EE", "-1500"), ("MPF_ER", "1500")))
    mapping = Mapping((mtype("MPF", ("MPF_EE", "825", "-"), ("MPF_ER", "478", "+", "Employer share")),))
    (bill,) = build_bills(pay_run, mapping).bills
    assert [(line.description, line.amount) for line in bill.lines] == [
        ("Mpf_Ee", D("1500.00")),
        ("Employer share", D("1500.00")),
    ]


def test_zero_lines_are_dropped_and_bill_without_lines_is_not_produced():
    pay_run = run(slip("E1", ("BASIC", "100"), ("OT", "0")), slip("E2", ("BASIC", "-100")))
    mapping = Mapping((mtype("A", ("BASIC", "477")), mtype("B", ("OT", "480"))))
    result = build_bills(pay_run, mapping)
    assert result.bills == ()
    assert result.ok


def test_negative_total_becomes_supplier_credit_note_with_absolute_amounts():
    pay_run = run(slip("E1", ("BASIC", "-300"), ("OT", "100")))
    mapping = Mapping((mtype("Refund", ("BASIC", "477"), ("OT", "480")),))
    (bill,) = build_bills(pay_run, mapping).bills
    assert bill.doc_type == ACCPAYCREDIT and bill.is_credit_note
    assert [line.amount for line in bill.lines] == [D("300.00"), D("-100.00")]
    assert bill.total == D("200.00")


def test_rounding_happens_once_on_the_exact_sum():
    # Three employees of 0.005 each: rounding each first would give 0.03, once gives 0.02 (0.015 -> 0.02).
    pay_run = run(*(slip(f"E{i}", ("X", "0.005")) for i in range(3)))
    (bill,) = build_bills(pay_run, Mapping((mtype("T", ("X", "600")),))).bills
    assert bill.lines[0].amount == D("0.02")


def test_amounts_round_to_the_currency_minor_unit():
    pay_run = run(slip("E1", ("X", "1000.5")), currency="JPY")
    (bill,) = build_bills(pay_run, Mapping((mtype("T", ("X", "600")),))).bills
    assert bill.lines[0].amount == D("1001")
    assert bill.currency == "JPY"


def test_tracking_category_splits_lines_per_department():
    pay_run = run(
        slip("E1", ("BASIC", "100"), department="Sales"),
        slip("E2", ("BASIC", "50"), department="Finance"),
        slip("E3", ("BASIC", "25"), department="Sales"),
        slip("E4", ("BASIC", "10")),
    )
    mapping = Mapping((mtype("T", ("BASIC", "477"), tracking_category="Department"),))
    (bill,) = build_bills(pay_run, mapping).bills
    assert [(line.tracking, line.amount) for line in bill.lines] == [
        ((), D("10.00")),
        ((("Department", "Finance"),), D("50.00")),
        ((("Department", "Sales"),), D("125.00")),
    ]


def test_dates_status_and_due_offset_come_from_pay_run_and_type():
    pay_run = run(slip("E1", ("BASIC", "100")))
    mapping = Mapping((mtype("T", ("BASIC", "477"), status="AUTHORISED", due_days=10),))
    (bill,) = build_bills(pay_run, mapping, url="https://odoo.example/rec/1").bills
    assert bill.date == date(2026, 10, 31)
    assert bill.due_date == date(2026, 11, 10)
    assert bill.status == "AUTHORISED"
    assert bill.url == "https://odoo.example/rec/1"
    assert bill.line_amount_types == "NoTax"


def test_same_pay_item_may_feed_two_types():
    pay_run = run(slip("E1", ("BASIC", "1000"), ("MPF_EE", "-50")))
    mapping = Mapping(
        (
            mtype("Net", ("BASIC", "477"), ("MPF_EE", "825"), grouping="employee"),
            mtype("MPF", ("MPF_EE", "825", "-")),
        )
    )
    net, mpf = build_bills(pay_run, mapping).bills
    assert net.total == D("950.00")
    assert mpf.total == D("50.00")


def test_unmapped_pay_items_are_listed_with_totals_as_warnings():
    pay_run = run(slip("E1", ("BASIC", "100"), ("BONUS", "7.5")), slip("E2", ("BONUS", "2.5"), ("NET", "9")))
    mapping = Mapping((mtype("T", ("BASIC", "477")),), ignore=frozenset({"NET"}))
    result = build_bills(pay_run, mapping)
    assert result.ok
    (problem,) = result.problems
    assert (problem.code, problem.pay_item, problem.amount, problem.severity) == (
        "unmapped_pay_item",
        "BONUS",
        D("10.0"),
        "warning",
    )
    assert "BONUS" in problem.message and "10.0" in problem.message


def test_require_all_mapped_turns_unmapped_pay_items_into_errors():
    pay_run = run(slip("E1", ("BASIC", "100"), ("BONUS", "7")))
    result = build_bills(pay_run, Mapping((mtype("T", ("BASIC", "477")),), require_all_mapped=True))
    assert not result.ok
    assert [p.pay_item for p in result.errors] == ["BONUS"]


def test_unmapped_pay_item_summing_to_zero_is_not_reported():
    pay_run = run(slip("E1", ("BASIC", "100"), ("ADJ", "5")), slip("E2", ("ADJ", "-5")))
    assert build_bills(pay_run, Mapping((mtype("T", ("BASIC", "477")),))).problems == ()


def test_pay_item_mapped_twice_in_one_type_is_an_error_and_counted_once():
    pay_run = run(slip("E1", ("BASIC", "100")))
    result = build_bills(pay_run, Mapping((mtype("T", ("BASIC", "477"), ("BASIC", "478")),)))
    assert [p.code for p in result.errors] == ["duplicate_pay_item"]
    assert 'mapped twice in type "T"' in result.errors[0].message
    assert result.bills[0].total == D("100.00")


def test_amount_that_is_not_a_number_is_reported_with_employee_and_pay_item():
    bad = Payslip("E1", "Chan", (PayLine("BASIC", "Basic", "12,5a"), PayLine("OT", "OT", D("5"))))
    result = build_bills(run(bad), Mapping((mtype("T", ("BASIC", "477"), ("OT", "480")),)))
    (error,) = result.errors
    assert error.code == "invalid_amount"
    assert "E1" in error.message and "BASIC" in error.message and "12,5a" in error.message
    assert result.bills[0].total == D("5.00")


def test_nan_and_infinite_amounts_are_not_numbers():
    slips = [
        Payslip("E1", "A", (PayLine("X", "X", D("NaN")),)),
        Payslip("E2", "B", (PayLine("X", "X", D("Inf")),)),
    ]
    result = build_bills(run(*slips), Mapping((mtype("T", ("X", "477")),)))
    assert [p.code for p in result.errors] == ["invalid_amount", "invalid_amount"]


def test_currency_that_is_not_iso_4217_is_an_error():
    result = build_bills(run(slip("E1", ("X", "1")), currency="HKX"), Mapping((mtype("T", ("X", "477")),)))
    assert [p.code for p in result.errors] == ["invalid_currency"]
    assert "HKX" in result.errors[0].message


def test_run_type_without_contact_and_duplicate_type_codes_are_errors():
    mapping = Mapping(
        (
            MappingType("A", (MappingLine("X", "477"),), contact_name=None),
            MappingType("B", (MappingLine("Y", "477"),), contact_name="C", code="a"),
        )
    )
    result = build_bills(run(slip("E1", ("X", "1"))), mapping)
    assert {p.code for p in result.errors} == {"missing_contact", "duplicate_type"}


def test_duplicate_employee_key_is_an_error():
    result = build_bills(
        run(slip("E1", ("X", "1")), slip("E1", ("X", "2"))), Mapping((mtype("T", ("X", "4")),))
    )
    assert [p.code for p in result.errors] == ["duplicate_employee"]


def test_invoice_number_is_stable_unique_and_bounded():
    assert invoice_number("PR-1", "MPF") == "PR-1/MPF"
    assert invoice_number("PR-1", "NET", "E7") == "PR-1/NET/E7"
    long_a = invoice_number("R" * 300, "T")
    long_b = invoice_number("R" * 299 + "S", "T")
    assert len(long_a) == 255 and len(long_b) == 255 and long_a != long_b
    assert long_a == invoice_number("R" * 300, "T")


def test_content_hash_changes_with_content_only():
    pay_run = run(slip("E1", ("X", "1")))
    mapping = Mapping((mtype("T", ("X", "477")),))
    first = build_bills(pay_run, mapping).bills[0]
    again = build_bills(pay_run, mapping).bills[0]
    changed = build_bills(run(slip("E1", ("X", "2"))), mapping).bills[0]
    assert first.content_hash() == again.content_hash() != changed.content_hash()


def test_bill_comes_back_from_its_stored_content_with_the_same_hash():
    pay_run = run(
        slip("E1", ("BASIC", "-300"), ("OT", "100"), department="Sales"),
        slip("E2", ("BASIC", "50"), department="Finance"),
    )
    mapping = Mapping((mtype("T", ("BASIC", "477"), ("OT", "480"), tracking_category="Department"),))
    (bill,) = build_bills(pay_run, mapping, url="https://odoo.example/r/1").bills
    assert bill.is_credit_note
    again = Bill.from_content(bill.content(), type_name="T", pay_items=[ln.pay_item for ln in bill.lines])
    assert again == bill
    assert again.content_hash() == bill.content_hash()


def test_bill_carries_its_mapping_type_key_outside_its_content_and_hash():
    pay_run = run(slip("E1", ("BASIC", "100"), ("OT", "5")))
    mapping = Mapping(
        (
            mtype("Wages", ("BASIC", "477"), code="WAGE", grouping="employee"),
            mtype("Overtime", ("OT", "480")),  # no code: the key is the name
        )
    )
    wages, overtime = build_bills(pay_run, mapping).bills
    assert (wages.type_key, overtime.type_key) == ("WAGE", "Overtime")
    assert "type_key" not in wages.content() and "type_key" not in wages.content_json()
    # Not part of the hash nor of the bill's identity.
    untyped = Bill.from_content(wages.content(), type_name="Wages", pay_items=["BASIC"])
    assert untyped.type_key is None
    assert untyped == wages and untyped.content_hash() == wages.content_hash()
    # Carried through the dict / JSON round trip; older payloads without it give None.
    data = json.loads(json.dumps(wages.to_dict()))
    assert data["type_key"] == "WAGE" and data["type_name"] == "Wages"
    again = Bill.from_content(data, pay_items=["BASIC"])
    assert (again.type_key, again.type_name) == ("WAGE", "Wages")
    assert again.content_hash() == wages.content_hash()
    assert Bill.from_content(data, type_key="OTHER").type_key == "OTHER"
    assert Bill.from_content(wages.content()).type_name == ""


def test_stored_content_json_gives_the_content_back_and_the_same_hash_as_before():
    (bill,) = build_bills(
        run(slip("E1", ("BASIC", "1234.5"), name='Chan "Tai" Man\tÜ')),
        Mapping((mtype("T", ("BASIC", "477"), grouping="employee"),)),
        url="https://odoo.example/r/1",
    ).bills
    raw = bill.content_json()
    assert json.loads(raw) == bill.content()
    # The hash of records stored by earlier versions: sha256 of the sorted, compact JSON of the content.
    expected = hashlib.sha256(json.dumps(bill.content(), sort_keys=True, separators=(",", ":")).encode())
    assert bill.content_hash() == content_digest(raw) == expected.hexdigest()


# --- properties -------------------------------------------------------------------------------

CODES = ["BASIC", "HOUSING", "OT", "MPF_EE", "MPF_ER", "BONUS"]
amounts = st.decimals(min_value=D("-100000"), max_value=D("100000"), places=3, allow_nan=False)
lines_st = st.lists(st.tuples(st.sampled_from(CODES), amounts), max_size=8)
slips_st = st.lists(
    st.tuples(lines_st, st.sampled_from([None, "Sales", "Ops"])), min_size=1, max_size=12
).map(
    lambda raw: tuple(
        Payslip(f"E{i}", f"Emp {i}", tuple(PayLine(c, c, a) for c, a in lines), dept)
        for i, (lines, dept) in enumerate(raw)
    )
)
mapping_st = st.builds(
    lambda signs, grouping, tracking: Mapping(
        (
            MappingType(
                "T",
                tuple(
                    MappingLine(code, f"A{n}", sign)
                    for n, (code, sign) in enumerate(zip(CODES[:4], signs, strict=True))
                ),
                contact_name="C",
                grouping=grouping,
                tracking_category="Department" if tracking else None,
            ),
            MappingType("U", (MappingLine("MPF_ER", "478", "+"), MappingLine("MPF_EE", "825", "-")), "C"),
        )
    ),
    st.lists(st.sampled_from("+-"), min_size=4, max_size=4),
    st.sampled_from(["run", "employee"]),
    st.booleans(),
)


def _signed(bill):
    return -bill.total if bill.is_credit_note else bill.total


def _exact_expected(payslips, mapping, type_index, employee_key=None):
    total = D(0)
    for mline in mapping.types[type_index].lines:
        factor = -1 if mline.sign == "-" else 1
        for s in payslips:
            if employee_key is None or s.employee_key == employee_key:
                total += factor * sum((ln.amount for ln in s.lines if ln.code == mline.pay_item), D(0))
    return total


@settings(max_examples=150, deadline=None)
@given(slips_st, mapping_st)
def test_bill_totals_equal_signed_sums_within_half_a_minor_unit_per_line(payslips, mapping):
    result = build_bills(run(*payslips), mapping)
    for t_idx, mtype_ in enumerate(mapping.types):
        bills = [b for b in result.bills if b.type_name == mtype_.name]
        for bill in bills:
            assert all(line.amount and line.amount == line.amount.quantize(D("0.01")) for line in bill.lines)
            if mtype_.grouping == "employee":
                exact = _exact_expected(payslips, mapping, t_idx, bill.employee_key)
                assert abs(_signed(bill) - exact) <= D("0.005") * _groups(payslips, mtype_, bill.employee_key)
        # Over the whole type, dropped (rounded-to-zero) lines included, the drift stays within half a
        # cent per summed group.
        produced = sum((_signed(b) for b in bills), D(0))
        assert abs(produced - _exact_expected(payslips, mapping, t_idx)) <= D("0.005") * _groups(
            payslips, mtype_
        )


def _groups(payslips, mtype_, employee_key=None):
    """How many (employee, mapping line, department) sums the type makes: each is rounded once."""
    keys = set()
    for s in payslips:
        if employee_key is not None and s.employee_key != employee_key:
            continue
        for n, mline in enumerate(mtype_.lines):
            if any(ln.code == mline.pay_item for ln in s.lines):
                keys.add(
                    (
                        s.employee_key if mtype_.grouping == "employee" else None,
                        n,
                        s.department if mtype_.tracking_category else None,
                    )
                )
    return len(keys)


@settings(max_examples=150, deadline=None)
@given(slips_st, mapping_st, st.randoms(use_true_random=False))
def test_shuffling_payslips_or_lines_does_not_change_the_bills(payslips, mapping, rnd: random.Random):
    shuffled = [
        Payslip(s.employee_key, s.employee_name, tuple(rnd.sample(s.lines, len(s.lines))), s.department)
        for s in payslips
    ]
    rnd.shuffle(shuffled)
    assert build_bills(run(*payslips), mapping) == build_bills(run(*shuffled), mapping)


@settings(max_examples=100, deadline=None)
@given(slips_st)
def test_each_line_is_the_exact_sum_rounded_once(payslips):
    mapping = Mapping((MappingType("T", tuple(MappingLine(c, c) for c in CODES), "C"),))
    result = build_bills(run(*payslips), mapping)
    for bill in result.bills:
        for line in bill.lines:
            exact = sum((ln.amount for s in payslips for ln in s.lines if ln.code == line.pay_item), D(0))
            signed = -line.amount if bill.is_credit_note else line.amount
            assert abs(signed - exact) <= D("0.005")


# --------------------------------------------------------------------------- Xero's limits (issue 10, 3-5)


def test_limits_are_named_constants_the_addon_can_import():
    from payroll_xero import bills

    assert (bills.MAX_CONTACT_NUMBER, bills.MAX_CONTACT_NAME, bills.MAX_INVOICE_NUMBER) == (50, 255, 255)
    assert (bills.MAX_DESCRIPTION, bills.MAX_TRACKING_NAME) == (4000, 100)
    assert bills.MAX_AMOUNT == 10**13 and bills.MAX_DUE_DAYS == 3650
    assert bills.MIN_DATE == date(1900, 1, 1) and bills.MAX_DATE == date(2999, 12, 31)


def test_values_longer_than_xero_takes_are_errors_naming_bill_field_value_and_limit():
    key = "E" + "1" * 62  # 63 characters
    pay_run = run(
        slip(key, ("BASIC", "100"), ("OT", "5"), department="D" * 101),
        slip("E2", ("BASIC", "50"), department="Sales"),
        reference="PR1-202610",
    )
    mapping = Mapping(
        (
            mtype("Net", ("BASIC", "477", "+", "x" * 4001), grouping="employee", code="NET"),
            mtype("MPF", ("BASIC", "478"), ("OT", "480"), code="MPF", tracking_category="C" * 101),
        )
    )
    result = build_bills(pay_run, mapping)
    too_long = [p for p in result.problems if p.code == "too_long"]
    assert all(p.is_error for p in too_long) and not result.ok
    # the contact number, one description shared by two bills, the tracking category and the over-long
    # department option (one problem each for the three lines of the MPF bill that carry them)
    assert len(too_long) == 4, [p.message for p in too_long]
    number = next(p for p in too_long if "contact number" in p.message)
    assert number.message == (
        f'Bill PR1-202610/NET/{key}: the contact number "{key[:59]}\u2026" is 63 characters; Xero allows 50.'
    )
    assert number.employee_key == key
    description = next(p for p in too_long if "description" in p.message)
    assert description.message.startswith(
        f"Bill PR1-202610/NET/{key} (and 1 other bill): line BASIC: the description"
    )
    assert "is 4,001 characters; Xero allows 4000." in description.message
    category = next(p for p in too_long if "tracking category" in p.message)
    assert category.message.startswith('Bill PR1-202610/MPF: line BASIC: the tracking category "CCC')
    assert category.message.endswith("is 101 characters; Xero allows 100.")
    option = next(p for p in too_long if "tracking option" in p.message)
    assert '"DDD' in option.message and "Xero allows 100." in option.message


def test_values_at_the_limits_are_fine():
    key = "E" * 50
    pay_run = run(slip(key, ("BASIC", "100"), name="N" * 255, department="D" * 100))
    mapping = Mapping(
        (
            mtype("Net", ("BASIC", "477", "+", "x" * 4000), grouping="employee", code="NET"),
            mtype("MPF", ("BASIC", "478"), code="MPF", tracking_category="C" * 100, contact="T" * 255),
        )
    )
    result = build_bills(pay_run, mapping)
    assert result.problems == ()


def test_limit_problems_checks_bills_made_another_way():
    from payroll_xero.bills import limit_problems

    (bill,) = build_bills(run(slip("E1", ("BASIC", "1"))), Mapping((mtype("T", ("BASIC", "477")),))).bills
    stored = dict(bill.content(), invoice_number="N" * 256)
    stored["contact"] = {"name": "C" * 256, "number": "K" * 51}
    problems = limit_problems([Bill.from_content(stored, type_name="T")])
    assert [p.code for p in problems] == ["too_long"] * 3 and all(p.is_error for p in problems)
    assert [p.message.split(": the ")[1].split(' "')[0] for p in problems] == [
        "bill number",
        "contact name",
        "contact number",
    ]
    assert limit_problems([bill]) == []


def test_contact_name_over_255_is_cut_with_a_warning_naming_the_employee():
    pay_run = run(slip("E1", ("BASIC", "100"), name="Chan " + "x" * 300))
    result = build_bills(pay_run, Mapping((mtype("Net", ("BASIC", "477"), grouping="employee", code="NET"),)))
    (bill,) = result.bills
    assert bill.contact_name == ("Chan " + "x" * 300)[:255]
    (warning,) = result.problems
    assert (warning.code, warning.severity, warning.employee_key) == ("contact_name_cut", "warning", "E1")
    assert warning.message.startswith('Bill PR-1/NET/E1: the contact name of employee E1 "Chan xxx')
    assert "is 305 characters; Xero allows 255" in warning.message
    assert result.ok


def test_bill_numbers_too_long_for_xero_are_shortened_with_one_warning_per_type():
    pay_run = run(slip("E1", ("BASIC", "1")), slip("E2", ("BASIC", "2")), reference="R" * 260)
    result = build_bills(pay_run, Mapping((mtype("Net", ("BASIC", "477"), grouping="employee", code="NET"),)))
    assert all(len(b.invoice_number) == 255 for b in result.bills) and len(result.bills) == 2
    (warning,) = result.problems
    assert (warning.code, warning.severity, warning.type_name) == ("number_shortened", "warning", "Net")
    assert "would be 267 characters; Xero allows 255" in warning.message


def test_two_bills_with_one_number_are_an_error_naming_both():
    pay_run = run(slip("E0001", ("BASIC", "100")), reference="PR1")
    mapping = Mapping(
        (
            mtype("Net salaries", ("BASIC", "477"), grouping="employee", code="NET"),
            mtype("Odd", ("BASIC", "478"), code="NET/E0001"),
        )
    )
    result = build_bills(pay_run, mapping)
    assert [b.invoice_number for b in result.bills] == ["PR1/NET/E0001", "PR1/NET/E0001"]
    (error,) = result.errors
    assert error.code == "duplicate_number"
    assert error.message.startswith(
        'Bill number PR1/NET/E0001 is made twice: by type "Net salaries" for employee E0001 and by type "Odd".'
    )


def test_empty_or_all_zero_pay_run_warns_that_nothing_will_be_sent():
    mapping = Mapping((mtype("T", ("BASIC", "477")),))
    empty = build_bills(run(), mapping)
    assert empty.ok and empty.bills == ()
    assert [(p.code, p.severity) for p in empty.problems] == [("nothing_to_send", "warning")]
    assert empty.problems[0].message == "Pay run PR-1 has no payslips: nothing will be sent to Xero."

    zero = build_bills(run(slip("E1", ("BASIC", "0")), slip("E2", ("BASIC", "0.001"))), mapping)
    assert zero.ok and zero.bills == ()
    (warning,) = zero.problems
    assert warning.code == "nothing_to_send" and "nothing will be sent to Xero" in warning.message


def test_amounts_beyond_what_xero_takes_are_errors_not_exceptions():
    huge = [D("1e30"), D("9" * 400), D("1E+999999999"), D("-1E+13"), D("10000000000000.00")]
    slips = [Payslip(f"E{i}", f"N{i}", (PayLine("X", "X", amount),)) for i, amount in enumerate(huge)]
    slips.append(Payslip("S", "Str", (PayLine("X", "X", "1e30"),)))  # a string, as the addon never sends
    slips.append(slip("OK", ("X", "9999999999999.99")))
    result = build_bills(run(*slips), Mapping((mtype("T", ("X", "477")),)))
    assert [p.code for p in result.errors] == ["amount_out_of_range"] * 6
    assert all(len(p.message) < 200 for p in result.errors)
    assert result.errors[1].message == (
        "Employee E1 (N1), pay item X: amount 1.000000E+400 is beyond what Xero takes "
        "(less than 10,000,000,000,000 either way)."
    )
    assert result.bills[0].total == D("9999999999999.99")


def test_tiny_exponents_and_zero_with_a_huge_exponent_are_fine():
    slips = [
        Payslip("E1", "A", (PayLine("X", "X", D("1E-999999999")),)),
        Payslip("E2", "B", (PayLine("X", "X", D("0E+50")),)),
        slip("E3", ("X", "5")),
    ]
    result = build_bills(run(*slips), Mapping((mtype("T", ("X", "477")),)))
    assert result.problems == () and result.bills[0].total == D("5.00")


def test_bill_total_beyond_what_xero_takes_is_an_error():
    slips = [slip(f"E{i}", ("X", "9000000000000")) for i in range(2)]
    result = build_bills(run(*slips), Mapping((mtype("T", ("X", "477")),)))
    (error,) = result.errors
    assert error.code == "amount_out_of_range" and error.message.startswith(
        "Bill PR-1/T (Trustee) has a line"
    )


def test_due_days_out_of_range_and_a_payment_date_without_due_date_are_problems_not_exceptions():
    pay_run = run(slip("E1", ("X", "1")))
    for due_days in (3_000_000, -1, 3651, 10**12, True):
        result = build_bills(pay_run, Mapping((mtype("T", ("X", "477"), due_days=due_days),)))
        assert [p.code for p in result.errors] == ["invalid_due_days"], due_days
        assert "from 0 to 3650" in result.errors[0].message
    late = PayRun("PR-9", date(9999, 12, 1), date(9999, 12, 31), date(9999, 12, 31), "HKD", pay_run.payslips)
    result = build_bills(late, Mapping((mtype("T", ("X", "477"), due_days=10),)))
    assert [p.code for p in result.errors] == ["invalid_date"]
    assert "9999-12-31 is not a date from 1900-01-01 to 2999-12-31" in result.errors[0].message
    ok = build_bills(pay_run, Mapping((mtype("T", ("X", "477"), due_days=3650),)))
    assert ok.ok and ok.bills[0].due_date == date(2036, 10, 28)
