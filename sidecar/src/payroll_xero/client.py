"""Send bills to one Xero organisation through the official SDK (``xero-python``).

Everything that reaches Xero's accounting API goes through one seam,
:meth:`XeroClient._call`: it takes a slot from the per-tenant rate limiter,
makes sure the access token is fresh (refreshing through :mod:`payroll_xero.oauth`
and saving the rotated token first), sets the timeout and the Idempotency-Key,
logs with Xero's correlation id (never a token, never ``str(ApiException)``),
and turns the SDK's exceptions into :mod:`payroll_xero.errors`.

SDK quirks handled here (see XERO.md):

* urllib3's own retries are switched off (``Retry(0)``): the SDK would otherwise
  sleep on ``Retry-After`` by itself and silently resend PUTs after a dropped
  connection; this module decides when to wait and when to look up first;
* the timeout is always a ``(connect, read)`` tuple (a float is ignored);
* ``Configuration`` is built empty then assigned (its constructor caches);
* the SDK never refreshes the token itself: the getter hands it an access token
  without expiry nor refresh token, so ``TokenApi``'s hard-coded URLs are unused;
* dates are ``date`` objects, enums are enum members, scope is a list.

Credit notes (``ACCPAYCREDIT``) carry the bill's stable number in
``CreditNoteNumber`` (user-settable on supplier credit notes); they are found
again with ``where=CreditNoteNumber=="..."``. Bills carry it in ``InvoiceNumber``
and are found with ``InvoiceNumbers=...&ContactIDs=...&createdByMyApp=true``.
Credit notes have no ``Url`` field in Xero, so a bill's url is not sent on them.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import json
import logging
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import requests
import urllib3
from xero_python.accounting import AccountingApi
from xero_python.accounting.models import (
    Contact,
    Contacts,
    CreditNote,
    CreditNotes,
    CurrencyCode,
    Invoice,
    Invoices,
    LineAmountTypes,
    LineItem,
    LineItemTracking,
)
from xero_python.api_client import ApiClient
from xero_python.api_client.configuration import Configuration
from xero_python.api_client.oauth2 import OAuth2Token
from xero_python.exceptions import ApiException, HTTPStatusException
from xero_python.identity import IdentityApi

from . import oauth
from .bills import ACCPAYCREDIT, Bill
from .errors import (
    NotFound,
    OutcomeUnknown,
    RateLimited,
    ReconnectNeeded,
    ValidationFailed,
    XeroError,
    XeroUnavailable,
)
from .oauth import Tenant, Token, XeroEndpoints

_logger = logging.getLogger(__name__)

BATCH_SIZE = 50  # documents per create call (Xero suggests about 50)
LOOKUP_BATCH = 25  # numbers per lookup call (keeps URLs short)
MAX_IDEMPOTENCY_KEY = 128
GONE_STATUSES = ("DELETED", "VOIDED")
STATUS_PAGE = 100  # documents per page when reading statuses back (Xero's page size)
IDS_BATCH = 50  # ids per IDs= call: Xero's gateway answers 404 past ~52 GUIDs (XeroAPI/Xero-OpenAPI#534)
CREDIT_IDS_BATCH = 25  # credit notes per where=CreditNoteID==Guid(...) OR ... call (URL length)
CLOCK_MARGIN = timedelta(
    minutes=5
)  # our clock vs Xero's: a watermark never passes the run's start minus this


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Organisation:
    organisation_id: str
    name: str
    base_currency: str
    currencies: tuple[str, ...]
    country_code: str | None = None
    short_code: str | None = None


@dataclass(frozen=True, slots=True)
class Account:
    account_id: str
    code: str | None
    name: str
    type: str | None
    status: str | None
    account_class: str | None = None
    tax_type: str | None = None
    system_account: str | None = None
    updated: datetime | None = None

    @property
    def is_postable(self) -> bool:
        """ACTIVE, with a code, and not a system account."""
        return bool(self.code) and self.status == "ACTIVE" and not self.system_account


@dataclass(frozen=True, slots=True)
class TrackingCategory:
    tracking_category_id: str
    name: str
    status: str | None
    options: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class XeroBillLine:
    """One line of a bill or credit note as it is in Xero (``amount`` is its LineAmount)."""

    account_code: str | None
    description: str | None
    amount: Decimal | None
    # (category name, option name) pairs, as Xero names them.
    tracking: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class XeroBill:
    """A bill or supplier credit note as it is in Xero.

    The content fields (contact name, dates, reference, currency, lines) are what a
    document read from Xero says; a document built from a status change only may leave
    them empty. :func:`bill_differences` compares them with a :class:`~payroll_xero.bills.Bill`.
    """

    xero_id: str
    number: str | None
    status: str | None
    total: Decimal | None
    contact_id: str | None
    is_credit_note: bool = False
    amount_paid: Decimal = Decimal(0)
    contact_name: str | None = None
    date: date | None = None
    due_date: date | None = None
    reference: str | None = None
    currency: str | None = None
    line_amount_types: str | None = None
    lines: tuple[XeroBillLine, ...] = ()
    amount_due: Decimal | None = None
    fully_paid_on: date | None = None
    updated_at: datetime | None = None  # aware UTC: Xero's UpdatedDateUTC


@dataclass(frozen=True, slots=True)
class StatusPage:
    """One page of documents read back from Xero by :meth:`XeroClient.changed_bills`.

    ``watermark`` is where a later run may resume once this page is saved: every document
    modified before it has been read (bills and credit notes alike).
    """

    bills: tuple[XeroBill, ...]
    watermark: datetime | None
    credit_notes: bool
    calls: int = 1


@dataclass(frozen=True, slots=True)
class PushResult:
    """What happened to one bill: created, already there, or refused (``errors``)."""

    invoice_number: str
    ok: bool
    xero_id: str | None = None
    xero_number: str | None = None
    status: str | None = None
    total: Decimal | None = None
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    created: bool = False
    already_existed: bool = False
    is_credit_note: bool = False
    contact_id: str | None = None
    # For a bill found in Xero (``already_existed``): how its content differs from the bill
    # pushed, as readable sentences (see :func:`bill_differences`); empty when the same.
    differences: tuple[str, ...] = ()


# --------------------------------------------------------------------------- rate limiter


class TenantLimiter:
    """In-process limits for one organisation: at most ``per_minute`` calls in any rolling
    60 s and at most ``concurrent`` calls in flight. Thread-safe; ``clock`` and ``sleep`` are
    injectable so tests need not wait.

    Xero counts a call when it arrives, which is after the slot was taken and before the
    answer came back: so a call is counted from when its slot is taken, and, once it is
    done, from when it ended. A slot therefore frees no earlier than Xero's own count does.
    """

    def __init__(
        self,
        per_minute: int = 60,
        concurrent: int = 5,
        *,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_minute = per_minute
        self.concurrent = concurrent
        self.window = window
        self.clock = clock
        self.sleep = sleep
        self.starts: list[float] = []  # sorted: when each call of the window was (last) counted
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(concurrent)
        self.waited = 0.0  # total time spent waiting for the minute window

    def _take_minute_slot(self) -> float:
        while True:
            with self._lock:
                now = self.clock()
                cut = bisect.bisect_right(self.starts, now - self.window)
                del self.starts[:cut]
                if len(self.starts) < self.per_minute:
                    bisect.insort(self.starts, now)
                    return now
                wait = self.starts[0] + self.window - now
            self.waited += wait
            self.sleep(max(wait, 0.001))

    def _call_ended(self, started: float) -> None:
        with self._lock:
            idx = bisect.bisect_left(self.starts, started)
            if idx < len(self.starts) and self.starts[idx] == started:
                del self.starts[idx]
                bisect.insort(self.starts, max(started, self.clock()))

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        self._slots.acquire()
        try:
            started = self._take_minute_slot()
            try:
                yield
            finally:
                self._call_ended(started)
        finally:
            self._slots.release()


_LIMITERS: dict[str, TenantLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def limiter_for(tenant_id: str) -> TenantLimiter:
    """The process-wide limiter of ``tenant_id`` (shared by every client of that tenant)."""
    with _LIMITERS_LOCK:
        limiter = _LIMITERS.get(tenant_id)
        if limiter is None:
            limiter = _LIMITERS[tenant_id] = TenantLimiter()
        return limiter


# --------------------------------------------------------------------------- helpers


class _Unknown(Exception):
    """A write was (maybe) applied but its answer was lost."""

    def __init__(self, reason: str, correlation_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.correlation_id = correlation_id


class _NotModified(Exception):
    pass


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    try:
        value = headers.get(name)
    except AttributeError:
        value = None
    if value is None:
        lname = name.lower()
        for key, val in dict(headers).items():
            if key.lower() == lname:
                return val
    return value


def _enum_value(value: Any) -> Any:
    return getattr(value, "value", value)


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value))


def _where_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


_GUID = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")


def _guid(value: str) -> str:
    """A Xero id, checked before it goes into a ``where`` filter."""
    if not _GUID.match(value):
        raise ValueError(f"not a Xero id: {value!r}")
    return value


def _chunks(items: Sequence, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def idempotency_key(operation: str, tenant_id: str, parts: Iterable[str]) -> str:
    """A stable key (<= 128 chars) for ``operation`` on the given parts: same input, same key."""
    digest = hashlib.sha256("\n".join([operation, tenant_id, *sorted(parts)]).encode()).hexdigest()
    return f"payroll-xero-{operation}-{digest}"[:MAX_IDEMPOTENCY_KEY]


def _messages(items: Any) -> list[str]:
    out = []
    for item in items or ():
        msg = getattr(item, "message", None)
        if msg is None and isinstance(item, dict):
            msg = item.get("Message")
        if msg:
            out.append(str(msg))
    return out


def _mentions(message: str, word: str) -> bool:
    return bool(word) and re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", message) is not None


def _line_refs(bill: Bill, message: str) -> str:
    """Name the lines of ``bill`` a Xero message is about (by account code or tracking option,
    else by tracking category)."""
    for words_of in (
        lambda line: [line.account_code, *(opt for _cat, opt in line.tracking)],
        lambda line: [cat for cat, _opt in line.tracking],
    ):
        hits = [
            f"line {idx} ({line.description}, account {line.account_code})"
            for idx, line in enumerate(bill.lines, start=1)
            if any(_mentions(message, w) for w in words_of(line))
        ]
        if hits:
            return ", ".join(hits)
    return ""


def readable_errors(bill: Bill, messages: Iterable[str]) -> tuple[str, ...]:
    """Xero's messages for ``bill``, each prefixed with the bill number and the lines it concerns."""
    out = []
    for message in messages:
        refs = _line_refs(bill, message)
        where = f"{bill.invoice_number}, {refs}" if refs else bill.invoice_number
        out.append(f"{where}: {message}")
    return tuple(out)


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def _utc(value: Any) -> datetime | None:
    """An SDK timestamp as an aware UTC datetime (the SDK may hand it naive, meaning UTC)."""
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _lines_from_model(items: Any) -> tuple[XeroBillLine, ...]:
    return tuple(
        XeroBillLine(
            account_code=getattr(item, "account_code", None),
            description=getattr(item, "description", None),
            amount=_decimal(getattr(item, "line_amount", None)),
            tracking=tuple(
                (str(t.name or ""), str(t.option or "")) for t in (getattr(item, "tracking", None) or ())
            ),
        )
        for item in items or ()
    )


