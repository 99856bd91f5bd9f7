"""Xero's values as the sandbox reproduces them: dates, amounts, errors and JSON shapes.

Documents are stored with ISO dates (``"2025-01-31"``), ISO UTC timestamps and amounts as decimal strings;
:func:`present` turns them into what Xero sends (``/Date(ms+0000)/`` dates, numbers) and :func:`plain` into
Python values (``Decimal`` amounts, ISO dates) for the sandbox's Python API.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from .. import seed

ZERO_ID = "00000000-0000-0000-0000-000000000000"
PROVIDER_NAME = seed.DEMO_APP_NAME
MONEY_KEYS = frozenset(
    {
        "SubTotal",
        "TotalTax",
        "Total",
        "AmountDue",
        "AmountPaid",
        "AmountCredited",
        "RemainingCredit",
        "LineAmount",
        "UnitAmount",
        "Quantity",
        "TaxAmount",
        "CurrencyRate",
        "Amount",
        "AppliedAmount",
    }
)
DATE_KEYS = frozenset({"Date", "DueDate", "FullyPaidOnDate", "PeriodLockDate", "EndOfYearLockDate"})
TIMESTAMP_KEYS = frozenset({"UpdatedDateUTC", "CreatedDateUTC"})
LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")
TWO_PLACES = Decimal("0.01")
# Units of a foreign currency per unit of the (HKD) base currency, as Xero's CurrencyRate; fixed in the sandbox.
FIXED_RATES = {"USD": "0.128205", "EUR": "0.118", "GBP": "0.101", "CNY": "0.92", "SGD": "0.172"}

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{2,4})?\)/$")


class XeroValueError(ValueError):
    """A request value the sandbox cannot read (answered with a 400)."""


# --- time, dates and amounts -------------------------------------------------------------------------------


def utcnow() -> datetime:
    """Now, in UTC (through ``datetime.now`` so freezegun can move it)."""
    return datetime.now(timezone.utc)


def timestamp_now() -> str:
    """Now as the ISO UTC timestamp stored in documents (no time zone suffix, like Xero's)."""
    return utcnow().replace(tzinfo=None).isoformat(timespec="milliseconds")


def parse_date(value: Any) -> date:
    """A date from Xero's ``/Date(ms+0000)/`` form or an ISO date / datetime string."""
    if isinstance(value, date):
        return value.date() if isinstance(value, datetime) else value
    text = str(value).strip()
    match = _MS_DATE.match(text)
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, timezone.utc).date()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise XeroValueError(f"'{text}' is not a valid date") from None


def parse_timestamp(value: str) -> datetime:
    """An aware UTC datetime from an ISO string, an HTTP date or ``/Date(ms)/``."""
    from email.utils import parsedate_to_datetime

    text = value.strip()
    match = _MS_DATE.match(text)
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, timezone.utc)
    try:
        result = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            result = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            raise XeroValueError(f"'{text}' is not a valid date and time") from None
    if result.tzinfo is None:
        result = result.replace(tzinfo=timezone.utc)
    return result.astimezone(timezone.utc)


def ms_date(value: str | date | None) -> str | None:
    """Xero's JSON date, e.g. ``/Date(1738281600000+0000)/``, from an ISO date or timestamp."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = parse_timestamp(value)
    elif not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    millis = int(value.replace(tzinfo=value.tzinfo or timezone.utc).timestamp() * 1000)
    return f"/Date({millis}+0000)/"


def dec(value: Any, what: str) -> Decimal:
    """A Decimal from a JSON number or string."""
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise XeroValueError(f"{what} '{value}' is not a number") from None
    if not result.is_finite():
        raise XeroValueError(f"{what} '{value}' is not a number")
    return result


def money(value: Decimal, places: Decimal = TWO_PLACES) -> str:
    """An amount rounded half up, as stored."""
    return str(value.quantize(places, rounding=ROUND_HALF_UP))


def _convert(value: Any, key: str | None, ms: bool) -> Any:
    if isinstance(value, dict):
        # Xero leaves out what has no value (the SDK cannot read a null date)
        return {k: _convert(v, k, ms) for k, v in value.items() if not k.startswith("_") and v is not None}
    if isinstance(value, list):
        return [_convert(v, None, ms) for v in value]
    if key in MONEY_KEYS and isinstance(value, (str, int, float)):
        return Decimal(str(value))
    if ms and key in DATE_KEYS | TIMESTAMP_KEYS and isinstance(value, str) and value:
        return ms_date(value)
    return value


def present(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored document as Xero sends it (``/Date()/`` dates, DateString fields, numbers)."""
    result = _convert(doc, None, True)
    for key in ("Date", "DueDate"):
        if doc.get(key):
            result[f"{key}String"] = f"{doc[key]}T00:00:00"
    return result


def plain(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored document for Python callers: ISO dates, ``Decimal`` amounts, no sandbox metadata."""
    return _convert(doc, None, False)


def envelope(key: str, items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """The wrapper Xero puts around accounting answers."""
    body = {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": PROVIDER_NAME,
        "DateTimeUTC": ms_date(utcnow()),
        key: items,
    }
    body.update(extra)
    return body


def validation_exception(
    elements: list[dict[str, Any]], message: str = "A validation exception occurred"
) -> dict[str, Any]:
    """Xero's 400 body for documents that failed validation."""
    return {"ErrorNumber": 10, "Type": "ValidationException", "Message": message, "Elements": elements}
