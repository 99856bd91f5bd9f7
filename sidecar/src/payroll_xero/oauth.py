"""Xero OAuth 2 (authorization code flow for a confidential web app), on ``requests``.

The SDK has no authorization-code helper and hard-codes its token URLs, so the
whole token life cycle lives here: consent URL, code exchange, refresh (with the
rotated token saved *before* anything else happens), revocation and the list of
connected organisations. The values it trades in (:class:`Token`, :class:`Tenant`,
:class:`XeroEndpoints`) live in :mod:`payroll_xero.oauth_models` and are re-exported here.

Nothing here logs or puts in an exception message a token, the client secret,
or a response body from the identity server (it may echo them).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import random
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from .errors import (
    AuthorizationFailed,
    BadCredentials,
    RateLimited,
    ReconnectNeeded,
    XeroError,
    XeroUnavailable,
)
from .oauth_models import (
    ACCOUNTING_PATH,
    AUTHORIZE_PATH,
    CONNECTIONS_PATH,
    REVOCATION_PATH,
    TOKEN_PATH,
    XERO,
    Tenant,
    Token,
    XeroEndpoints,
)

_logger = logging.getLogger(__name__)

# The granular scope of Xero's ManualJournals (apps created since 2 March 2026 cannot ask for the broad
# accounting.transactions, which older apps may use until September 2027 and which covers journals too).
JOURNAL_SCOPE = "accounting.manualjournals"
JOURNAL_SCOPES_ACCEPTED = (JOURNAL_SCOPE, "accounting.transactions")
DEFAULT_SCOPES: tuple[str, ...] = (
    "offline_access",
    "accounting.invoices",
    "accounting.settings.read",
    "accounting.contacts",
    "accounting.attachments",
    JOURNAL_SCOPE,
)
# (connect, read) seconds: every request made by this package has a timeout.
DEFAULT_TIMEOUT: tuple[float, float] = (5, 30)
# Refresh the access token this many seconds before it expires.
REFRESH_MARGIN = 60
# A 429 whose Retry-After is at most this many seconds is waited through (once for the identity
# service); a longer one raises RateLimited. The client uses the same default.
MAX_RATE_WAIT = 60.0
# PKCE (RFC 7636): verifier length in characters (43 to 128 allowed).
PKCE_VERIFIER_LENGTH = 64


def journals_allowed(scopes: Sequence[str] | str) -> bool:
    """Whether a token's (or a connection's) ``scopes`` let it write manual journals: the granular
    ``accounting.manualjournals`` or the broad ``accounting.transactions``. A connection made before
    journals were asked for says False: it must connect to Xero again (its bills are not affected)."""
    granted = scopes.split() if isinstance(scopes, str) else list(scopes)
    return any(scope in granted for scope in JOURNAL_SCOPES_ACCEPTED)


def new_state() -> str:
    """An unguessable ``state`` for one consent; keep it server side and compare on return."""
    return secrets.token_urlsafe(32)


def pkce_challenge(code_verifier: str) -> str:
    """The S256 ``code_challenge`` of a verifier: base64url(sha256(verifier)) without padding."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_pkce() -> tuple[str, str]:
    """A fresh PKCE pair ``(code_verifier, code_challenge)`` (RFC 7636, method S256).

    The verifier is 64 unreserved characters (``A-Z a-z 0-9 - _``); keep it server side with
    the ``state``, send the challenge in :func:`authorization_url` and the verifier to
    :func:`exchange_code`.
    """
    verifier = secrets.token_urlsafe(PKCE_VERIFIER_LENGTH)[:PKCE_VERIFIER_LENGTH]
    return verifier, pkce_challenge(verifier)


def authorization_url(
    client_id: str,
    redirect_uri: str,
    state: str,
    scopes: Sequence[str] = DEFAULT_SCOPES,
    endpoints: XeroEndpoints = XERO,
    *,
    code_challenge: str | None = None,
) -> str:
    """The URL to send the user to for consent; with ``code_challenge`` (see :func:`new_pkce`)
    it asks for PKCE with ``code_challenge_method=S256``."""
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(scopes),
        "state": state,
    }
    if code_challenge:
        params.update({"code_challenge": code_challenge, "code_challenge_method": "S256"})
    return f"{endpoints.authorize_url}?{urlencode(params)}"


def code_from_redirect(redirect_url: str, expected_state: str) -> str:
    """The authorization code from the URL Xero redirected to, after checking ``state``.

    Raises :class:`AuthorizationFailed` when the user refused, the state does not
    match (a forged or stale callback) or there is no code.
    """
    query = parse_qs(urlsplit(redirect_url.strip()).query)
    state = (query.get("state") or [""])[0]
    if not expected_state or not hmac.compare_digest(state.encode(), expected_state.encode()):
        raise AuthorizationFailed(
            "The answer from Xero does not belong to this connection attempt (state mismatch): start again."
        )
    if query.get("error"):
        error = query["error"][0]
        if error == "access_denied":
            raise AuthorizationFailed("The connection to Xero was cancelled in Xero.")
        raise AuthorizationFailed(f"Xero refused the connection ({error}).")
    code = (query.get("code") or [""])[0]
    if not code:
        raise AuthorizationFailed("Xero's answer holds no authorization code: start again.")
    return code