def _bill_from_model(doc: Any, credit_note: bool) -> XeroBill:
    contact = getattr(doc, "contact", None)
    content = {
        "contact_id": getattr(contact, "contact_id", None),
        "contact_name": getattr(contact, "name", None),
        "date": _as_date(getattr(doc, "date", None)),
        "reference": getattr(doc, "reference", None),
        "currency": _enum_value(getattr(doc, "currency_code", None)),
        "line_amount_types": _enum_value(getattr(doc, "line_amount_types", None)),
        "lines": _lines_from_model(getattr(doc, "line_items", None)),
        "total": _decimal(doc.total),
        "status": doc.status,
        "fully_paid_on": _as_date(getattr(doc, "fully_paid_on_date", None)),
        "updated_at": _utc(getattr(doc, "updated_date_utc", None)),
    }
    if credit_note:
        return XeroBill(
            xero_id=doc.credit_note_id,
            number=doc.credit_note_number,
            is_credit_note=True,
            amount_paid=_decimal(doc.applied_amount) or Decimal(0),
            amount_due=_decimal(getattr(doc, "remaining_credit", None)),
            **content,
        )
    return XeroBill(
        xero_id=doc.invoice_id,
        number=doc.invoice_number,
        amount_paid=_decimal(doc.amount_paid) or Decimal(0),
        amount_due=_decimal(getattr(doc, "amount_due", None)),
        due_date=_as_date(getattr(doc, "due_date", None)),
        **content,
    )


_CENT = Decimal("0.01")


