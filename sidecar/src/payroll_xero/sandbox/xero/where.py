"""Xero's ``where`` and ``order`` query parameters, as the sandbox understands them."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from .values import XeroValueError, parse_date

_ATOM = re.compile(
    r"^(?P<neg>!)?(?P<field>[A-Za-z_][\w.]*)\s*(?:"
    r"(?P<op>==|!=|>=|<=|>|<)\s*(?P<value>.+)"
    r"|\.(?P<method>Contains|StartsWith|EndsWith)\(\s*\"(?P<arg>[^\"]*)\"\s*\)"
    r")$",
    re.IGNORECASE,
)
_OR = re.compile(r"\s+OR\s+|\s*\|\|\s*", re.IGNORECASE)
_AND = re.compile(r"\s+AND\s+|\s*&&\s*", re.IGNORECASE)
_GUID = re.compile(r'^Guid\(\s*"?([0-9a-fA-F-]{36})"?\s*\)$', re.IGNORECASE)
_DATETIME = re.compile(
    r"^DateTime\(\s*(\d{4})\s*,\s*(\d{1,2})\s*,\s*(\d{1,2})(?:\s*,[\d\s,]*)?\)$", re.IGNORECASE
)


def field_value(doc: dict[str, Any], path: str) -> Any:
    """A (dotted, case-insensitive) field of a document."""
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        lowered = {k.lower(): v for k, v in value.items()}
        value = lowered.get(part.lower())
    return value


def _literal(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    if match := _GUID.match(text):
        return match.group(1).lower()
    if match := _DATETIME.match(text):
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if text.lower() == "null":
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise XeroValueError(f"Cannot read the value {text} in the where filter") from None


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if isinstance(expected, date):
        if not actual:
            return False
        actual = parse_date(actual)
    elif isinstance(expected, Decimal):
        try:
            actual = Decimal(str(actual))
        except InvalidOperation:
            return False
    elif isinstance(expected, str) and isinstance(actual, str) and _GUID.match(f'Guid("{expected}")'):
        actual = actual.lower()
    if op == "==":
        return actual == expected
    if op == "!=":
        return actual != expected
    if actual is None or expected is None:
        return False
    try:
        return {
            ">": actual > expected,
            "<": actual < expected,
            ">=": actual >= expected,
            "<=": actual <= expected,
        }[op]
    except TypeError:
        return False


def _atom(text: str) -> Callable[[dict[str, Any]], bool]:
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    match = _ATOM.match(text)
    if not match:
        raise XeroValueError(f"The where filter '{text}' is not supported by the sandbox")
    field, neg = match.group("field"), bool(match.group("neg"))
    if match.group("method"):
        method, arg = match.group("method").lower(), match.group("arg")

        def test(doc: dict[str, Any]) -> bool:
            value = str(field_value(doc, field) or "")
            hit = {
                "contains": arg in value,
                "startswith": value.startswith(arg),
                "endswith": value.endswith(arg),
            }[method]
            return hit != neg

        return test
    op, expected = match.group("op"), _literal(match.group("value"))
    return lambda doc: _compare(field_value(doc, field), op, expected) != neg


def compile_where(expr: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate for Xero's ``where`` filter (``==``, ``!=``, ``<``..., ``.Contains()``, AND/OR)."""
    alternatives = [[_atom(a) for a in _AND.split(part)] for part in _OR.split(expr.strip())]
    return lambda doc: any(all(test(doc) for test in group) for group in alternatives)


def sort_documents(docs: list[dict[str, Any]], order: str | None) -> list[dict[str, Any]]:
    """Sort by Xero's ``order`` parameter (``Field [ASC|DESC]``, comma-separated)."""
    if not order:
        return docs
    for part in reversed([p.strip() for p in order.split(",") if p.strip()]):
        bits = part.split()
        reverse = len(bits) > 1 and bits[1].upper() == "DESC"
        docs = sorted(docs, key=lambda d, f=bits[0]: str(field_value(d, f) or ""), reverse=reverse)
    return docs
