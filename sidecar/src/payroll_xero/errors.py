"""Errors the Odoo addon and the command line can show to a user.

Every message is a readable sentence built by this package: it never carries an
access or refresh token, the client secret, or raw response headers. The SDK's
``str(ApiException)`` (which dumps headers and body) is never used to build one.

Each error also says whether to try again, as data (as OCA ``queue_job``'s
``RetryableJobError`` carries ``seconds``): ``retryable`` is True when the same
request, sent again later, may succeed; ``retry_after`` is how many seconds to wait
first, or None for "back off as you see fit".

* RateLimited: retryable, after the seconds until its ``retry_at``;
* XeroUnavailable, OutcomeUnknown, NotFound, BadCredentials and any other XeroError:
  retryable, ``retry_after`` None (back off);
* ReconnectNeeded (ScopeMissing among them), ValidationFailed (NotEditable among them),
  AuthorizationFailed: not retryable (a person acts first).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any, ClassVar


class XeroError(Exception):
    """Base class: something went wrong talking to Xero.

    ``correlation_id`` is Xero's ``Xero-Correlation-Id`` of the failing response
    (quote it to Xero support); ``partial_results`` holds the results already
    known when a batch operation stopped half way (e.g. the first 50 bills were
    created, then Xero became unavailable).
    """

    #: Whether sending the same request again later may succeed.
    retryable: ClassVar[bool] = True
    #: Seconds to wait before retrying; None: back off (the caller's schedule).
    retry_after: float | None = None

    def __init__(
        self,
        message: str,
        *,
        correlation_id: str | None = None,
        partial_results: Sequence[Any] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.correlation_id = correlation_id
        self.partial_results = tuple(partial_results)

    def __str__(self) -> str:
        if self.correlation_id:
            return f"{self.message} (Xero correlation id {self.correlation_id})"
        return self.message


class ReconnectNeeded(XeroError):
    """The connection to Xero is no longer valid (refresh token expired, revoked
    or already used, organisation disconnected): a user must connect again.
    Never retried automatically."""

    retryable = False


class ScopeMissing(ReconnectNeeded):
    """The connection was consented without a scope this call needs (Xero answered 401/403
    ``insufficient_scope``), e.g. ``accounting.manualjournals`` for manual journals on a connection made
    before journals were asked for. Connecting to Xero again (the app now asks for it) allows it; nothing
    was sent, and what the connection already allows (bills) goes on working. ``scope`` is the scope
    missing, when known."""

    def __init__(self, message: str, *, scope: str | None = None, **kw) -> None:
        self.scope = scope
        super().__init__(message, **kw)


class BadCredentials(XeroError):
    """Xero refused the app's client id or secret: fix the app configuration."""


class AuthorizationFailed(XeroError):
    """The OAuth consent did not complete (user refused, ``state`` mismatch, code expired)."""

    retryable = False


class RateLimited(XeroError):
    """Xero's rate limit is reached and the wait is too long to do now.

    ``retry_at`` is an aware UTC datetime; ``problem`` is Xero's
    ``X-Rate-Limit-Problem`` (``minute``, ``day``, ``concurrent``, ``appminute``), or
    ``token`` when Xero's identity service (token endpoint) refused the request: that limit
    is the app's, not the organisation's, and ``message`` says so.
    """

    def __init__(
        self,
        retry_at: datetime,
        problem: str,
        *,
        correlation_id: str | None = None,
        message: str | None = None,
        **kw,
    ) -> None:
        self.retry_at = retry_at
        self.problem = problem or "unknown"
        if message is None:
            message = (
                f"Xero's {self.problem} rate limit is reached for this organisation: "
                f"try again after {self.when}."
            )
        super().__init__(message, correlation_id=correlation_id, **kw)

    @property
    def retry_after(self) -> float:  # type: ignore[override]
        """Seconds from now until ``retry_at`` (0 once it has passed)."""
        return max(0.0, (self.retry_at - datetime.now(timezone.utc)).total_seconds())

    @property
    def when(self) -> str:
        """``retry_at`` as shown in messages."""
        return self.retry_at.strftime("%Y-%m-%d %H:%M:%S UTC")


class ValidationFailed(XeroError):
    """Xero refused a document; ``errors`` are Xero's messages, made readable
    (with the bill number and the line they concern when known)."""

    retryable = False

    def __init__(
        self,
        errors: Iterable[str],
        *,
        subject: str | None = None,
        correlation_id: str | None = None,
        **kw,
    ) -> None:
        self.errors = tuple(errors) or ("Xero refused the request without saying why.",)
        self.subject = subject
        head = f"Xero refused {subject}: " if subject else "Xero refused the request: "
        super().__init__(head + "; ".join(self.errors), correlation_id=correlation_id, **kw)


class NotEditable(ValidationFailed):
    """The document in Xero may not be changed that way any more: a manual journal that is POSTED (or
    VOIDED, DELETED) is never updated, a draft is deleted rather than voided. ``status`` is its status in
    Xero."""

    def __init__(self, errors: Iterable[str], *, status: str | None = None, **kw) -> None:
        self.status = status
        super().__init__(errors, **kw)


class NotFound(XeroError):
    """The document or record does not exist (any more) in Xero."""


class XeroUnavailable(XeroError):
    """Xero did not answer properly (5xx, timeouts, connection errors) after
    bounded retries. Nothing is known to be half done: try again later."""


class OutcomeUnknown(XeroUnavailable):
    """A write was sent, no answer came back, and Xero could not be asked
    whether it was applied. The next attempt looks the documents up first, so
    retrying later never creates duplicates. ``invoice_numbers`` are the
    documents concerned."""

    def __init__(self, message: str, invoice_numbers: Iterable[str] = (), **kw) -> None:
        self.invoice_numbers = tuple(invoice_numbers)
        super().__init__(message, **kw)