def _money(value: Any) -> Decimal | None:
    """An amount rounded as Xero keeps it (2 places); None when it is not a number."""
    if value is None:
        return None
    try:
        return Decimal(str(value)).quantize(_CENT, ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return None


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "nothing"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return f'"{value}"'


def _same_text(a: str | None, b: str | None) -> bool:
    return (a or "").strip() == (b or "").strip()


def _tracking_key(tracking: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return sorted((cat.strip().casefold(), opt.strip().casefold()) for cat, opt in tracking)


def _tracking_text(tracking: Iterable[tuple[str, str]]) -> str:
    pairs = [f"{cat}: {opt}" for cat, opt in tracking]
    return ", ".join(pairs) if pairs else "none"


def bill_differences(bill: Bill, found: XeroBill, contact_id: str | None = None) -> tuple[str, ...]:
    """How the document ``found`` in Xero differs from ``bill``, as readable sentences.

    Compared: the contact (by ``contact_id`` when given, else by name), date, due date (bills),
    reference (the number), currency, line amount types, the number of lines and, line by line
    in the order sent, account, amount, description and tracking, and the total. Amounts are
    compared as Xero keeps them (rounded to 2 places). Empty when the content is the same.
    """
    out: list[str] = []

    def differ(what: str, in_xero: Any, here: Any) -> None:
        out.append(f"{what}: {_shown(in_xero)} in Xero, {_shown(here)} in the bill sent.")

    if contact_id is not None:
        if found.contact_id != contact_id:
            name = f" ({found.contact_name})" if found.contact_name else ""
            out.append(
                f"contact: another contact in Xero{name} than the bill's ({bill.contact_name}, {contact_id})."
            )
    elif found.contact_name is not None:
        names = {bill.contact_name.strip().casefold()}
        if bill.contact_number:
            names.add(f"{bill.contact_name.strip()} ({bill.contact_number})".casefold())
        if found.contact_name.strip().casefold() not in names:
            differ("contact", found.contact_name, bill.contact_name)
    if found.date != bill.date:
        differ("date", found.date, bill.date)
    if not bill.is_credit_note and found.due_date != bill.due_date:
        differ("due date", found.due_date, bill.due_date)
    if not _same_text(found.number, bill.invoice_number):
        differ("reference", found.number, bill.invoice_number)
    if (found.currency or "").upper() != bill.currency.upper():
        differ("currency", found.currency, bill.currency)
    if found.line_amount_types is not None and found.line_amount_types != bill.line_amount_types:
        differ("line amounts", found.line_amount_types, bill.line_amount_types)
    if len(found.lines) != len(bill.lines):
        out.append(f"lines: {len(found.lines)} in Xero, {len(bill.lines)} in the bill sent.")
    for idx, (there, line) in enumerate(zip(found.lines, bill.lines, strict=False), start=1):
        where = f"line {idx} ({line.description})"
        if not _same_text(there.account_code, line.account_code):
            differ(f"{where}, account", there.account_code, line.account_code)
        if _money(there.amount) != _money(line.amount):
            differ(f"{where}, amount", _money(there.amount), _money(line.amount))
        if not _same_text(there.description, line.description):
            differ(f"line {idx}, description", there.description, line.description)
        if _tracking_key(there.tracking) != _tracking_key(line.tracking):
            out.append(
                f"{where}, tracking: {_tracking_text(there.tracking)} in Xero, "
                f"{_tracking_text(line.tracking)} in the bill sent."
            )
    if _money(found.total) != _money(bill.total):
        differ("total", _money(found.total), _money(bill.total))
    return tuple(out)


def _found_result(bill: Bill, found: XeroBill, *, created: bool, contact_id: str | None = None) -> PushResult:
    return PushResult(
        invoice_number=bill.invoice_number,
        ok=True,
        xero_id=found.xero_id,
        xero_number=found.number,
        status=found.status,
        total=found.total,
        created=created,
        already_existed=not created,
        is_credit_note=bill.is_credit_note,
        contact_id=found.contact_id,
        differences=bill_differences(bill, found, contact_id),
    )


# The SDK's models default these read-only flags to False and so always send them; the
# contract marks them read-only: build the models without them.
_NO_READ_ONLY = {"has_attachments": None}


def _contact(**fields: Any) -> Contact:
    return Contact(**_NO_READ_ONLY, has_validation_errors=None, **fields)


def _invoice(**fields: Any) -> Invoice:
    return Invoice(**_NO_READ_ONLY, has_errors=None, **fields)


def _credit_note(**fields: Any) -> CreditNote:
    return CreditNote(**_NO_READ_ONLY, has_errors=None, **fields)


def _error_result(bill: Bill, errors: Iterable[str]) -> PushResult:
    return PushResult(
        invoice_number=bill.invoice_number,
        ok=False,
        errors=tuple(errors),
        is_credit_note=bill.is_credit_note,
    )


# --------------------------------------------------------------------------- client


class XeroClient:
    """One Xero organisation (``tenant_id``) seen through one app.

    ``get_token`` returns the current stored :class:`~payroll_xero.oauth.Token`
    (re-read before each call, so a token rotated by another worker is picked
    up); ``save_token`` stores a rotated token and is called before the new
    token is used. ``sleep``, ``limiter`` and ``rng`` are injectable for tests.

    ``refresh``, when given, does every refresh: the one made shortly before the
    access token expires and the one forced by a 401. It is called with the token
    the client found stale and returns the token to use; it is the caller's job to
    rotate it under its own lock (e.g. a database row lock) and to store it, so the
    client then never calls :func:`payroll_xero.oauth.refresh` nor ``save_token``.
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        tenant_id: str,
        get_token: Callable[[], Token],
        save_token: Callable[[Token], None],
        endpoints: XeroEndpoints = oauth.XERO,
        timeout: tuple[float, float] = (5, 30),
        max_attempts: int = 3,
        max_wait: float = oauth.MAX_RATE_WAIT,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        limiter: TenantLimiter | None = None,
        rng: Callable[[], float] = random.random,
        refresh_margin: float = oauth.REFRESH_MARGIN,
        refresh: Callable[[Token], Token] | None = None,
    ) -> None:
        if not (isinstance(timeout, tuple) and len(timeout) == 2):
            raise ValueError("timeout must be a (connect, read) tuple")
        self.client_id = client_id
        self._client_secret = client_secret
        self.tenant_id = tenant_id
        self._get_token = get_token
        self._save_token = save_token
        self._refresh = refresh
        self.endpoints = endpoints
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.max_wait = max_wait
        self.backoff = backoff
        self.sleep = sleep
        self.limiter = limiter or limiter_for(tenant_id)
        self.rng = rng
        self.refresh_margin = refresh_margin
        self.last_rate_limits: dict[str, str] = {}
        self._refresh_lock = threading.Lock()
        self._local = threading.local()
        self._contacts: dict[tuple[str, str], str] = {}
        self._generation: dict[str, str] = {}  # invoice_number -> ids of its deleted/voided predecessors
        self._session = requests.Session()

        # Configuration caches its first instance: build it empty, then assign.
        config = Configuration()
        config.debug = False  # httplib debug output would print the Authorization header
        config.oauth2_token = OAuth2Token(client_id=client_id, client_secret=client_secret)
        self.api_client = ApiClient(
            config,
            pool_threads=1,
            oauth2_token_getter=self._sdk_token,
            oauth2_token_saver=self._sdk_save,
        )
        # urllib3 must neither sleep on Retry-After nor resend anything by itself.
        pool_manager = self.api_client.rest_client.pool_manager
        pool_manager.connection_pool_kw["retries"] = urllib3.Retry(
            total=0,
            connect=0,
            read=0,
            redirect=0,
            status=0,
            other=0,
            respect_retry_after_header=False,
            raise_on_redirect=False,
            raise_on_status=False,
        )
        # Nor follow a redirect (the Authorization header would go with it): urllib3 before 2.5
        # ignores the pool's redirect=0 when the PoolManager follows redirects itself.
        pool_manager.urlopen = _no_redirects(pool_manager.urlopen)
        self.accounting = AccountingApi(self.api_client, base_url=endpoints.accounting_url)
        self.identity = IdentityApi(self.api_client, base_url=endpoints.api_url)

    # ----------------------------------------------------------------- tokens

    def _sdk_token(self) -> dict[str, Any]:
        token: Token = self._local.token
        # No refresh token and no expiry: the SDK never refreshes on its own.
        return {
            "access_token": token.access_token,
            "token_type": "Bearer",
            "scope": list(token.scopes),
            "expires_in": None,
            "expires_at": None,
        }

    def _sdk_save(self, token: dict) -> None:  # pragma: no cover - the SDK never refreshes here
        raise XeroError("The Xero SDK tried to refresh the token by itself; this should not happen.")

    def _fresh_token(self, force: bool = False, stale: Token | None = None) -> Token:
        token = self._get_token()
        if not force and not token.expires_within(self.refresh_margin):
            return token
        with self._refresh_lock:
            current = self._get_token()
            rotated_elsewhere = stale is not None and current.access_token != stale.access_token
            if (rotated_elsewhere or not force) and not current.expires_within(self.refresh_margin):
                return current
            _logger.info("Xero tenant %s: refreshing the access token", self.tenant_id)
            if self._refresh is not None:
                return self._refresh(current)
            return oauth.refresh(
                self.client_id,
                self._client_secret,
                current,
                self._save_token,
                endpoints=self.endpoints,
                timeout=self.timeout,
                session=self._session,
                sleep=self.sleep,
                max_wait=self.max_wait,
            )

    def refresh_token(self) -> Token:
        """Refresh now (rotating the refresh token; ``save_token`` is called first, or the
        ``refresh`` callback does it all)."""
        return self._fresh_token(force=True)

    # ----------------------------------------------------------------- the seam

    def _backoff(self, attempt: int) -> None:
        delay = min(30.0, self.backoff * 2 ** (attempt - 1)) * (0.5 + self.rng())
        self.sleep(delay)

    def _call(
        self,
        operation: str,
        fn: Callable[..., Any],
        *args: Any,
        write: bool = False,
        resend_safe: bool = True,
        tenant: bool = True,
        **kwargs: Any,
    ) -> Any:
        """Make one API call with limits, token, timeout, logging and error mapping.

        ``write`` calls that are not ``resend_safe`` (creations) raise ``_Unknown``
        when the outcome is unknown (timeout after sending, dropped connection,
        5xx), so the caller can look the documents up before sending again.
        Everything else is retried here with exponential backoff and jitter.
        """
        attempt = 0
        refreshed = False
        rate_waits = 0
        token = self._fresh_token()
        while True:
            attempt += 1
            call_id = uuid.uuid4().hex[:12]
            self._local.token = token
            started = time.monotonic()
            failure: str
            correlation: str | None = None
            try:
                with self.limiter.slot():
                    call_args = (self.tenant_id, *args) if tenant else args
                    data, status, headers = fn(
                        *call_args,
                        _return_http_data_only=False,
                        _request_timeout=self.timeout,
                        **kwargs,
                    )
            except HTTPStatusException as exc:
                status = exc.http_resp.status if exc.http_resp is not None else 0
                headers = exc.headers or {}
                correlation = _header(headers, "Xero-Correlation-Id")
                self._remember_limits(headers)
                _logger.warning(
                    "Xero %s [%s] tenant %s -> HTTP %s in %.2fs (correlation %s)",
                    operation,
                    call_id,
                    self.tenant_id,
                    status,
                    time.monotonic() - started,
                    correlation or "-",
                )
                if status == 429:
                    retry_after = self._retry_after(headers)
                    problem = _header(headers, "X-Rate-Limit-Problem") or "unknown"
                    if retry_after <= self.max_wait and rate_waits < self.max_attempts:
                        rate_waits += 1
                        _logger.info(
                            "Xero %s [%s]: %s limit, waiting %.0fs", operation, call_id, problem, retry_after
                        )
                        self.sleep(retry_after)
                        attempt -= 1
                        continue
                    raise RateLimited(
                        datetime.now(timezone.utc) + timedelta(seconds=retry_after),
                        problem,
                        correlation_id=correlation,
                    ) from None
                if status == 401:
                    if not refreshed:
                        refreshed = True
                        token = self._fresh_token(force=True, stale=token)
                        attempt -= 1
                        continue
                    raise ReconnectNeeded(
                        "Xero no longer accepts this connection's access token: connect to Xero again.",
                        correlation_id=correlation,
                    ) from None
                if status == 403:
                    raise ReconnectNeeded(
                        "Xero refused access to this organisation (it was disconnected, or the app lacks a "
                        "permission): connect to Xero again.",
                        correlation_id=correlation,
                    ) from None
                if status == 404:
                    raise NotFound(
                        f"Xero has no such record ({operation}).", correlation_id=correlation
                    ) from None
                if status == 304:
                    raise _NotModified() from None
                if status == 400:
                    raise self._validation_error(exc, operation, correlation) from None
                if status < 500:
                    raise XeroError(
                        f"Xero refused the request ({operation}, HTTP {status}).", correlation_id=correlation
                    ) from None
                failure = f"HTTP {status}"
                sent = True
            except urllib3.exceptions.HTTPError as exc:
                cause = exc.reason if isinstance(exc, urllib3.exceptions.MaxRetryError) else exc
                sent = not isinstance(cause, urllib3.exceptions.ConnectTimeoutError)
                failure = type(cause).__name__
                _logger.warning(
                    "Xero %s [%s] tenant %s failed after %.2fs: %s",
                    operation,
                    call_id,
                    self.tenant_id,
                    time.monotonic() - started,
                    failure,
                )
            except (ValueError, TypeError, AttributeError) as exc:
                # The SDK could not read Xero's answer (e.g. a null where it wants a date): the call
                # may well have been applied, so a creation is treated as an unknown outcome.
                failure = f"unreadable answer ({type(exc).__name__})"
                sent = True
                _logger.warning("Xero %s [%s] tenant %s: %s", operation, call_id, self.tenant_id, failure)
                if not (write and not resend_safe):
                    raise XeroError(
                        f"Xero's answer could not be read ({operation}); try again later."
                    ) from None
            except ApiException as exc:  # SSL errors and the like: no response, never sent in full
                failure = type(exc).__name__
                sent = False
                _logger.warning(
                    "Xero %s [%s] tenant %s failed: %s", operation, call_id, self.tenant_id, failure
                )
            else:
                correlation = _header(headers, "Xero-Correlation-Id")
                self._remember_limits(headers)
                _logger.info(
                    "Xero %s [%s] tenant %s -> HTTP %s in %.2fs (correlation %s, left: %s/minute %s/day)",
                    operation,
                    call_id,
                    self.tenant_id,
                    status,
                    time.monotonic() - started,
                    correlation or "-",
                    self.last_rate_limits.get("minute", "-"),
                    self.last_rate_limits.get("day", "-"),
                )
                return data

            if write and sent and not resend_safe:
                raise _Unknown(failure, correlation)
            if attempt >= self.max_attempts:
                raise XeroUnavailable(
                    f"Xero is unavailable ({operation}: {failure} after {attempt} attempts): retry later.",
                    correlation_id=correlation,
                )
            self._backoff(attempt)

    def _retry_after(self, headers: Any) -> float:
        raw = _header(headers, "Retry-After")
        try:
            return max(0.0, float(raw)) if raw is not None else 60.0
        except ValueError:
            return 60.0

    def _remember_limits(self, headers: Any) -> None:
        for name, key in (("X-MinLimit-Remaining", "minute"), ("X-DayLimit-Remaining", "day")):
            value = _header(headers, name)
            if value is not None:
                self.last_rate_limits[key] = value

    def _validation_error(self, exc: HTTPStatusException, operation: str, correlation: str | None):
        try:
            data = exc.error_data if hasattr(exc, "error_data") else None
        except ValueError:
            data = None
        messages: list[str] = []
        elements: list[list[str]] = []
        if isinstance(data, dict):
            for element in data.get("Elements") or ():
                msgs = _messages(element.get("ValidationErrors"))
                elements.append(msgs)
                messages.extend(msgs)
            if not messages and data.get("Message"):
                messages.append(str(data["Message"]))
        error = ValidationFailed(messages, subject=None, correlation_id=correlation)
        error.elements = elements  # type: ignore[attr-defined]
        _logger.warning("Xero %s refused: %s", operation, "; ".join(error.errors))
        return error

    # ----------------------------------------------------------------- reads

    def connections(self) -> list[Tenant]:
        """The organisations this token reaches (through the SDK's IdentityApi)."""
        rows = self._call("connections", self.identity.get_connections, tenant=False)
        return [
            Tenant(
                tenant_id=r.tenant_id,
                tenant_name=r.tenant_name or "",
                tenant_type=r.tenant_type or "",
                connection_id=r.id or "",
                auth_event_id=r.auth_event_id,
            )
            for r in rows or ()
        ]

    def organisation(self) -> Organisation:
        """Name, base currency and enabled currencies (Organisation + Currencies: two calls)."""
        # Read as plain JSON: the SDK's Organisation model fails on a null PeriodLockDate.
        raw = self._call("organisation", self.accounting.get_organisations, _preload_content=False)
        try:
            orgs = json.loads(raw.data).get("Organisations") or []
        except (ValueError, AttributeError):
            raise XeroError("Xero's organisation answer could not be read; try again later.") from None
        if not orgs:
            raise NotFound("Xero returned no organisation for this tenant.")
        org = orgs[0]
        currencies = self._call("currencies", self.accounting.get_currencies).currencies or []
        base = org.get("BaseCurrency")
        codes = [_enum_value(c.code) for c in currencies]
        if base and base not in codes:
            codes.insert(0, base)
        return Organisation(
            organisation_id=org.get("OrganisationID") or "",
            name=org.get("Name") or "",
            base_currency=base,
            currencies=tuple(codes),
            country_code=org.get("CountryCode"),
            short_code=org.get("ShortCode"),
        )

    def accounts(self, modified_since: datetime | None = None) -> list[Account]:
        """The chart of accounts; with ``modified_since`` (aware) only what changed since then."""
        kwargs: dict[str, Any] = {}
        if modified_since is not None:
            if modified_since.tzinfo is None:
                raise ValueError("modified_since must be an aware datetime")
            # Xero reads If-Modified-Since as UTC without an offset.
            kwargs["if_modified_since"] = modified_since.astimezone(timezone.utc).replace(tzinfo=None)
        try:
            rows = self._call("accounts", self.accounting.get_accounts, **kwargs).accounts or []
        except _NotModified:
            return []
        return [
            Account(
                account_id=a.account_id,
                code=a.code,
                name=a.name,
                type=_enum_value(a.type),
                status=_enum_value(a.status),
                account_class=_enum_value(a._class),
                tax_type=a.tax_type,
                system_account=_enum_value(a.system_account) or None,
                updated=a.updated_date_utc,
            )
            for a in rows
        ]

    def tracking_categories(self) -> list[TrackingCategory]:
        rows = self._call("tracking categories", self.accounting.get_tracking_categories).tracking_categories
        return [
            TrackingCategory(
                tracking_category_id=t.tracking_category_id,
                name=t.name,
                status=_enum_value(t.status),
                options=tuple(o.name for o in (t.options or ()) if _enum_value(o.status) in (None, "ACTIVE")),
            )
            for t in rows or ()
        ]

    # ----------------------------------------------------------------- contacts

    @staticmethod
    def _contact_key(name: str, contact_number: str | None) -> tuple[str, str]:
        return ("number", contact_number) if contact_number else ("name", name.strip().casefold())

    def _contacts_where(self, field: str, values: Sequence[str]) -> list[Any]:
        """Contacts whose ``field`` is one of ``values`` (LOOKUP_BATCH values per call), archived last."""
        rows: list[Any] = []
        for chunk in _chunks(sorted(set(values)), LOOKUP_BATCH):
            where = " OR ".join(f"{field}=={_where_string(v)}" for v in chunk)
            rows += self._call("find contacts", self.accounting.get_contacts, where=where).contacts or []
        return sorted(rows, key=lambda c: _enum_value(c.contact_status) == "ARCHIVED")

    def find_contact(self, name: str, contact_number: str | None = None) -> str | None:
        """The ContactID of an existing contact (by ``contact_number``, else by ``name``); never creates one."""
        key = self._contact_key(name, contact_number)
        if key not in self._contacts:
            if contact_number:
                rows = self._contacts_for_numbers([contact_number])
            else:
                wanted = name.strip().casefold()
                rows = [
                    r
                    for r in self._contacts_where("Name", [name.strip()])
                    if (r.name or "").strip().casefold() == wanted
                ]
            if rows:
                self._contacts[key] = rows[0].contact_id
        return self._contacts.get(key)

    def remember_contact(self, name: str, contact_number: str | None, contact_id: str) -> None:
        """Seed the contact cache with a ContactID the caller stored earlier (spares a lookup)."""
        self._contacts[self._contact_key(name, contact_number)] = contact_id

    def ensure_contact(self, name: str, contact_number: str | None = None) -> str:
        """The ContactID of the contact with ``contact_number`` (an employee) or else ``name``;
        created when missing. Cached per client. Raises :class:`ValidationFailed`."""
        ids, errors = self.ensure_contacts([(name, contact_number)])
        key = self._contact_key(name, contact_number)
        if key in errors:
            raise ValidationFailed(errors[key], subject=f'contact "{name}"')
        return ids[key]

    def ensure_contacts(
        self, contacts: Sequence[tuple[str, str | None]]
    ) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], tuple[str, ...]]]:
        """ContactIDs for many (name, contact_number) pairs in few calls: look up by number, then by
        name, then create the missing ones in batches. Returns (key -> ContactID, key -> errors),
        keys as :meth:`_contact_key`. A same-named contact without a number is adopted (its
        ContactNumber is set); a namesake with another number makes "Name (number)"."""
        wanted: dict[tuple[str, str], tuple[str, str | None]] = {}
        for name, number in contacts:
            key = self._contact_key(name, number)
            if key not in self._contacts:
                wanted.setdefault(key, (name.strip(), number or None))
        errors: dict[tuple[str, str], tuple[str, ...]] = {}
        if wanted:
            self._resolve_contacts(wanted, errors)
        ids = {
            self._contact_key(n, c): self._contacts[self._contact_key(n, c)]
            for n, c in contacts
            if self._contact_key(n, c) in self._contacts
        }
        return ids, errors

    def _resolve_contacts(
        self,
        wanted: dict[tuple[str, str], tuple[str, str | None]],
        errors: dict[tuple[str, str], tuple[str, ...]],
    ) -> None:
        numbers = [num for _name, num in wanted.values() if num]
        if numbers:
            for row in self._contacts_for_numbers(numbers):
                self._contacts.setdefault(("number", row.contact_number), row.contact_id)
        missing = {k: v for k, v in wanted.items() if k not in self._contacts}
        if not missing:
            return
        by_name: dict[str, Any] = {}
        for row in self._contacts_where("Name", [name for name, _num in missing.values()]):
            by_name.setdefault((row.name or "").strip().casefold(), row)
        to_create: dict[tuple[str, str], tuple[str, str | None]] = {}
        for key, (name, number) in missing.items():
            row = by_name.get(name.casefold())
            if row is None:
                to_create[key] = (name, number)
            elif not number:
                self._contacts[key] = row.contact_id
            elif not row.contact_number:
                self._call(
                    "number contact",
                    self.accounting.update_contact,
                    row.contact_id,
                    Contacts(contacts=[_contact(contact_id=row.contact_id, contact_number=number)]),
                    write=True,
                    idempotency_key=idempotency_key(
                        "contact-number", self.tenant_id, [row.contact_id, number]
                    ),
                )
                row.contact_number = number
                self._contacts[key] = row.contact_id
            else:
                to_create[key] = (f"{name} ({number})", number)  # a namesake: Xero names are unique
        for chunk in _chunks(list(to_create.items()), BATCH_SIZE):
            self._create_contacts(dict(chunk), errors)

    def _contacts_for_numbers(self, numbers: Sequence[str]) -> list[Any]:
        return [r for r in self._contacts_where("ContactNumber", numbers) if r.contact_number]

    def _create_contacts(
        self,
        todo: dict[tuple[str, str], tuple[str, str | None]],
        errors: dict[tuple[str, str], tuple[str, ...]],
    ) -> None:
        for attempt in range(1, self.max_attempts + 1):
            items = list(todo.items())
            key = idempotency_key("contacts", self.tenant_id, [f"{n}\t{c or ''}" for _k, (n, c) in items])
            try:
                rows = self._call(
                    "create contacts",
                    self.accounting.create_contacts,
                    Contacts(contacts=[_contact(name=n, contact_number=c) for _k, (n, c) in items]),
                    write=True,
                    resend_safe=False,
                    summarize_errors=False,
                    idempotency_key=key,
                ).contacts
            except ValidationFailed as exc:
                elements = getattr(exc, "elements", [])
                for idx, (k, (name, _num)) in enumerate(items):
                    msgs = elements[idx] if len(elements) == len(items) and elements[idx] else exc.errors
                    errors[k] = tuple(f'Contact "{name}": {m}' for m in msgs)
                return
            except _Unknown as exc:
                if attempt >= self.max_attempts:
                    raise OutcomeUnknown(
                        f"Xero did not confirm the creation of {len(items)} contact(s) ({exc.reason}): retry later.",
                        correlation_id=exc.correlation_id,
                    ) from None
                self._backoff(attempt)
                # Look them up before sending again.
                numbers = [c for _k, (_n, c) in items if c]
                found = {r.contact_number: r for r in self._contacts_for_numbers(numbers)} if numbers else {}
                names = (
                    {
                        (r.name or "").strip().casefold(): r
                        for r in self._contacts_where("Name", [n for _k, (n, c) in items if not c])
                    }
                    if any(not c for _k, (_n, c) in items)
                    else {}
                )
                for k, (name, number) in items:
                    row = found.get(number) if number else names.get(name.casefold())
                    if row is not None:
                        self._contacts[k] = row.contact_id
                        del todo[k]
                if not todo:
                    return
                continue
            for (k, (name, _num)), row in zip(items, rows or [], strict=False):
                msgs = _messages(row.validation_errors)
                if msgs:
                    errors[k] = tuple(f'Contact "{name}": {m}' for m in msgs)
                else:
                    self._contacts[k] = row.contact_id
            return

    # ----------------------------------------------------------------- bills: lookups

    def find_bill(self, invoice_number: str, contact_id: str, credit_note: bool = False) -> XeroBill | None:
        """The live (not DELETED/VOIDED) bill or credit note this app made with that number and contact."""
        live, _gone = self._find_many([(invoice_number, contact_id)], credit_note)
        return live.get((invoice_number, contact_id))

    def _find_many(
        self, pairs: Sequence[tuple[str, str]], credit_note: bool
    ) -> tuple[dict[tuple[str, str], XeroBill], dict[tuple[str, str], list[str]]]:
        """(number, ContactID) -> the live document, and -> ids of DELETED/VOIDED ones;
        LOOKUP_BATCH numbers per call."""
        found: dict[tuple[str, str], XeroBill] = {}
        gone: dict[tuple[str, str], list[str]] = {}
        wanted = set(pairs)
        for chunk in _chunks(sorted(wanted), LOOKUP_BATCH):
            numbers = sorted({n for n, _c in chunk})
            contacts = sorted({c for _n, c in chunk})
            page = 1
            while True:
                if credit_note:
                    # Disjunctive normal form: Xero binds AND tighter than OR.
                    where = " OR ".join(
                        f'Type=="ACCPAYCREDIT" AND CreditNoteNumber=={_where_string(n)}' for n in numbers
                    )
                    answer = self._call(
                        "find credit notes", self.accounting.get_credit_notes, where=where, page=page
                    )
                    rows = answer.credit_notes or []
                else:
                    answer = self._call(
                        "find bills",
                        self.accounting.get_invoices,
                        invoice_numbers=numbers,
                        contact_i_ds=contacts,
                        created_by_my_app=True,
                        page=page,
                    )
                    rows = answer.invoices or []
                for row in rows:
                    bill = _bill_from_model(row, credit_note)
                    key = (bill.number, bill.contact_id)
                    if key not in wanted:
                        continue
                    if bill.status in GONE_STATUSES:
                        gone.setdefault(key, []).append(bill.xero_id)
                    else:
                        found.setdefault(key, bill)
                if len(rows) < 100:
                    break
                page += 1
        return found, gone

    def _lookup(self, bills: Sequence[Bill], contact_ids: dict[str, str]) -> dict[str, XeroBill]:
        """invoice_number -> what Xero already has, for bills of one kind."""
        if not bills:
            return {}
        pairs = [(b.invoice_number, contact_ids[b.invoice_number]) for b in bills]
        found, gone = self._find_many(pairs, bills[0].is_credit_note)
        for number, cid in pairs:
            if gone.get((number, cid)):
                # A re-creation after a delete must not be answered by Xero's replay of the first one.
                self._generation[number] = ",".join(sorted(gone[(number, cid)]))
        return {number: found[(number, cid)] for number, cid in pairs if (number, cid) in found}

    # ----------------------------------------------------------------- bills: status read-back

    def changed_bills(self, since: datetime) -> Iterator[StatusPage]:
        """Every bill and credit note of the organisation modified since ``since`` (aware), page by page.

        Credit notes first (few, and their pages keep the watermark at ``since``), then bills
        (``createdByMyApp``, oldest change first, so each saved page moves the watermark on). Calls:
        one per page of 100, plus the short page that ends each kind. A rate limit or an outage
        raises between pages: what was yielded stays read, and ``changed_bills(last watermark)`` resumes.
        """
        if since.tzinfo is None:
            raise ValueError("since must be an aware datetime")
        ceiling = datetime.now(timezone.utc) - CLOCK_MARGIN
        for credit_note in (True, False):
            mark = since
            page = 1
            while True:
                rows = self._changed_page(since, credit_note, page)
                bills = tuple(_bill_from_model(row, credit_note) for row in rows)
                last = len(rows) < STATUS_PAGE
                if not credit_note:
                    stamps = [b.updated_at - timedelta(seconds=1) for b in bills if b.updated_at]
                    mark = max([mark, *stamps])
                    mark = max(since, ceiling) if last else min(mark, ceiling)
                yield StatusPage(bills=bills, watermark=mark, credit_notes=credit_note)
                if last:
                    break
                page += 1

    def _changed_page(self, since: datetime, credit_note: bool, page: int) -> list[Any]:
        kwargs: dict[str, Any] = {
            "if_modified_since": since.astimezone(timezone.utc).replace(tzinfo=None),
            "order": "UpdatedDateUTC ASC",
            "page": page,
            "page_size": STATUS_PAGE,
        }
        try:
            if credit_note:
                answer = self._call(
                    "changed credit notes",
                    self.accounting.get_credit_notes,
                    where='Type=="ACCPAYCREDIT"',
                    **kwargs,
                )
                return answer.credit_notes or []
            answer = self._call(
                "changed bills",
                self.accounting.get_invoices,
                where='Type=="ACCPAY"',
                created_by_my_app=True,
                **kwargs,
            )
            return answer.invoices or []
        except _NotModified:
            return []

    def read_bills(self, ids: Sequence[str], credit_notes: bool = False) -> Iterator[list[XeroBill]]:
        """The documents with these ids, a batch per call (50 bill ids, 25 credit note ids); an id Xero
        does not return is not in any batch (deleted for good or never this organisation's)."""
        wanted = list(dict.fromkeys(i for i in ids if i))
        for chunk in _chunks(wanted, CREDIT_IDS_BATCH if credit_notes else IDS_BATCH):
            if credit_notes:
                where = " OR ".join(f'CreditNoteID==Guid("{_guid(i)}")' for i in chunk)
                rows = self._call("read credit notes", self.accounting.get_credit_notes, where=where, page=1)
                rows = rows.credit_notes or []
            else:
                rows = (
                    self._call("read bills", self.accounting.get_invoices, i_ds=chunk, page=1).invoices or []
                )
            yield [_bill_from_model(row, credit_notes) for row in rows]

    def get_bill(self, xero_id: str, credit_note: bool = False) -> XeroBill:
        if credit_note:
            rows = self._call("get credit note", self.accounting.get_credit_note, xero_id).credit_notes
        else:
            rows = self._call("get bill", self.accounting.get_invoice, xero_id).invoices
        if not rows:
            raise NotFound(f"Xero has no document {xero_id}.")
        return _bill_from_model(rows[0], credit_note)

    # ----------------------------------------------------------------- bills: create

    def _document(self, bill: Bill, contact_id: str, xero_id: str | None = None) -> Invoice | CreditNote:
        items = [
            LineItem(
                description=line.description,
                quantity=Decimal(1),
                unit_amount=line.amount,
                account_code=line.account_code,
                line_amount=line.amount,
                tracking=[LineItemTracking(name=cat, option=opt) for cat, opt in line.tracking] or None,
            )
            for line in bill.lines
        ]
        currency = CurrencyCode(bill.currency)
        amounts = LineAmountTypes(bill.line_amount_types)
        if bill.is_credit_note:
            return _credit_note(
                type=ACCPAYCREDIT,
                credit_note_id=xero_id,
                contact=_contact(contact_id=contact_id),
                date=bill.date,
                status=bill.status,
                line_amount_types=amounts,
                currency_code=currency,
                credit_note_number=bill.invoice_number,
                line_items=items,
            )
        return _invoice(
            type=bill.doc_type,
            invoice_id=xero_id,
            contact=_contact(contact_id=contact_id),
            date=bill.date,
            due_date=bill.due_date,
            status=bill.status,
            line_amount_types=amounts,
            currency_code=currency,
            invoice_number=bill.invoice_number,
            url=bill.url or None,
            line_items=items,
        )

    def create_bills(self, bills: Sequence[Bill], *, check_existing: bool = True) -> list[PushResult]:
        """Create bills (Invoices, ACCPAY) and supplier credit notes (CreditNotes, ACCPAYCREDIT).

        One result per bill, in the order given. With ``check_existing`` (the
        default) bills this app already created in Xero are reported
        ``already_existed`` and not sent again. Calls carry at most 50
        documents, ``summarizeErrors=false`` and an Idempotency-Key; when an
        answer is lost the bills are looked up before anything is resent.

        Raises :class:`RateLimited`, :class:`ReconnectNeeded`,
        :class:`XeroUnavailable` or :class:`OutcomeUnknown` (with
        ``partial_results``) when it has to stop.
        """
        results: dict[str, PushResult] = {}
        seen: set[str] = set()
        todo: list[Bill] = []
        for bill in bills:
            if bill.invoice_number in seen:
                results.setdefault(
                    f"{bill.invoice_number}#dup{len(results)}",
                    _error_result(
                        bill, [f"{bill.invoice_number}: the same bill number appears twice in one push."]
                    ),
                )
                continue
            seen.add(bill.invoice_number)
            problem = self._local_problem(bill)
            if problem:
                results[bill.invoice_number] = _error_result(bill, [problem])
                continue
            todo.append(bill)

        try:
            contact_ids = self._contacts_for(todo, results)
            todo = [b for b in todo if b.invoice_number in contact_ids]
            for credit in (False, True):
                group = [b for b in todo if b.is_credit_note == credit]
                if not group:
                    continue
                existing = self._lookup(group, contact_ids) if check_existing else {}
                for bill in group:
                    if bill.invoice_number in existing:
                        results[bill.invoice_number] = _found_result(
                            bill,
                            existing[bill.invoice_number],
                            created=False,
                            contact_id=contact_ids[bill.invoice_number],
                        )
                pending = [b for b in group if b.invoice_number not in existing]
                for chunk in _chunks(pending, BATCH_SIZE):
                    results.update(self._create_chunk(chunk, contact_ids))
        except XeroError as exc:
            exc.partial_results = tuple(results.values())
            raise
        ordered = [results[b.invoice_number] for b in bills if b.invoice_number in results]
        ordered += [r for k, r in results.items() if "#dup" in k]
        return ordered

    @staticmethod
    def _local_problem(bill: Bill) -> str | None:
        try:
            CurrencyCode(bill.currency)
        except ValueError:
            return f"{bill.invoice_number}: Xero does not know the currency {bill.currency}."
        if not bill.lines:
            return f"{bill.invoice_number}: the bill has no lines."
        return None

    def _contacts_for(self, bills: Sequence[Bill], results: dict[str, PushResult]) -> dict[str, str]:
        """invoice_number -> ContactID; bills whose contact cannot be made get an error result."""
        ids, errors = self.ensure_contacts([(b.contact_name, b.contact_number) for b in bills])
        out: dict[str, str] = {}
        for bill in bills:
            key = self._contact_key(bill.contact_name, bill.contact_number)
            if key in ids:
                out[bill.invoice_number] = ids[key]
            else:
                problems = errors.get(key) or ("Xero did not create the contact.",)
                results[bill.invoice_number] = _error_result(
                    bill, [f"{bill.invoice_number}: {e}" for e in problems]
                )
        return out

    def _create_chunk(self, chunk: list[Bill], contact_ids: dict[str, str]) -> dict[str, PushResult]:
        results: dict[str, PushResult] = {}
        remaining = list(chunk)
        credit = chunk[0].is_credit_note
        attempt = 0
        while remaining:
            attempt += 1
            docs = [self._document(b, contact_ids[b.invoice_number]) for b in remaining]
            key = idempotency_key(
                "credit-notes" if credit else "bills",
                self.tenant_id,
                [
                    f"{b.invoice_number}:{b.content_hash()}:{contact_ids[b.invoice_number]}:"
                    f"{self._generation.get(b.invoice_number, '')}"
                    for b in remaining
                ],
            )
            try:
                answer = self._write_documents(
                    "create credit notes" if credit else "create bills",
                    credit,
                    docs,
                    resend_safe=False,
                    summarize_errors=False,
                    idempotency_key=key,
                )
            except ValidationFailed as exc:
                elements = getattr(exc, "elements", [])
                for idx, bill in enumerate(remaining):
                    msgs = elements[idx] if len(elements) == len(remaining) else list(exc.errors)
                    results[bill.invoice_number] = _error_result(
                        bill, readable_errors(bill, msgs or exc.errors)
                    )
                return results
            except _Unknown as exc:
                numbers = [b.invoice_number for b in remaining]
                _logger.warning(
                    "Xero tenant %s: no answer to the creation of %d documents (%s): looking them up",
                    self.tenant_id,
                    len(remaining),
                    exc.reason,
                )
                partial = tuple(results.values())
                if attempt < self.max_attempts:
                    self._backoff(attempt)
                try:
                    found = self._lookup(remaining, contact_ids)
                except XeroError as lookup_error:
                    raise OutcomeUnknown(
                        f"Xero did not confirm the creation of {len(numbers)} document(s) and could not be "
                        "asked whether they exist; the next push looks them up first.",
                        numbers,
                        correlation_id=exc.correlation_id or lookup_error.correlation_id,
                        partial_results=partial,
                    ) from None
                for bill in remaining:
                    if bill.invoice_number in found:
                        results[bill.invoice_number] = _found_result(
                            bill,
                            found[bill.invoice_number],
                            created=True,
                            contact_id=contact_ids[bill.invoice_number],
                        )
                remaining = [b for b in remaining if b.invoice_number not in found]
                if remaining and attempt >= self.max_attempts:
                    raise XeroUnavailable(
                        f"Xero is unavailable ({exc.reason} after {attempt} attempts); "
                        f"{len(remaining)} document(s) were not created, try again later.",
                        correlation_id=exc.correlation_id,
                        partial_results=tuple(results.values()),
                    ) from None
                continue
            results.update(self._parse_created(remaining, answer or [], credit))
            break
        return results

    def _parse_created(self, bills: list[Bill], answer: list[Any], credit: bool) -> dict[str, PushResult]:
        by_number = {}
        for doc in answer:
            number = doc.credit_note_number if credit else doc.invoice_number
            by_number.setdefault(number, doc)
        results = {}
        for idx, bill in enumerate(bills):
            doc = by_number.get(bill.invoice_number)
            if doc is None and len(answer) == len(bills):
                doc = answer[idx]
            if doc is None:
                results[bill.invoice_number] = _error_result(
                    bill, [f"{bill.invoice_number}: Xero's answer does not mention this bill."]
                )
                continue
            errors = _messages(doc.validation_errors)
            warnings = _messages(getattr(doc, "warnings", None))
            if errors or doc.status_attribute_string == "ERROR" or doc.has_errors:
                results[bill.invoice_number] = _error_result(
                    bill, readable_errors(bill, errors or ["Xero refused the bill without a message."])
                )
                continue
            made = _bill_from_model(doc, credit)
            results[bill.invoice_number] = PushResult(
                invoice_number=bill.invoice_number,
                ok=True,
                xero_id=made.xero_id,
                xero_number=made.number,
                status=made.status,
                total=made.total,
                warnings=tuple(warnings),
                created=True,
                is_credit_note=credit,
                contact_id=made.contact_id,
            )
        return results

    # ----------------------------------------------------------------- bills: change

    def _write_documents(
        self, what: str, credit_note: bool, docs: list, *, xero_id: str | None = None, **kwargs: Any
    ) -> list[Any]:
        """Create (or, with ``xero_id``, update) bills or supplier credit notes; Xero's documents back."""
        if credit_note:
            body = CreditNotes(credit_notes=docs)
            method = self.accounting.update_credit_note if xero_id else self.accounting.create_credit_notes
        else:
            body = Invoices(invoices=docs)
            method = self.accounting.update_invoice if xero_id else self.accounting.create_invoices
        args = (xero_id, body) if xero_id else (body,)
        answer = self._call(what, method, *args, write=True, **kwargs)
        return (answer.credit_notes if credit_note else answer.invoices) or []

    def update_draft_bill(self, xero_id: str, bill: Bill) -> PushResult:
        """Replace a DRAFT/SUBMITTED bill's content (same number, same contact rules)."""
        contact_id = self.ensure_contact(bill.contact_name, bill.contact_number)
        doc = self._document(bill, contact_id, xero_id)
        key = idempotency_key("update", self.tenant_id, [xero_id, bill.content_hash()])
        try:
            rows = self._write_documents(
                "update credit note" if bill.is_credit_note else "update bill",
                bill.is_credit_note,
                [doc],
                xero_id=xero_id,
                idempotency_key=key,
            )
        except ValidationFailed as exc:
            raise ValidationFailed(
                readable_errors(bill, exc.errors),
                subject=f"bill {bill.invoice_number}",
                correlation_id=exc.correlation_id,
            ) from None
        result = self._parse_created([bill], rows or [], bill.is_credit_note)[bill.invoice_number]
        if not result.ok:
            raise ValidationFailed(result.errors, subject=f"bill {bill.invoice_number}")
        return PushResult(**{**_asdict(result), "created": False})

    def _set_status(self, xero_id: str, status: str, credit_note: bool) -> XeroBill:
        key = idempotency_key("status", self.tenant_id, [xero_id, status])
        try:
            change = (
                _credit_note(credit_note_id=xero_id, status=status)
                if credit_note
                else _invoice(invoice_id=xero_id, status=status)
            )
            rows = self._write_documents(
                f"{status.lower()} {'credit note' if credit_note else 'bill'}",
                credit_note,
                [change],
                xero_id=xero_id,
                idempotency_key=key,
            )
        except ValidationFailed as exc:
            raise ValidationFailed(
                exc.errors, subject=f"document {xero_id}", correlation_id=exc.correlation_id
            ) from None
        doc = rows[0]
        errors = _messages(doc.validation_errors)
        if errors:
            raise ValidationFailed(errors, subject=f"document {xero_id}")
        return _bill_from_model(doc, credit_note)

    def delete_bill(self, xero_id: str, credit_note: bool = False) -> XeroBill:
        """DRAFT or SUBMITTED -> DELETED."""
        return self._set_status(xero_id, "DELETED", credit_note)

    def void_bill(self, xero_id: str, credit_note: bool = False) -> XeroBill:
        """AUTHORISED without payments -> VOIDED; a paid bill raises :class:`ValidationFailed`."""
        current = self.get_bill(xero_id, credit_note)
        if current.amount_paid or current.status == "PAID":
            raise ValidationFailed(
                [
                    f"{current.number or xero_id} has payments of {current.amount_paid}: remove the payments "
                    "in Xero or enter a credit note; a paid bill cannot be voided."
                ],
                subject=f"bill {current.number or xero_id}",
            )
        return self._set_status(xero_id, "VOIDED", credit_note)

    def cancel_bill(self, xero_id: str, credit_note: bool = False) -> XeroBill:
        """Delete (DRAFT/SUBMITTED) or void (AUTHORISED, unpaid); already gone: returned as is."""
        current = self.get_bill(xero_id, credit_note)
        if current.status in GONE_STATUSES:
            return current
        if current.status in ("DRAFT", "SUBMITTED"):
            return self._set_status(xero_id, "DELETED", credit_note)
        if current.status == "AUTHORISED" and not current.amount_paid:
            return self._set_status(xero_id, "VOIDED", credit_note)
        raise ValidationFailed(
            [
                f"{current.number or xero_id} is {current.status} with payments of {current.amount_paid}: "
                "remove the payments in Xero or enter a credit note; it cannot be cancelled."
            ],
            subject=f"bill {current.number or xero_id}",
        )


def _no_redirects(urlopen: Callable[..., Any]) -> Callable[..., Any]:
    """``PoolManager.urlopen`` that hands a 3xx back instead of following it."""

    def wrapped(method: str, url: str, redirect: bool = True, **kw: Any) -> Any:
        return urlopen(method, url, redirect=False, **kw)

    return wrapped


def _asdict(result: PushResult) -> dict[str, Any]:
    return {name: getattr(result, name) for name in PushResult.__dataclass_fields__}


__all__ = [
    "Account",
    "Organisation",
    "PushResult",
    "TenantLimiter",
    "TrackingCategory",
    "XeroBill",
    "XeroBillLine",
    "XeroClient",
    "bill_differences",
    "idempotency_key",
    "limiter_for",
    "readable_errors",
]
