"""The one seam to Xero's accounting API: :meth:`Transport._call`.

Every call takes a slot from the per-tenant rate limiter, makes sure the access token is fresh
(refreshing through :mod:`payroll_xero.oauth`, the rotated token saved first), sets the timeout and
the Idempotency-Key, logs with Xero's correlation id (never a token, never ``str(ApiException)``),
and turns the SDK's exceptions into :mod:`payroll_xero.errors`. What is retried is data: a table of
HTTP statuses to errors, and each error's own ``retryable`` / ``retry_after``.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
import urllib3
from xero_python.exceptions import ApiException, HTTPStatusException

from .. import oauth
from ..errors import (
    NotFound,
    RateLimited,
    ReconnectNeeded,
    ScopeMissing,
    ValidationFailed,
    XeroError,
    XeroUnavailable,
)
from ..oauth import Token, XeroEndpoints
from .limiter import Limiter, limiter_for
from .sdk import accounting_api, header, messages

_logger = logging.getLogger("payroll_xero.client")


class _Unknown(Exception):
    """A write was sent and no answer came back: the caller looks the documents up first."""

    def __init__(self, reason: str, correlation_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.correlation_id = correlation_id


class _NotModified(Exception):
    """HTTP 304: nothing changed since If-Modified-Since."""


# HTTP status -> (error, message): what a refusal means; a 5xx is not here (it is retried).
_REFUSALS: dict[int, tuple[type[XeroError], str]] = {
    401: (ReconnectNeeded, "Xero no longer accepts this connection's access token: connect to Xero again."),
    403: (
        ReconnectNeeded,
        "Xero refused access to this organisation (it was disconnected, or the app lacks a permission): "
        "connect to Xero again.",
    ),
    404: (NotFound, "Xero has no such record ({operation})."),
}


@dataclass
class _Attempts:
    """What one :meth:`Transport._call` has spent so far (and the scope the call needs, if named)."""

    token: Token
    failed: int = 0
    refreshed: bool = False
    rate_waits: int = 0
    scope: str | None = None


# What a scope allows, for the message of ScopeMissing.
_SCOPE_USES = {"accounting.manualjournals": "manual journals"}


def _scope_missing(scope: str | None, operation: str, correlation: str | None) -> ScopeMissing:
    what = _SCOPE_USES.get(scope or "", operation)
    named = f" (scope {scope})" if scope else ""
    return ScopeMissing(
        f"This Xero connection was made without the permission for {what}{named}: connect to Xero again "
        f"to allow {what}. Nothing was sent for this {operation}; what the connection already allows "
        "(bills) goes on working.",
        scope=scope,
        correlation_id=correlation,
    )


def _insufficient_scope(exc: HTTPStatusException, headers: Any, scope: str | None) -> bool:
    """Whether Xero's 401/403 says the token lacks a scope: ``WWW-Authenticate: ... insufficient_scope``,
    or, on a call that names the scope it needs, ``Detail: AuthorizationUnsuccessful`` (the token is
    valid, the consent does not cover the call; an expired or revoked token says otherwise)."""
    if "insufficient_scope" in (header(headers, "WWW-Authenticate") or ""):
        return True
    if scope is None:
        return False
    try:
        detail = json.loads(exc.body or b"{}").get("Detail")
    except (ValueError, AttributeError, TypeError):
        return False
    return detail == "AuthorizationUnsuccessful"


@dataclass(frozen=True)
class _Failure:
    """A failed attempt that may be sent again: why, whether it reached Xero, its correlation id."""

    reason: str
    sent: bool
    correlation_id: str | None = None


_AGAIN = _Failure("waited or refreshed: not an attempt", sent=False)


class Transport:
    """One Xero organisation (``tenant_id``) seen through one app: tokens, limits and the call seam.

    ``get_token`` returns the current stored :class:`~payroll_xero.oauth.Token` (re-read before each
    call, so a token rotated by another worker is picked up); ``save_token`` stores a rotated token
    and is called before the new token is used. ``sleep``, ``limiter`` and ``rng`` are injectable.

    ``refresh``, when given, does every refresh: the one made shortly before the access token
    expires and the one forced by a 401. It is called with the token the client found stale and
    returns the token to use; it is the caller's job to rotate it under its own lock (e.g. a
    database row lock) and to store it, so the client then never calls
    :func:`payroll_xero.oauth.refresh` nor ``save_token``.
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
        limiter: Limiter | None = None,
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
        self._session = requests.Session()
        self._contacts: dict[tuple[str, str], str] = {}  # contact key -> ContactID (see Contacts)
        self._generation: dict[str, str] = {}  # invoice_number -> ids of its deleted/voided predecessors
        self.accounting = accounting_api(
            client_id, client_secret, endpoints.accounting_url, self._sdk_token, self._sdk_save
        )

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
        needs_scope: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Make one API call with limits, token, timeout, logging and error mapping.

        ``needs_scope`` names the scope the call needs beyond the connection's first ones (e.g.
        ``accounting.manualjournals``): Xero's 401/403 to it raises :class:`ScopeMissing` naming it.

        ``write`` calls that are not ``resend_safe`` (creations) raise ``_Unknown`` when the outcome
        is unknown (timeout after sending, dropped connection, 5xx), so the caller can look the
        documents up before sending again. A rate limit within ``max_wait`` is waited through and a
        401 refreshes the token once (neither counts as an attempt); other failures are retried
        with exponential backoff and jitter, ``max_attempts`` in all.
        """
        spent = _Attempts(token=self._fresh_token(), scope=needs_scope)
        call_args = (self.tenant_id, *args) if tenant else args
        while True:
            failure = self._attempt(operation, fn, call_args, kwargs, spent, write and not resend_safe)
            if not isinstance(failure, _Failure):
                return failure.value
            if failure is _AGAIN:
                continue
            spent.failed += 1
            if write and failure.sent and not resend_safe:
                raise _Unknown(failure.reason, failure.correlation_id)
            if spent.failed >= self.max_attempts:
                raise XeroUnavailable(
                    f"Xero is unavailable ({operation}: {failure.reason} after {spent.failed} attempts): "
                    "retry later.",
                    correlation_id=failure.correlation_id,
                )
            self._backoff(spent.failed)

    def _attempt(self, operation, fn, call_args, kwargs, spent: _Attempts, creation: bool):
        """One try: ``_Done`` with the answer, a ``_Failure`` to retry (``_AGAIN``: not counted), or an error raised."""
        call_id = uuid.uuid4().hex[:12]
        self._local.token = spent.token
        started = time.monotonic()
        try:
            with self.limiter.slot():
                data, status, headers = fn(
                    *call_args, _return_http_data_only=False, _request_timeout=self.timeout, **kwargs
                )
        except HTTPStatusException as exc:
            return self._refused(exc, operation, call_id, started, spent)
        except urllib3.exceptions.HTTPError as exc:
            cause = exc.reason if isinstance(exc, urllib3.exceptions.MaxRetryError) else exc
            reason = type(cause).__name__
            self._log_failure(operation, call_id, started, reason)
            return _Failure(reason, sent=not isinstance(cause, urllib3.exceptions.ConnectTimeoutError))
        except (ValueError, TypeError, AttributeError) as exc:
            # The SDK could not read Xero's answer (e.g. a null where it wants a date): the call may
            # well have been applied, so a creation is treated as an unknown outcome.
            reason = f"unreadable answer ({type(exc).__name__})"
            self._log_failure(operation, call_id, started, reason)
            if not creation:
                raise XeroError(f"Xero's answer could not be read ({operation}); try again later.") from None
            return _Failure(reason, sent=True)
        except ApiException as exc:  # SSL errors and the like: no response, never sent in full
            self._log_failure(operation, call_id, started, type(exc).__name__)
            return _Failure(type(exc).__name__, sent=False)
        self._log_answer(operation, call_id, started, status, headers)
        return _Done(data)

    def _refused(self, exc: HTTPStatusException, operation, call_id, started, spent: _Attempts):
        """An HTTP error answer: wait or refresh and go again, retry (5xx), or raise what it means."""
        status = exc.http_resp.status if exc.http_resp is not None else 0
        headers = exc.headers or {}
        correlation = header(headers, "Xero-Correlation-Id")
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
        if status >= 500:
            return _Failure(f"HTTP {status}", sent=True, correlation_id=correlation)
        if status == 304:
            raise _NotModified() from None
        if status == 429:
            return self._rate_limited(headers, operation, call_id, correlation, spent)
        if status in (401, 403) and _insufficient_scope(exc, headers, spent.scope):
            # A refresh gives no scope the consent did not: only connecting again does.
            raise _scope_missing(spent.scope, operation, correlation) from None
        if status == 401 and not spent.refreshed:
            spent.refreshed = True
            spent.token = self._fresh_token(force=True, stale=spent.token)
            return _AGAIN
        if status == 400:
            raise self._validation_error(exc, operation, correlation) from None
        kind, message = _REFUSALS.get(
            status, (XeroError, f"Xero refused the request ({{operation}}, HTTP {status}).")
        )
        raise kind(message.format(operation=operation), correlation_id=correlation) from None

    def _rate_limited(self, headers, operation, call_id, correlation, spent: _Attempts):
        wait = self._retry_after(headers)
        problem = header(headers, "X-Rate-Limit-Problem") or "unknown"
        if wait <= self.max_wait and spent.rate_waits < self.max_attempts:
            spent.rate_waits += 1
            _logger.info("Xero %s [%s]: %s limit, waiting %.0fs", operation, call_id, problem, wait)
            self.sleep(wait)
            return _AGAIN
        raise RateLimited(
            datetime.now(timezone.utc) + timedelta(seconds=wait), problem, correlation_id=correlation
        ) from None

    def _log_failure(self, operation: str, call_id: str, started: float, reason: str) -> None:
        _logger.warning(
            "Xero %s [%s] tenant %s failed after %.2fs: %s",
            operation,
            call_id,
            self.tenant_id,
            time.monotonic() - started,
            reason,
        )

    def _log_answer(self, operation: str, call_id: str, started: float, status: int, headers: Any) -> None:
        self._remember_limits(headers)
        _logger.info(
            "Xero %s [%s] tenant %s -> HTTP %s in %.2fs (correlation %s, left: %s/minute %s/day)",
            operation,
            call_id,
            self.tenant_id,
            status,
            time.monotonic() - started,
            header(headers, "Xero-Correlation-Id") or "-",
            self.last_rate_limits.get("minute", "-"),
            self.last_rate_limits.get("day", "-"),
        )

    def _retry_after(self, headers: Any) -> float:
        raw = header(headers, "Retry-After")
        try:
            return max(0.0, float(raw)) if raw is not None else 60.0
        except ValueError:
            return 60.0

    def _remember_limits(self, headers: Any) -> None:
        """Keep what Xero says is left and tell the limiter (which may share it with other processes)."""
        said: dict[str, int | None] = {"minute": None, "day": None}
        for name, key in (("X-MinLimit-Remaining", "minute"), ("X-DayLimit-Remaining", "day")):
            value = header(headers, name)
            if value is not None:
                self.last_rate_limits[key] = value
                try:
                    said[key] = int(value)
                except ValueError:
                    pass
        if said["minute"] is not None or said["day"] is not None:
            self.limiter.remember(said["minute"], said["day"])

    def _validation_error(self, exc: HTTPStatusException, operation: str, correlation: str | None):
        try:
            data = exc.error_data if hasattr(exc, "error_data") else None
        except ValueError:
            data = None
        found: list[str] = []
        elements: list[list[str]] = []
        if isinstance(data, dict):
            for element in data.get("Elements") or ():
                msgs = messages(element.get("ValidationErrors"))
                elements.append(msgs)
                found.extend(msgs)
            if not found and data.get("Message"):
                found.append(str(data["Message"]))
        error = ValidationFailed(found, subject=None, correlation_id=correlation)
        error.elements = elements  # type: ignore[attr-defined]
        _logger.warning("Xero %s refused: %s", operation, "; ".join(error.errors))
        return error


@dataclass(frozen=True)
class _Done:
    value: Any
