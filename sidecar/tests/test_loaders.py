"""JSON pay runs and mappings: good files load, bad ones give one clear message."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from payroll_xero.cli import main
from payroll_xero.loaders import InputError, load_mapping, load_pay_run, mapping_from_dict, pay_run_from_dict

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

PAY_RUN = {
    "reference": "PR-1",
    "period_start": "2026-10-01",
    "period_end": "2026-10-31",
    "payment_date": "2026-10-31",
    "currency": "hkd",
    "payslips": [
        {
            "employee_key": "E1",
            "employee_name": "Chan Tai Man",
            "department": "Sales",
            "lines": [
                {"code": "BASIC", "name": "Basic Salary", "amount": "25000.10"},
                {"code": "OT", "amount": 0.1},
            ],
        }
    ],
}
MAPPING = {
    "types": [
        {
            "name": "MPF",
            "contact": "Trustee",
            "lines": [
                {"pay_item": "BASIC", "account": "477"},
                {"pay_item": "OT", "account": "480", "sign": "-"},
            ],
        }
    ]
}


def test_examples_load_as_a_hong_kong_pay_run_of_twenty_employees():
    pay_run = load_pay_run(EXAMPLES / "payrun.json")
    mapping = load_mapping(EXAMPLES / "mapping.json")
    assert pay_run.currency == "HKD" and len(pay_run.payslips) == 20
    codes = {line.code for s in pay_run.payslips for line in s.lines}
    assert {"BASIC", "HOUSING", "TRANSPORT", "OT", "MPF_EE", "MPF_ER", "MEDICAL"} <= codes
    assert [t.name for t in mapping.types] == ["Net salaries", "MPF", "Medical plan"]


def test_pay_run_fields_are_parsed_to_dates_decimals_and_upper_case_currency():
    pay_run = pay_run_from_dict(PAY_RUN)
    assert pay_run.payment_date == date(2026, 10, 31)
    assert pay_run.currency == "HKD"
    basic, ot = pay_run.payslips[0].lines
    assert basic.amount == Decimal("25000.10") and ot.amount == Decimal("0.1")
    assert ot.name == "OT"  # name defaults to the code
    assert pay_run.payslips[0].department == "Sales"


def test_mapping_defaults():
    mtype = mapping_from_dict(MAPPING).types[0]
    assert (mtype.grouping, mtype.status, mtype.due_days, mtype.key) == ("run", "DRAFT", 0, "MPF")
    assert [line.sign for line in mtype.lines] == ["+", "-"]


def _broken(base, path, value, delete=False):
    data = copy.deepcopy(base)
    target = data
    for key in path[:-1]:
        target = target[key]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "delete", "expected"),
    [
        (["payslips", 0, "lines", 0, "amount"], None, True, "payslips[0].lines[0].amount: missing"),
        (
            ["payslips", 0, "lines", 0, "amount"],
            [1],
            False,
            "payslips[0].lines[0].amount: expected a number, got a list",
        ),
        (
            ["payslips", 0, "lines", 0, "amount"],
            True,
            False,
            "payslips[0].lines[0].amount: expected a number, got true",
        ),
        (
            ["payslips", 0, "employee_name"],
            5,
            False,
            "payslips[0].employee_name: expected a string, got a number",
        ),
        (["payslips", 0, "employee_key"], None, True, "payslips[0].employee_key: missing"),
        (["payslips", 0, "lines"], {}, False, "payslips[0].lines: expected a list, got an object"),
        (["payment_date"], "31/10/2026", False, "payment_date: '31/10/2026' is not a date"),
        (["reference"], "  ", False, "reference: must not be empty"),
        (["period_end"], "2026-09-01", False, "period_end: is before period_start"),
    ],
)
def test_bad_pay_run_names_field_and_position(path, value, delete, expected):
    with pytest.raises(InputError) as info:
        pay_run_from_dict(_broken(PAY_RUN, path, value, delete), "payrun.json")
    assert str(info.value).startswith("payrun.json: ")
    assert expected in str(info.value)


def test_duplicate_employee_key_names_both_payslips():
    data = copy.deepcopy(PAY_RUN)
    data["payslips"].append(copy.deepcopy(data["payslips"][0]))
    with pytest.raises(
        InputError, match=r"payslips\[1\]\.employee_key: 'E1' is already used by payslips\[0\]"
    ):
        pay_run_from_dict(data)


def test_amount_string_that_is_not_a_number_is_left_for_build_bills_to_report():
    data = _broken(PAY_RUN, ["payslips", 0, "lines", 0, "amount"], "12,5a")
    assert pay_run_from_dict(data).payslips[0].lines[0].amount == "12,5a"


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (["types", 0, "lines", 1, "sign"], "*", 'types[0].lines[1].sign: \'*\' is not "+" or "-"'),
        (["types", 0, "grouping"], "month", "types[0].grouping: 'month' is not one of"),
        (
            ["types", 0, "status"],
            "PAID",
            "types[0].status: 'PAID' is not one of DRAFT, SUBMITTED, AUTHORISED",
        ),
        (
            ["types", 0, "due_days"],
            -1,
            "types[0].due_days: expected a whole number of days from 0 to 3650, got -1",
        ),
        (["types", 0, "contact"], None, "types[0].contact: missing"),
        (
            ["types", 0, "lines", 0, "account"],
            477,
            "types[0].lines[0].account: expected a string, got a number",
        ),
        (["require_all_mapped"], "yes", "require_all_mapped: expected true or false"),
    ],
)
def test_bad_mapping_names_field_and_position(path, value, expected):
    with pytest.raises(InputError) as info:
        mapping_from_dict(_broken(MAPPING, path, value), "mapping.json")
    assert expected in str(info.value)


def test_malformed_json_gives_line_and_column(tmp_path):
    bad = tmp_path / "payrun.json"
    bad.write_text('{"reference": "PR-1",\n  "payslips": [}')
    with pytest.raises(InputError, match=r"payrun.json: not valid JSON: .* at line 2, column 16"):
        load_pay_run(bad)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        load_mapping(tmp_path / "nope.json")


def test_cli_bills_prints_table_and_exits_zero(capsys):
    code = main(["bills", str(EXAMPLES / "payrun.json"), "--mapping", str(EXAMPLES / "mapping.json")])
    out = capsys.readouterr().out
    assert code == 0
    assert "BILL PAY-2026-10/MPF" in out and "HSBC MPF Trustee" in out
    assert "22 document(s): 22 bill(s), 0 credit note(s)" in out


def test_cli_bills_json_is_machine_readable(capsys):
    main(["bills", str(EXAMPLES / "payrun.json"), "--mapping", str(EXAMPLES / "mapping.json"), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True
    mpf = next(b for b in data["bills"] if b["invoice_number"] == "PAY-2026-10/MPF")
    assert Decimal(mpf["total"]) == sum(Decimal(line["amount"]) for line in mpf["lines"])


def test_cli_bills_exits_non_zero_on_errors_and_reports_bad_input_without_traceback(tmp_path, capsys):
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"require_all_mapped": True, "types": MAPPING["types"][:0]}))
    assert main(["bills", str(EXAMPLES / "payrun.json"), "--mapping", str(mapping)]) == 1
    assert "ERROR: Pay item BASIC" in capsys.readouterr().out

    mapping.write_text("{")
    assert main(["bills", str(EXAMPLES / "payrun.json"), "--mapping", str(mapping)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: mapping.json: not valid JSON") and "Traceback" not in err