def _correlation(resp: requests.Response) -> str | None:
    return resp.headers.get("Xero-Correlation-Id")


def _retry_after(resp: requests.Response) -> float:
    """Seconds to wait after a 429 (60 when Xero does not say)."""
    try:
        return max(0.0, float(resp.headers.get("Retry-After", "60")))
    except ValueError:
        return 60.0


def _json(resp: requests.Response, unreadable: str) -> Any:
    try:
        return resp.json()
    except ValueError:
        raise XeroUnavailable(unreadable) from None


@dataclass(frozen=True)
class _Identity:
    """How this module talks to Xero's identity service and ``/connections``: the timeout, the
    ``requests`` session, the injectable ``sleep`` and the longest Retry-After waited through."""

    timeout: tuple[float, float] = DEFAULT_TIMEOUT
    session: requests.Session | None = None
    sleep: Callable[[float], None] = time.sleep
    max_wait: float = MAX_RATE_WAIT
    attempts: int = 3

    def request(self, method: str, url: str, *, what: str, **kwargs: Any) -> requests.Response:
        """One request, retried on connection errors and 5xx, and once after a 429 whose
        Retry-After is at most ``max_wait`` seconds.

        Token requests can be repeated safely: a refresh whose answer was lost can be
        replayed with the old refresh token during Xero's 30-minute grace period, and a
        request answered 429 was not processed.
        """
        last = ""
        rate_waited = False
        attempt = 0
        while attempt < self.attempts:
            attempt += 1
            resp, last = self._send(method, url, what, attempt, kwargs)
            if resp is not None and resp.status_code == 429 and not rate_waited:
                if _retry_after(resp) <= self.max_wait:
                    rate_waited = True
                    _logger.info(
                        "Xero %s: %s's request limit, waiting %.0fs",
                        what,
                        urlsplit(url).netloc,
                        _retry_after(resp),
                    )
                    self.sleep(_retry_after(resp))
                    attempt -= 1
                    continue
            if resp is not None and resp.status_code < 500:
                return resp
            if attempt < self.attempts:
                self.sleep(min(8.0, 0.5 * 2 ** (attempt - 1)) * (0.5 + random.random()))  # noqa: S311 (jitter)
        raise XeroUnavailable(f"Xero's identity service is unavailable ({what}: {last}); try again later.")

    def _send(
        self, method: str, url: str, what: str, attempt: int, kwargs: dict[str, Any]
    ) -> tuple[requests.Response | None, str]:
        """The answer (None when none came) and what to call a failure, logged either way."""
        path = urlsplit(url).path
        started = time.monotonic()
        try:
            resp = (self.session or requests).request(
                method, url, timeout=self.timeout, allow_redirects=False, **kwargs
            )
        except requests.RequestException as exc:
            failure = type(exc).__name__
            _logger.warning("Xero %s: %s %s failed (%s), attempt %d", what, method, path, failure, attempt)
            return None, failure
        _logger.info(
            "Xero %s: %s %s -> %s in %.2fs (correlation %s)",
            what,
            method,
            path,
            resp.status_code,
            time.monotonic() - started,
            _correlation(resp) or "-",
        )
        return resp, f"HTTP {resp.status_code}"

    def token(self, url: str, client: tuple[str, str], data: dict[str, str], what: str) -> Token:
        """POST a grant to the token endpoint; the token set it answers."""
        resp = self.request(
            "POST", url, what=what, data=data, auth=client, headers={"Accept": "application/json"}
        )
        if resp.status_code != 200:
            raise _oauth_error(resp, what)
        return Token.from_response(_json(resp, f"Xero's {what} answer is not JSON; try again later."))


_TOKEN_REQUESTS = ("code exchange", "token refresh")


def _oauth_error(resp: requests.Response, what: str) -> XeroError:
    try:
        data = resp.json()
    except ValueError:
        data = {}
    error = str(data.get("error") or "") if isinstance(data, dict) else ""
    corr = _correlation(resp)
    if resp.status_code == 429:
        return _token_rate_limited(resp, what)
    if error == "invalid_grant":
        return ReconnectNeeded(
            "The connection to Xero has expired or was revoked (invalid_grant): connect to Xero again.",
            correlation_id=corr,
        )
    if error in ("invalid_client", "unauthorized_client") or resp.status_code == 401:
        return BadCredentials(
            "Xero refused the app's client id or secret: check the Xero app settings.", correlation_id=corr
        )
    detail = error or f"HTTP {resp.status_code}"
    return XeroError(f"Xero refused the {what} request ({detail}).", correlation_id=corr)


