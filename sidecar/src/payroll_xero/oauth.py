"""Xero OAuth 2 (authorization code flow for a confidential web app), on ``requests``.

The SDK has no authorization-code helper and hard-codes its token URLs, so the
whole token life cycle lives here: consent URL, code exchange, refresh (with the
rotated token saved *before* anything else happens), revocation and the list of
connected organisations.

Nothing here logs or puts in an exception message a token, the client secret,
or a response body from the identity server (it may echo them).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import random
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
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

_logger = logging.getLogger(__name__)

AUTHORIZE_PATH = "/identity/connect/authorize"
TOKEN_PATH = "/connect/token"  # noqa: S105 (a URL path)
REVOCATION_PATH = "/connect/revocation"
CONNECTIONS_PATH = "/connections"
ACCOUNTING_PATH = "/api.xro/2.0"

DEFAULT_SCOPES: tuple[str, ...] = (
    "offline_access",
    "accounting.invoices",
    "accounting.settings.read",
    "accounting.contacts",
    "accounting.attachments",
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


@dataclass(frozen=True, slots=True)
class XeroEndpoints:
    """Where Xero's three hosts are; one local base URL serves all three in the sandbox."""

    login_url: str = "https://login.xero.com"
    identity_url: str = "https://identity.xero.com"
    api_url: str = "https://api.xero.com"

    def __post_init__(self) -> None:
        for name in ("login_url", "identity_url", "api_url"):
            object.__setattr__(self, name, getattr(self, name).rstrip("/"))

    @classmethod
    def single(cls, base_url: str) -> XeroEndpoints:
        """All three hosts at one base URL (the local sandbox)."""
        return cls(base_url, base_url, base_url)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> XeroEndpoints:
        """From ``XERO_LOGIN_URL`` / ``XERO_IDENTITY_URL`` / ``XERO_API_URL``; Xero's own hosts by default.

        When only ``XERO_API_URL`` is set, it is used for all three (a sandbox).
        """
        env = os.environ if environ is None else environ
        default = cls()
        api = env.get("XERO_API_URL") or default.api_url
        fallback = api if env.get("XERO_API_URL") else None
        return cls(
            login_url=env.get("XERO_LOGIN_URL") or fallback or default.login_url,
            identity_url=env.get("XERO_IDENTITY_URL") or fallback or default.identity_url,
            api_url=api,
        )

    @property
    def authorize_url(self) -> str:
        return self.login_url + AUTHORIZE_PATH

    @property
    def token_url(self) -> str:
        return self.identity_url + TOKEN_PATH

    @property
    def revocation_url(self) -> str:
        return self.identity_url + REVOCATION_PATH

    @property
    def connections_url(self) -> str:
        return self.api_url + CONNECTIONS_PATH

    @property
    def accounting_url(self) -> str:
        return self.api_url + ACCOUNTING_PATH


XERO = XeroEndpoints()


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _jwt_payload(jwt: str) -> dict[str, Any]:
    """The payload of a JWT, decoded WITHOUT verifying the signature (only to read ids)."""
    try:
        payload = jwt.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        data = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except (IndexError, ValueError, TypeError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True, slots=True)
