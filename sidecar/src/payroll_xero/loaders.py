"""Load pay runs and mappings from JSON, with one clear error per bad input.

Every error names the file, the field and its position, e.g.::

    payrun.json: payslips[3].lines[1].amount: expected a number, got a list

Bounds (beyond them a value is a typing error, refused here rather than sent):

* amounts are finite and less than :data:`~payroll_xero.money.MAX_AMOUNT` (10**13) either way;
  numbers are read exactly (``Decimal``), never through a float;
* ``due_days`` is a whole number from 0 to :data:`~payroll_xero.model.MAX_DUE_DAYS` (3650);
* dates are from :data:`~payroll_xero.model.MIN_DATE` to :data:`~payroll_xero.model.MAX_DATE`
  (1900-01-01 to 2999-12-31);
* documents nest at most a few levels (:data:`MAX_DEPTH`); text holds no lone UTF-16 surrogate.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from .model import (
    BILL_STATUSES,
    DOCUMENT_BILL,
    DOCUMENT_JOURNAL,
    DOCUMENTS,
    GROUPINGS,
    JOURNAL_STATUSES,
    MAX_DATE,
    MAX_DUE_DAYS,
    MIN_DATE,
    SIGNS,
    Mapping,
    MappingLine,
    MappingType,
    PayLine,
    PayRun,
    Payslip,
)
from .money import MAX_AMOUNT

# Pay runs and mappings nest 5 levels (pay run > payslips > payslip > lines > line); anything much deeper
# is not one of them. Python's json gives up (RecursionError) near 1,000 levels: the error names the path.
MAX_DEPTH = 32
# Integers longer than this are read as Decimal (Python refuses int() of more than 4,300 digits).
_LONG_INT = 30


class InputError(ValueError):
    """A pay run or mapping file that cannot be used; the message says where and why."""


class _HugeNumber:
    """A JSON number beyond what even a Decimal holds (``1e99999999999999999999``): an error wherever it is."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__


_TYPE_NAMES = {
    dict: "an object",
    list: "a list",
    str: "a string",
    bool: "true/false",
    int: "a number",
    float: "a number",
    Decimal: "a number",
    _HugeNumber: "a number",
    type(None): "null",
}


