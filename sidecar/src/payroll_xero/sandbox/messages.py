"""The sandbox's requests and answers, as the HTTP layer hands them over and sends them back."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl

from .xero import XeroValueError


@dataclass
class Request:
    """What the HTTP layer hands to :meth:`App.dispatch`."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: Message
    body: bytes = b""

    def param(self, name: str) -> str | None:
        """A query parameter, its name compared case-insensitively (last one wins)."""
        found = None
        for key, value in self.query:
            if key.lower() == name.lower():
                found = value
        return found

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean query parameter (``true``/``True``/``1``)."""
        value = self.param(name)
        return default if value is None else value.strip().lower() in ("true", "1", "yes")

    def form(self) -> list[tuple[str, str]]:
        """The form-encoded body."""
        return parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True)

    def json(self) -> Any:
        """The JSON body (amounts as Decimal)."""
        try:
            return json.loads(self.body.decode("utf-8") or "null", parse_float=Decimal)
        except (UnicodeDecodeError, ValueError) as exc:
            raise XeroValueError(f"The request body is not valid JSON: {exc}") from None


@dataclass
class Response:
    """What the HTTP layer sends back (nothing at all when ``drop`` is set)."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer."""
    data = json.dumps(body, default=_json_default).encode()
    return Response(status, data, {"Content-Type": "application/json; charset=utf-8", **(headers or {})})


def html_response(status: int, page: str, headers: dict[str, str] | None = None) -> Response:
    """An HTML answer."""
    return Response(status, page.encode(), {"Content-Type": "text/html; charset=utf-8", **(headers or {})})


def problem_response(status: int, title: str, detail: str) -> Response:
    return json_response(
        status,
        {
            "Type": None,
            "Title": title,
            "Status": status,
            "Detail": detail,
            "Instance": str(uuid.uuid4()),
            "Extensions": {},
        },
    )


def not_found(what: str = "The resource you're looking for cannot be found") -> Response:
    return problem_response(404, "NotFound", what)


def bad_request(message: str, type_: str = "ValidationException") -> Response:
    return json_response(
        400,
        {
            "ErrorNumber": 10 if type_ == "ValidationException" else 14,
            "Type": type_,
            "Message": message,
            "Elements": [],
        },
    )


def csv_list(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]