class Token:
    """An OAuth token set. ``repr`` hides the secrets, so it is safe to log."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: datetime
    scopes: tuple[str, ...] = ()
    token_type: str = "Bearer"  # noqa: S105

    def __post_init__(self) -> None:
        if self.expires_at.tzinfo is None:
            raise ValueError("Token.expires_at must be an aware datetime")
        object.__setattr__(self, "expires_at", self.expires_at.astimezone(timezone.utc))
        object.__setattr__(self, "scopes", tuple(self.scopes))

    def expires_within(self, seconds: float, now: datetime | None = None) -> bool:
        """True when the access token expires in less than ``seconds`` from ``now``."""
        now = now or _utcnow()
        return self.expires_at - now < timedelta(seconds=seconds)

    @property
    def auth_event_id(self) -> str | None:
        """The consent this token comes from (``authentication_event_id`` of the access token JWT)."""
        return _jwt_payload(self.access_token).get("authentication_event_id")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, for storage (the result holds secrets: store it as one)."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at.isoformat(),
            "scopes": list(self.scopes),
            "token_type": self.token_type,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Token:
        expires_at = data["expires_at"]
        if isinstance(expires_at, (int, float)):
            expires = datetime.fromtimestamp(expires_at, timezone.utc)
        else:
            expires = datetime.fromisoformat(str(expires_at))
            if expires.tzinfo is None:
                expires = expires.replace(tzinfo=timezone.utc)
        scopes = data.get("scopes", data.get("scope", ()))
        if isinstance(scopes, str):
            scopes = scopes.split()
        return cls(
            access_token=data["access_token"],
            refresh_token=data.get("refresh_token"),
            expires_at=expires,
            scopes=tuple(scopes),
            token_type=data.get("token_type") or "Bearer",
        )

    @classmethod
    def from_response(cls, data: Mapping[str, Any], now: datetime | None = None) -> Token:
        """From the identity server's token response (``expires_in`` counts from ``now``)."""
        now = now or _utcnow()
        if not data.get("access_token"):
            raise XeroError("Xero's token answer holds no access token.")
        return cls(
            access_token=data["access_token"],
            refresh_token=data.get("refresh_token"),
            expires_at=now + timedelta(seconds=int(data.get("expires_in") or 1800)),
            scopes=tuple(str(data.get("scope") or "").split()),
            token_type=data.get("token_type") or "Bearer",
        )


@dataclass(frozen=True, slots=True)
class Tenant:
    """An organisation this app is connected to."""

    tenant_id: str
    tenant_name: str
    tenant_type: str
    connection_id: str
    auth_event_id: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Tenant:
        return cls(
            tenant_id=data["tenantId"],
            tenant_name=data.get("tenantName") or "",
            tenant_type=data.get("tenantType") or "",
            connection_id=data.get("id") or "",
            auth_event_id=data.get("authEventId"),
        )


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


def _retry_at(resp: requests.Response) -> datetime:
    return _utcnow() + timedelta(seconds=_retry_after(resp))


def _request(
    method: str,
    url: str,
    *,
    what: str,
    session: requests.Session | None,
    timeout: tuple[float, float],
    attempts: int = 3,
    sleep: Callable[[float], None] = time.sleep,
    max_wait: float = MAX_RATE_WAIT,
    **kwargs: Any,
) -> requests.Response:
    """One identity/connections request, retried on connection errors and 5xx, and once
    after a 429 whose Retry-After is at most ``max_wait`` seconds.

    Token requests can be repeated safely: a refresh whose answer was lost can be
    replayed with the old refresh token during Xero's 30-minute grace period, and a
    request answered 429 was not processed.
    """
    http = session or requests
    last: str = ""
    rate_waited = False
    attempt = 0
    while attempt < attempts:
        attempt += 1
        started = time.monotonic()
        try:
            resp = http.request(method, url, timeout=timeout, allow_redirects=False, **kwargs)
        except requests.RequestException as exc:
            last = type(exc).__name__
            _logger.warning(
                "Xero %s: %s %s failed (%s), attempt %d", what, method, urlsplit(url).path, last, attempt
            )
        else:
            _logger.info(
                "Xero %s: %s %s -> %s in %.2fs (correlation %s)",
                what,
                method,
                urlsplit(url).path,
                resp.status_code,
                time.monotonic() - started,
                _correlation(resp) or "-",
            )
            if resp.status_code == 429 and not rate_waited and _retry_after(resp) <= max_wait:
                rate_waited = True
                _logger.info(
                    "Xero %s: %s's request limit, waiting %.0fs",
                    what,
                    urlsplit(url).netloc,
                    _retry_after(resp),
                )
                sleep(_retry_after(resp))
                attempt -= 1
                continue
            if resp.status_code < 500:
                return resp
            last = f"HTTP {resp.status_code}"
        if attempt < attempts:
            sleep(min(8.0, 0.5 * 2 ** (attempt - 1)) * (0.5 + random.random()))  # noqa: S311 (jitter)
    raise XeroUnavailable(f"Xero's identity service is unavailable ({what}: {last}); try again later.")


