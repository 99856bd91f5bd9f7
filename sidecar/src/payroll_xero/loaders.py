"""Load pay runs and mappings from JSON, with one clear error per bad input.

Every error names the file, the field and its position, e.g.::

    payrun.json: payslips[3].lines[1].amount: expected a number, got a list
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from .model import (
    BILL_STATUSES,
    GROUPINGS,
    SIGNS,
    Mapping,
    MappingLine,
    MappingType,
    PayLine,
    PayRun,
    Payslip,
)


class InputError(ValueError):
    """A pay run or mapping file that cannot be used; the message says where and why."""


_TYPE_NAMES = {
    dict: "an object",
    list: "a list",
    str: "a string",
    bool: "true/false",
    int: "a number",
    float: "a number",
    type(None): "null",
}


def _kind(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


class _Reader:
    """Reads one JSON document, prefixing every error with the file name."""

    def __init__(self, source: str):
        self.source = source

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
        return value

    def day(self, data: dict, name: str, where: str) -> date:
        value = self.text(data, name, where)
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise self.fail(_join(where, name), f"{value!r} is not a date (use YYYY-MM-DD)") from None

    def items(self, data: dict, name: str, where: str) -> list:
        value = self.field(data, name, where)
        if not isinstance(value, list):
            raise self.fail(_join(where, name), f"expected a list, got {_kind(value)}")
        return value

    def amount(self, value: Any, where: str) -> Decimal | str:
        """A Decimal; a string that is not a number is kept as is for build_bills to report."""
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise self.fail(where, f"expected a number, got {_kind(value)}")
        if isinstance(value, str):
            try:
                return Decimal(value.strip())
            except InvalidOperation:
                return value
        return Decimal(str(value)) if isinstance(value, float) else Decimal(value)


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _parse(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{source}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None


def _read(path: str | Path) -> tuple[Any, str]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read: {exc}") from None
    return _parse(text, path.name), path.name


def pay_run_from_dict(data: Any, source: str = "pay run") -> PayRun:
    r = _Reader(source)
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
    )
    if run.period_end < run.period_start:
        raise r.fail("period_end", "is before period_start")
    return run


def mapping_from_dict(data: Any, source: str = "mapping") -> Mapping:
    r = _Reader(source)
    data = r.obj(data, "")
    types = []
    for i, raw_type in enumerate(r.items(data, "types", "")):
        where = f"types[{i}]"
        t = r.obj(raw_type, where)
        grouping = r.text(t, "grouping", where, required=False, default="run")
        if grouping not in GROUPINGS:
            raise r.fail(_join(where, "grouping"), f'{grouping!r} is not one of "run", "employee"')
        status = r.text(t, "status", where, required=False, default="DRAFT").upper()
        if status not in BILL_STATUSES:
            raise r.fail(_join(where, "status"), f"{status!r} is not one of {', '.join(BILL_STATUSES)}")
        due_days = r.field(t, "due_days", where, required=False, default=0)
        if isinstance(due_days, bool) or not isinstance(due_days, int) or due_days < 0:
            raise r.fail(_join(where, "due_days"), f"expected a whole number of days >= 0, got {due_days!r}")
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
        types.append(
            MappingType(
                name=r.text(t, "name", where),
                code=r.text(t, "code", where, required=False),
                contact_name=r.text(t, "contact", where, required=grouping == "run"),
                grouping=grouping,
                status=status,
                due_days=due_days,
                tracking_category=r.text(t, "tracking_category", where, required=False),
                lines=tuple(lines),
            )
        )
    require_all = r.field(data, "require_all_mapped", "", required=False, default=False)
    if not isinstance(require_all, bool):
        raise r.fail("require_all_mapped", f"expected true or false, got {_kind(require_all)}")
    ignore = r.items(data, "ignore", "") if "ignore" in data else []
    for i, code in enumerate(ignore):
        if not isinstance(code, str):
            raise r.fail(f"ignore[{i}]", f"expected a pay item code, got {_kind(code)}")
    return Mapping(types=tuple(types), require_all_mapped=require_all, ignore=frozenset(ignore))


def load_pay_run(path: str | Path) -> PayRun:
    data, source = _read(path)
    return pay_run_from_dict(data, source)


def load_mapping(path: str | Path) -> Mapping:
    data, source = _read(path)
    return mapping_from_dict(data, source)