def _kind(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


class _Reader:
    """Reads one JSON document, prefixing every error with the file name."""

    def __init__(self, source: str, check_text: bool = True):
        self.source = source
        # Lone surrogates can only come from JSON \u escapes: a file without any is not checked string by string.
        self.check_text = check_text

    def fail(self, where: str, message: str) -> InputError:
        return InputError(f"{self.source}: {where}: {message}" if where else f"{self.source}: {message}")

    def obj(self, value: Any, where: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected an object, got {_kind(value)}")
        return value

    def field(self, data: dict, name: str, where: str, required: bool = True, default: Any = None) -> Any:
        if name not in data or data[name] is None:
            if required:
                raise self.fail(_join(where, name), "missing (this field is required)")
            return default
        return data[name]

    def text(self, data: dict, name: str, where: str, required: bool = True, default: Any = None) -> Any:
        value = self.field(data, name, where, required, default)
        if value is default and not required:
            return value
        if not isinstance(value, str):
            raise self.fail(_join(where, name), f"expected a string, got {_kind(value)}")
        if required and not value.strip():
            raise self.fail(_join(where, name), "must not be empty")
        if self.check_text:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise self.fail(
                    _join(where, name),
                    f"contains an invalid character at position {exc.start + 1} (a lone UTF-16 surrogate "
                    f"\\u{ord(value[exc.start]):04x})",
                ) from None
        return value

    def day(self, data: dict, name: str, where: str) -> date:
        value = self.text(data, name, where)
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise self.fail(_join(where, name), f"{_short(value)!r} is not a date (use YYYY-MM-DD)") from None
        if not MIN_DATE <= day <= MAX_DATE:
            raise self.fail(_join(where, name), f"{value!r} is not a date from {MIN_DATE} to {MAX_DATE}")
        return day

    def items(self, data: dict, name: str, where: str) -> list:
        value = self.field(data, name, where)
        if not isinstance(value, list):
            raise self.fail(_join(where, name), f"expected a list, got {_kind(value)}")
        return value

    def amount(self, value: Any, where: str) -> Decimal | str:
        """A Decimal; a string that is not a number is kept as is for build_bills to report.

        Infinite, NaN and out-of-range amounts (see :data:`~payroll_xero.money.MAX_AMOUNT`) are refused.
        """
        if isinstance(value, _HugeNumber):
            raise self.fail(
                where,
                f"{_short(value.text, 30)} is out of range: Xero takes amounts of less than {MAX_AMOUNT:,} either way",
            )
        if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
            raise self.fail(where, f"expected a number, got {_kind(value)}")
        if isinstance(value, str):
            try:
                number = Decimal(value.strip())
            except InvalidOperation:
                if _NUMERIC.fullmatch(value.strip()):  # a number even a Decimal cannot hold
                    return self.amount(_HugeNumber(value.strip()), where)
                return value
        elif isinstance(value, float):
            number = Decimal(str(value))
        else:
            number = Decimal(value)
        if not number.is_finite():
            raise self.fail(where, f"{_short(str(value))} is not a finite number")
        if not -MAX_AMOUNT < number < MAX_AMOUNT:
            shown = str(number) if len(str(number)) <= 30 else f"{number:.6E}"
            raise self.fail(
                where,
                f"{shown} is out of range: Xero takes amounts of less than {MAX_AMOUNT:,} either way",
            )
        return number


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else f"{text[: width - 1]}\u2026"


def _number(text: str) -> Decimal | _HugeNumber:
    """A JSON number with a fraction or an exponent, read exactly."""
    try:
        return Decimal(text)
    except InvalidOperation:
        return _HugeNumber(text)


def _int(text: str) -> int | Decimal | _HugeNumber:
    """A JSON integer: an int, or a Decimal when it is too long to be anything but a wrong amount."""
    return int(text) if len(text) <= _LONG_INT else _number(text)


_NUMERIC = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")

# Strings, brackets and the separators that matter to follow where a document nests.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}:,]')


def _key(piece: str) -> str:
    try:
        return json.loads(piece)
    except ValueError:
        return piece


def _deep_path(text: str, limit: int = MAX_DEPTH) -> tuple[str, int]:
    """(path, line) of the first value nested deeper than ``limit`` levels, e.g. ``payslips[0].lines[0][0]``."""
    stack: list[list] = []  # per open container: ["{", key] or ["[", index]
    key: str | None = None
    for match in _TOKENS.finditer(text):
        piece = match.group()
        if piece[0] == '"':
            if stack and stack[-1][0] == "{" and key is None:
                key = piece
            continue
        if piece in "{[":
            if stack and stack[-1][0] == "{" and key is not None:
                stack[-1][1] = _key(key)
            stack.append([piece, 0 if piece == "[" else None])
            key = None
            if len(stack) > limit:
                return _path_of(stack[:-1]), text.count("\n", 0, match.start()) + 1
        elif piece in "}]":
            if stack:
                stack.pop()
            key = None
        elif piece == ",":
            if stack and stack[-1][0] == "[":
                stack[-1][1] += 1
            key = None
    return "", 1


def _path_of(parents: list[list]) -> str:
    """The path of a value from its open containers: each one's key or index, ``payslips[0].lines``."""
    parts: list[str] = []
    for kind, at in parents:
        if kind == "[":
            parts.append(f"[{at}]")
        else:
            parts.append(f".{at}" if parts else str(at))
    return _short("".join(parts), 80)


def _parse(text: str, source: str) -> Any:
    try:
        return json.loads(text, parse_float=_number, parse_int=_int, parse_constant=Decimal)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{source}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except RecursionError:
        path, line = _deep_path(text)
        where = f"{path}: " if path else ""
        raise InputError(
            f"{source}: {where}nested too deeply (line {line}): a pay run or mapping nests a few levels, "
            f"this file more than {MAX_DEPTH}"
        ) from None


def _read(path: str | Path) -> tuple[Any, str]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read: {exc}") from None
    return _parse(text, path.name), path.name, _SURROGATE.search(text) is not None


# A JSON \u escape of a UTF-16 surrogate (a file read as UTF-8 holds none otherwise).
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


def pay_run_from_dict(data: Any, source: str = "pay run", *, check_text: bool = True) -> PayRun:
    r = _Reader(source, check_text)
    data = r.obj(data, "")
    payslips = []
    keys: dict[str, int] = {}
    for i, raw_slip in enumerate(r.items(data, "payslips", "")):
        where = f"payslips[{i}]"
        slip = r.obj(raw_slip, where)
        key = r.text(slip, "employee_key", where)
        if key in keys:
            raise r.fail(
                _join(where, "employee_key"),
                f"{key!r} is already used by payslips[{keys[key]}]; each employee needs its own key",
            )
        keys[key] = i
        lines = []
        for j, raw_line in enumerate(r.items(slip, "lines", where)):
            lwhere = f"{where}.lines[{j}]"
            line = r.obj(raw_line, lwhere)
            code = r.text(line, "code", lwhere)
            lines.append(
                PayLine(
                    code=code,
                    name=r.text(line, "name", lwhere, required=False, default=code),
                    amount=r.amount(r.field(line, "amount", lwhere), _join(lwhere, "amount")),
                )
            )
        payslips.append(
            Payslip(
                employee_key=key,
                employee_name=r.text(slip, "employee_name", where),
                department=r.text(slip, "department", where, required=False),
                lines=tuple(lines),
            )
        )
    currency = r.text(data, "currency", "")
    run = PayRun(
        reference=r.text(data, "reference", ""),
        period_start=r.day(data, "period_start", ""),
        period_end=r.day(data, "period_end", ""),
        payment_date=r.day(data, "payment_date", ""),
        currency=currency.strip().upper(),
        payslips=tuple(payslips),
        name=r.text(data, "name", "", required=False),
    )
    if run.period_end < run.period_start:
        raise r.fail("period_end", "is before period_start")
    return run


def _mapping_lines(r: _Reader, t: dict, where: str) -> tuple[MappingLine, ...]:
    lines = []
    for j, raw_line in enumerate(r.items(t, "lines", where)):
        lwhere = f"{where}.lines[{j}]"
        line = r.obj(raw_line, lwhere)
        sign = r.text(line, "sign", lwhere, required=False, default="+")
        if sign not in SIGNS:
            raise r.fail(_join(lwhere, "sign"), f'{sign!r} is not "+" or "-"')
        lines.append(
            MappingLine(
                pay_item=r.text(line, "pay_item", lwhere),
                account_code=r.text(line, "account", lwhere),
                sign=sign,
                description=r.text(line, "description", lwhere, required=False),
            )
        )
    return tuple(lines)


def _mapping_type(r: _Reader, t: dict, where: str) -> MappingType:
    document = r.text(t, "document", where, required=False, default=DOCUMENT_BILL)
    if document not in DOCUMENTS:
        raise r.fail(_join(where, "document"), f'{document!r} is not one of "bill", "journal"')
    journal = document == DOCUMENT_JOURNAL
    grouping = r.text(t, "grouping", where, required=False, default="run")
    if grouping not in GROUPINGS:
        raise r.fail(_join(where, "grouping"), f'{grouping!r} is not one of "run", "employee"')
    if journal and grouping != "run":
        raise r.fail(_join(where, "grouping"), 'a journal type makes one journal per pay run: use "run"')
    statuses = JOURNAL_STATUSES if journal else BILL_STATUSES
    status = r.text(t, "status", where, required=False, default="DRAFT").upper()
    if status not in statuses:
        raise r.fail(_join(where, "status"), f"{status!r} is not one of {', '.join(statuses)}")
    due_days = r.field(t, "due_days", where, required=False, default=0)
    if isinstance(due_days, bool) or not isinstance(due_days, int) or not 0 <= due_days <= MAX_DUE_DAYS:
        raise r.fail(
            _join(where, "due_days"),
            f"expected a whole number of days from 0 to {MAX_DUE_DAYS}, got {_short(str(due_days), 40)}",
        )
    return MappingType(
        name=r.text(t, "name", where),
        code=r.text(t, "code", where, required=False),
        contact_name=r.text(t, "contact", where, required=grouping == "run" and not journal),
        grouping=grouping,
        status=status,
        due_days=due_days,
        tracking_category=r.text(t, "tracking_category", where, required=False),
        lines=_mapping_lines(r, t, where),
        document=document,
        rounding_account=r.text(t, "rounding_account", where, required=False),
    )


def mapping_from_dict(data: Any, source: str = "mapping", *, check_text: bool = True) -> Mapping:
    r = _Reader(source, check_text)
    data = r.obj(data, "")
    types = [
        _mapping_type(r, r.obj(raw_type, f"types[{i}]"), f"types[{i}]")
        for i, raw_type in enumerate(r.items(data, "types", ""))
    ]
    require_all = r.field(data, "require_all_mapped", "", required=False, default=False)
    if not isinstance(require_all, bool):
        raise r.fail("require_all_mapped", f"expected true or false, got {_kind(require_all)}")
    ignore = r.items(data, "ignore", "") if "ignore" in data else []
    for i, code in enumerate(ignore):
        if not isinstance(code, str):
            raise r.fail(f"ignore[{i}]", f"expected a pay item code, got {_kind(code)}")
    return Mapping(types=tuple(types), require_all_mapped=require_all, ignore=frozenset(ignore))


def load_pay_run(path: str | Path) -> PayRun:
    data, source, escapes = _read(path)
    return pay_run_from_dict(data, source, check_text=escapes)


def load_mapping(path: str | Path) -> Mapping:
    data, source, escapes = _read(path)
    return mapping_from_dict(data, source, check_text=escapes)