_TOKEN_REQUESTS = ("code exchange", "token refresh")


def _oauth_error(resp: requests.Response, what: str) -> XeroError:
    try:
        data = resp.json()
    except ValueError:
        data = {}
    error = str(data.get("error") or "") if isinstance(data, dict) else ""
    corr = _correlation(resp)
    if resp.status_code == 429:
        retry_at = _retry_at(resp)
        when = retry_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        service = "token endpoint" if what in _TOKEN_REQUESTS else f"{what} endpoint"
        return RateLimited(
            retry_at,
            resp.headers.get("X-Rate-Limit-Problem") or "token",
            correlation_id=corr,
            message=(
                f"Xero's {service} limits how many requests this app may make ({what} refused, HTTP 429; "
                f"this is not an organisation's API limit): try again after {when}."
            ),
        )
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


def _token_request(
    data: dict[str, str],
    *,
    client_id: str,
    client_secret: str,
    what: str,
    endpoints: XeroEndpoints,
    timeout: tuple[float, float],
    session: requests.Session | None,
    sleep: Callable[[float], None],
    max_wait: float = MAX_RATE_WAIT,
) -> Token:
    resp = _request(
        "POST",
        endpoints.token_url,
        what=what,
        session=session,
        timeout=timeout,
        sleep=sleep,
        max_wait=max_wait,
        data=data,
        auth=(client_id, client_secret),
        headers={"Accept": "application/json"},
    )
    if resp.status_code != 200:
        raise _oauth_error(resp, what)
    try:
        payload = resp.json()
    except ValueError:
        raise XeroUnavailable(f"Xero's {what} answer is not JSON; try again later.") from None
    return Token.from_response(payload)


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
    return _token_request(
        data,
        client_id=client_id,
        client_secret=client_secret,
        what="code exchange",
        endpoints=endpoints,
        timeout=timeout,
        session=session,
        sleep=sleep,
        max_wait=max_wait,
    )


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
    new = _token_request(
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        client_id=client_id,
        client_secret=client_secret,
        what="token refresh",
        endpoints=endpoints,
        timeout=timeout,
        session=session,
        sleep=sleep,
        max_wait=max_wait,
    )
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
    resp = _request(
        "POST",
        endpoints.revocation_url,
        what="revocation",
        session=session,
        timeout=timeout,
        sleep=sleep,
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
    params = {"authEventId": auth_event_id} if auth_event_id else None
    resp = _request(
        "GET",
        endpoints.connections_url,
        what="connections",
        session=session,
        timeout=timeout,
        sleep=sleep,
        params=params,
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
    )
    if resp.status_code in (401, 403):
        raise ReconnectNeeded(
            "Xero refused the access token while listing organisations: connect to Xero again.",
            correlation_id=_correlation(resp),
        )
    if resp.status_code != 200:
        raise _oauth_error(resp, "connections")
    try:
        rows = resp.json()
    except ValueError:
        raise XeroUnavailable("Xero's list of organisations is not JSON; try again later.") from None
    return [Tenant.from_json(row) for row in rows]


def disconnect(
    access_token: str | Token,
    connection_id: str,
    *,
    endpoints: XeroEndpoints = XERO,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Remove one organisation's connection (``DELETE /connections/{id}``)."""
    if isinstance(access_token, Token):
        access_token = access_token.access_token
    resp = _request(
        "DELETE",
        f"{endpoints.connections_url}/{connection_id}",
        what="disconnect",
        session=session,
        timeout=timeout,
        sleep=sleep,
        headers={"Authorization": f"Bearer {access_token}"},
    )
    if resp.status_code in (401, 403):
        raise ReconnectNeeded("Xero refused the access token: connect to Xero again.")
    if resp.status_code not in (200, 204, 404):
        raise _oauth_error(resp, "disconnect")
