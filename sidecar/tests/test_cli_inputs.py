"""Hostile inputs through the command line: one clear error naming the file and field, exit 2, no traceback."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from payroll_xero.cli import main
from payroll_xero.loaders import MAX_DEPTH, load_pay_run

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PAY_RUN = json.loads((EXAMPLES / "payrun.json").read_text())
MAPPING = json.loads((EXAMPLES / "mapping.json").read_text())
AMOUNT = "payslips[0].lines[0].amount"


def _write(path: Path, data, raw: dict[str, str] | None = None) -> Path:
    """``data`` as JSON; each ``raw`` placeholder string is replaced by raw JSON text (a number literal)."""
    text = json.dumps(data)
    for placeholder, literal in (raw or {}).items():
        text = text.replace(json.dumps(placeholder), literal)
    path.write_text(text)
    return path


def _bills(tmp_path: Path, capsys, payrun=None, mapping=None, raw=None) -> tuple[int, str, str]:
    payrun_file = _write(tmp_path / "payrun.json", payrun if payrun is not None else PAY_RUN, raw)
    mapping_file = _write(tmp_path / "mapping.json", mapping if mapping is not None else MAPPING, raw)
    code = main(["bills", str(payrun_file), "--mapping", str(mapping_file)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _with_amount(value) -> dict:
    data = copy.deepcopy(PAY_RUN)
    data["payslips"][0]["lines"][0]["amount"] = value
    return data


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ('"1e30"', "1E+30 is out of range: Xero takes amounts of less than 10,000,000,000,000 either way"),
        ("1e30", "1E+30 is out of range"),
        ("9" * 400, "1.000000E+400 is out of range"),
        ('"' + "9" * 400 + '"', "1.000000E+400 is out of range"),
        ("1" * 5000, "1.111111E+4999 is out of range"),
        ('"1E+999999999"', "1E+999999999 is out of range"),
        ("1E+999999999", "1E+999999999 is out of range"),
        ("-1E+999999999", "-1E+999999999 is out of range"),
        ("10000000000000", "10000000000000 is out of range"),
        ("1e9999999999999999999999", "1e9999999999999999999999 is out of range"),  # beyond a Decimal
        ('"-1e9999999999999999999999"', "-1e9999999999999999999999 is out of range"),
        ("NaN", "NaN is not a finite number"),
        ("Infinity", "Infinity is not a finite number"),
        ("-Infinity", "-Infinity is not a finite number"),
        ('"NaN"', "NaN is not a finite number"),
        ('"-inf"', "-inf is not a finite number"),
    ],
)
def test_amounts_xero_cannot_take_are_refused_naming_file_and_field(tmp_path, capsys, literal, expected):
    code, out, err = _bills(tmp_path, capsys, payrun=_with_amount("@AMOUNT@"), raw={"@AMOUNT@": literal})
    assert code == 2, out
    assert err.startswith(f"error: payrun.json: {AMOUNT}: {expected}")
    assert err.count("\n") == 1 and "Traceback" not in err + out


def test_amounts_are_read_exactly_never_through_a_float(tmp_path, capsys):
    code, _out, err = _bills(
        tmp_path, capsys, payrun=_with_amount("@A@"), raw={"@A@": "31000.000000000000000001"}
    )
    assert (code, err) == (0, "")
    assert load_pay_run(tmp_path / "payrun.json").payslips[0].lines[0].amount == Decimal(
        "31000.000000000000000001"
    )


def test_a_bill_total_beyond_what_xero_takes_is_an_error_of_the_preview(tmp_path, capsys):
    code, out, err = _bills(tmp_path, capsys, payrun=_with_amount("@A@"), raw={"@A@": "9999999999999.99"})
    assert (code, err) == (1, "")
    assert (
        "ERROR: Bill PAY-2026-10/NET/E0001 (Chan Tai Man) has a total of 10,000,000,002,870.44, beyond what Xero takes"
        in out
    )


@pytest.mark.parametrize(
    "literal", ["3000000", "3651", "-1", "1" * 400, "30.0", "1e3", "1e9999999999999999999999"]
)
def test_due_days_out_of_range_are_refused_naming_file_and_field(tmp_path, capsys, literal):
    mapping = copy.deepcopy(MAPPING)
    mapping["types"][1]["due_days"] = "@DUE@"
    code, out, err = _bills(tmp_path, capsys, mapping=mapping, raw={"@DUE@": literal})
    assert code == 2, out
    assert err.startswith(
        "error: mapping.json: types[1].due_days: expected a whole number of days from 0 to 3650, got "
    )
    assert "Traceback" not in err + out


def test_due_days_of_ten_years_are_fine(tmp_path, capsys):
    mapping = copy.deepcopy(MAPPING)
    mapping["types"][1]["due_days"] = 3650
    code, out, err = _bills(tmp_path, capsys, mapping=mapping)
    assert (code, err) == (0, "")
    assert "due 2036-10-28" in out


@pytest.mark.parametrize(
    ("field", "value"),
    [("payment_date", "9999-12-31"), ("period_start", "0001-01-01"), ("period_end", "3000-01-01")],
)
def test_dates_out_of_range_are_refused_naming_file_and_field(tmp_path, capsys, field, value):
    data = copy.deepcopy(PAY_RUN)
    data[field] = value
    code, out, err = _bills(tmp_path, capsys, payrun=data)
    assert code == 2, out
    assert err == f"error: payrun.json: {field}: {value!r} is not a date from 1900-01-01 to 2999-12-31\n"


def test_deeply_nested_json_names_the_file_and_where_it_nests(tmp_path, capsys):
    deep = "[" * 100_000 + "]" * 100_000
    code, out, err = _bills(tmp_path, capsys, payrun=_with_amount("@DEEP@"), raw={"@DEEP@": deep})
    assert code == 2, out
    assert err.startswith(f"error: payrun.json: {AMOUNT}[0][0]")
    assert (
        f"nested too deeply (line 1): a pay run or mapping nests a few levels, this file more than {MAX_DEPTH}"
        in err
    )

    mapping_file = tmp_path / "mapping.json"
    mapping_file.write_text(
        '{"types": [{"name": "x", "lines": ' + "{" + '"a":{' * 50_000 + "}" * 50_001 + "}]}"
    )
    code = main(["bills", str(EXAMPLES / "payrun.json"), "--mapping", str(mapping_file)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: mapping.json: types[0].lines.a.a.a")
    assert "Traceback" not in err


def test_a_lone_surrogate_is_refused_and_a_real_emoji_is_fine(tmp_path, capsys):
    data = copy.deepcopy(PAY_RUN)
    data["payslips"][0]["employee_name"] = "@NAME@"
    code, out, err = _bills(tmp_path, capsys, payrun=data, raw={"@NAME@": '"Chan \\udc80"'})
    assert code == 2, out
    assert err == (
        "error: payrun.json: payslips[0].employee_name: contains an invalid character at position 6 "
        "(a lone UTF-16 surrogate \\udc80)\n"
    )
    code, out, err = _bills(tmp_path, capsys, payrun=data, raw={"@NAME@": '"Chan \\ud83d\\ude00"'})
    assert (code, err) == (0, "")
    assert "Chan \U0001f600" in out


@pytest.mark.parametrize(
    "literal", ['"1e30"', "1E+999999999", "NaN", '"' + "[" * 50_000 + '"', "[" * 50_000 + "]" * 50_000]
)
def test_no_traceback_reaches_the_terminal(tmp_path, literal):
    payrun = _write(tmp_path / "payrun.json", _with_amount("@A@"), {"@A@": literal})
    proc = subprocess.run(  # noqa: S603 - our own CLI
        [
            sys.executable,
            "-m",
            "payroll_xero.cli",
            "bills",
            str(payrun),
            "--mapping",
            str(EXAMPLES / "mapping.json"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in proc.stderr + proc.stdout
    if literal.startswith('"['):  # a string of brackets is no number: reported by the preview (exit 1)
        assert proc.returncode == 1 and "is not a number" in proc.stdout
    else:
        assert proc.returncode == 2 and proc.stderr.startswith(f"error: payrun.json: {AMOUNT}")