def _token_rate_limited(resp: requests.Response, what: str) -> RateLimited:
    """A 429 from the identity service: the app's limit there, not an organisation's."""
    retry_at = datetime.now(timezone.utc) + timedelta(seconds=_retry_after(resp))
    when = retry_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    service = "token endpoint" if what in _TOKEN_REQUESTS else f"{what} endpoint"
    return RateLimited(
        retry_at,
        resp.headers.get("X-Rate-Limit-Problem") or "token",
        correlation_id=_correlation(resp),
        message=(
            f"Xero's {service} limits how many requests this app may make ({what} refused, HTTP 429; "
            f"this is not an organisation's API limit): try again after {when}."
        ),
    )


def exchange_code(
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    *,
    endpoints: XeroEndpoints = XERO,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
    code_verifier: str | None = None,
    max_wait: float = MAX_RATE_WAIT,
) -> Token:
    """Trade the authorization code (valid 5 minutes, single use) for a token set.

    ``code_verifier`` is the PKCE verifier whose challenge went in :func:`authorization_url`.
    """
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if code_verifier:
        data["code_verifier"] = code_verifier
    identity = _Identity(timeout, session, sleep, max_wait)
    return identity.token(endpoints.token_url, (client_id, client_secret), data, "code exchange")


def refresh(
    client_id: str,
    client_secret: str,
    token: Token | str,
    save: Callable[[Token], None],
    *,
    endpoints: XeroEndpoints = XERO,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
    max_wait: float = MAX_RATE_WAIT,
) -> Token:
    """Refresh the access token; the refresh token rotates.

    The new token is handed to ``save`` before this function returns: if
    ``save`` raises, the error propagates and the token is not used (the old
    refresh token stays valid for Xero's 30-minute grace period, so a retry can
    still succeed). ``invalid_grant`` raises :class:`ReconnectNeeded`.
    """
    refresh_token = token.refresh_token if isinstance(token, Token) else token
    if not refresh_token:
        raise ReconnectNeeded(
            "There is no Xero refresh token (offline_access missing?): connect to Xero again."
        )
    identity = _Identity(timeout, session, sleep, max_wait)
    grant = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    new = identity.token(endpoints.token_url, (client_id, client_secret), grant, "token refresh")
    if new.refresh_token is None:
        # Xero always rotates; keep the old one if an identity server does not.
        new = Token(new.access_token, refresh_token, new.expires_at, new.scopes, new.token_type)
    save(new)
    return new


def revoke(
    client_id: str,
    client_secret: str,
    token: Token | str,
    *,
    endpoints: XeroEndpoints = XERO,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Revoke the refresh token: every connection of this consent is removed."""
    refresh_token = token.refresh_token if isinstance(token, Token) else token
    if not refresh_token:
        return
    resp = _Identity(timeout, session, sleep).request(
        "POST",
        endpoints.revocation_url,
        what="revocation",
        data={"token": refresh_token},
        auth=(client_id, client_secret),
        headers={"Accept": "application/json"},
    )
    if resp.status_code != 200:
        raise _oauth_error(resp, "revocation")


def list_connections(
    access_token: str | Token,
    auth_event_id: str | None = None,
    *,
    endpoints: XeroEndpoints = XERO,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Tenant]:
    """The organisations this app can reach; with ``auth_event_id`` only those picked in that consent."""
    if isinstance(access_token, Token):
        access_token = access_token.access_token
    resp = _Identity(timeout, session, sleep).request(
        "GET",
        endpoints.connections_url,
        what="connections",
        params={"authEventId": auth_event_id} if auth_event_id else None,
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
    )
    if resp.status_code in (401, 403):
        raise ReconnectNeeded(
            "Xero refused the access token while listing organisations: connect to Xero again.",
            correlation_id=_correlation(resp),
        )
    if resp.status_code != 200:
        raise _oauth_error(resp, "connections")
    rows = _json(resp, "Xero's list of organisations is not JSON; try again later.")
    return [Tenant.from_json(row) for row in rows]


__all__ = [
    "ACCOUNTING_PATH",
    "AUTHORIZE_PATH",
    "CONNECTIONS_PATH",
    "DEFAULT_SCOPES",
    "DEFAULT_TIMEOUT",
    "JOURNAL_SCOPE",
    "JOURNAL_SCOPES_ACCEPTED",
    "MAX_RATE_WAIT",
    "PKCE_VERIFIER_LENGTH",
    "REFRESH_MARGIN",
    "REVOCATION_PATH",
    "TOKEN_PATH",
    "XERO",
    "Tenant",
    "Token",
    "XeroEndpoints",
    "authorization_url",
    "code_from_redirect",
    "exchange_code",
    "journals_allowed",
    "list_connections",
    "new_pkce",
    "new_state",
    "pkce_challenge",
    "refresh",
    "revoke",
]
