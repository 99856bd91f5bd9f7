"""Xero's identity service as the sandbox plays it: consent, codes, tokens, revocation and connections.

One consent (the user ticking organisations and pressing Allow) is a *grant*; its id is the
``authentication_event_id`` of the access tokens and the ``authEventId`` of the connections it touched.
Refresh tokens rotate; the one just replaced keeps working for :data:`REFRESH_GRACE` seconds.

An app accepts only the redirect URIs registered for it (:meth:`Identity.register_redirect_uri`); the
seeded demo app also accepts any http(s) URI on a loopback host (``localhost``, ``127.x.x.x``,
``[::1]``), which covers the tests, the command line and the docker demo. A consent may use PKCE
(``code_challenge`` with ``code_challenge_method=S256``): its code is then exchanged only with the
matching ``code_verifier``.

The token endpoint, revocation and access checks are the mixin :class:`~payroll_xero.sandbox.tokens.Tokens`.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import re
import secrets
import time
import uuid
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from . import seed
from .seed import DEMO_CLIENT_ID
from .store import Store
from .tokens import GLOBAL, AccessToken, AuthError, Tokens

CODE_LIFETIME = 5 * 60
# RFC 7636: an S256 challenge is 43 base64url characters.
_PKCE_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost`` (and its subdomains), 127.0.0.0/8 and ::1."""
    if not host:
        return False
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def add_query(url: str, params: dict[str, str]) -> str:
    """``url`` with ``params`` added to its query string."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


class Identity(Tokens):
    """Consent, tokens and connections, kept in the store."""

    def __init__(
        self, store: Store, issuer: str = "http://sandbox", redirect_uris: tuple[str, ...] | list[str] = ()
    ) -> None:
        self.store = store
        self.issuer = issuer
        # client_id -> redirect URIs registered on this sandbox (kept over resets and re-seeding).
        self._registered: dict[str, list[str]] = {}
        for uri in redirect_uris:
            self._remember_redirect_uri(seed.DEMO_CLIENT_ID, uri)

    # --- setup ----------------------------------------------------------------------------------------------

    def seed(self) -> None:
        """Install the demo client and a signing secret (kept across restarts of a file-backed sandbox).

        Redirect URIs registered earlier (on this sandbox, or in the file of a file-backed one) are kept.
        """
        client = seed.demo_client()
        stored = self.store.get("client", GLOBAL, client["client_id"]) or {}
        client["redirect_uris"] = list(
            dict.fromkeys(
                [
                    *client["redirect_uris"],
                    *stored.get("redirect_uris", ()),
                    *self._registered.get(client["client_id"], ()),
                ]
            )
        )
        self.store.put("client", GLOBAL, client["client_id"], client)
        if self.store.get("meta", GLOBAL, "secret") is None:
            self.store.put("meta", GLOBAL, "secret", {"value": secrets.token_hex(32)})

    @staticmethod
    def _check_redirect_uri(uri: str) -> str:
        parts = urlsplit(uri)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
            raise ValueError(
                f"A redirect URI must be an absolute http(s) URL without a fragment, not '{uri}'"
            )
        return uri

    def _remember_redirect_uri(self, client_id: str, uri: str) -> None:
        uris = self._registered.setdefault(client_id, [])
        if self._check_redirect_uri(uri) not in uris:
            uris.append(uri)

    def register_redirect_uri(self, redirect_uri: str, client_id: str = DEMO_CLIENT_ID) -> list[str]:
        """Register a redirect URI for an app (as on Xero's developer portal); returns the app's list."""
        client = self.client(client_id)
        if client is None:
            raise KeyError(f"no app with client_id '{client_id}'")
        self._remember_redirect_uri(client_id, redirect_uri)
        if redirect_uri not in client["redirect_uris"]:
            client["redirect_uris"].append(redirect_uri)
            self.store.put("client", GLOBAL, client_id, client)
        return list(client["redirect_uris"])

    @staticmethod
    def redirect_allowed(client: dict[str, Any], redirect_uri: str | None) -> bool:
        """Whether ``redirect_uri`` is registered for ``client`` (exactly), or is a loopback URL
        of an app that accepts those (the demo app)."""
        if not redirect_uri:
            return False
        if redirect_uri in client.get("redirect_uris", ()):
            return True
        parts = urlsplit(redirect_uri)
        return (
            bool(client.get("loopback_redirects"))
            and parts.scheme in ("http", "https")
            and not parts.fragment
            and is_loopback_host(parts.hostname)
        )

    @property
    def _secret(self) -> bytes:
        meta = self.store.get("meta", GLOBAL, "secret")
        return bytes.fromhex(meta["value"]) if meta else b"sandbox"

    # --- clients --------------------------------------------------------------------------------------------

    def client(self, client_id: str | None) -> dict[str, Any] | None:
        """A registered app, or None."""
        return self.store.get("client", GLOBAL, client_id) if client_id else None

    def check_authorize_request(self, params: dict[str, str]) -> str | None:
        """Why an authorize request cannot be shown (None when it can)."""
        missing = [p for p in ("response_type", "client_id", "redirect_uri", "scope") if not params.get(p)]
        if missing:
            return "Missing parameter(s): " + ", ".join(missing)
        if params["response_type"] != "code":
            return f"Unsupported response_type '{params['response_type']}' (use 'code')"
        client = self.client(params["client_id"])
        if client is None:
            return f"Unknown client_id '{params['client_id']}'"
        redirect = params["redirect_uri"]
        if urlsplit(redirect).scheme not in ("http", "https") or not urlsplit(redirect).netloc:
            return f"Invalid redirect_uri '{redirect}'"
        if not self.redirect_allowed(client, redirect):
            return (
                f"redirect_uri '{redirect}' is not registered for this app: register it on the sandbox "
                "(Sandbox.register_redirect_uri, or POST /_sandbox/register_redirect_uri)"
            )
        challenge, method = params.get("code_challenge"), params.get("code_challenge_method")
        if challenge or method:
            if method != "S256":
                return "code_challenge_method must be S256 (and comes with a code_challenge)"
            if not challenge or not _PKCE_CHALLENGE.match(challenge):
                return "code_challenge must be 43 base64url characters: base64url(sha256(code_verifier))"
        return None

    def _authenticate_client(self, form: dict[str, str], authorization: str | None) -> dict[str, Any]:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization.split(None, 1)[1]).decode()
                client_id, _, client_secret = decoded.partition(":")
            except (ValueError, UnicodeDecodeError):
                raise AuthError(401, {"error": "invalid_client"}) from None
        client = self.client(client_id)
        if client is None or not hmac.compare_digest(str(client_secret or ""), client["client_secret"]):
            raise AuthError(401, {"error": "invalid_client"})
        return client

    # --- consent --------------------------------------------------------------------------------------------

    def consent(self, params: dict[str, str], tenant_ids: list[str], allow: bool) -> str:
        """The user's answer on the authorize page, as the redirect URL to send the browser to."""
        problem = self.check_authorize_request(params)
        if problem:
            raise ValueError(problem)
        state = {"state": params["state"]} if params.get("state") else {}
        if not allow:
            return add_query(params["redirect_uri"], {"error": "access_denied", **state})
        known = {t for t in seed.tenant_ids() if self.store.get("organisation", t, t)}
        chosen = [t for t in dict.fromkeys(tenant_ids) if t in known]
        if not chosen:
            raise ValueError("Select at least one organisation to connect")
        now = time.time()
        grant_id = str(uuid.uuid4())
        scope = params["scope"].split()
        with self.store.transaction():
            self.store.put(
                "grant",
                GLOBAL,
                grant_id,
                {
                    "id": grant_id,
                    "client_id": params["client_id"],
                    "user_id": seed.DEMO_USER_ID,
                    "scope": scope,
                    "tenant_ids": chosen,
                    "created": now,
                },
            )
            stamp = datetime.fromtimestamp(now, timezone.utc).replace(tzinfo=None).isoformat()
            for tenant_id in chosen:
                connection = self.connection_for(params["client_id"], tenant_id)
                if connection is None:
                    org = self.store.get("organisation", tenant_id, tenant_id)
                    connection = {
                        "id": str(uuid.uuid4()),
                        "tenantId": tenant_id,
                        "tenantType": "ORGANISATION",
                        "tenantName": org["Name"],
                        "createdDateUtc": stamp,
                        "_client_id": params["client_id"],
                    }
                connection.update({"authEventId": grant_id, "updatedDateUtc": stamp})
                self.store.put("connection", GLOBAL, connection["id"], connection)
            code = secrets.token_urlsafe(32)
            self.store.put(
                "code",
                GLOBAL,
                code,
                {
                    "client_id": params["client_id"],
                    "redirect_uri": params["redirect_uri"],
                    "grant": grant_id,
                    "expires": now + CODE_LIFETIME,
                    "used": False,
                    "code_challenge": params.get("code_challenge") or None,
                },
            )
        return add_query(params["redirect_uri"], {"code": code, **state})

    # --- access tokens and connections ----------------------------------------------------------------------
    def connection_for(self, client_id: str, tenant_id: str) -> dict[str, Any] | None:
        """The app's connection to an organisation, or None."""
        for connection in self.store.all("connection", GLOBAL):
            if connection["_client_id"] == client_id and connection["tenantId"] == tenant_id:
                return connection
        return None

    def connections(self, token: AccessToken, auth_event_id: str | None = None) -> list[dict[str, Any]]:
        """The app's connections in Xero's JSON shape, narrowed to one consent when asked."""
        result = []
        for connection in self.store.all("connection", GLOBAL):
            if connection["_client_id"] != token.client_id:
                continue
            if auth_event_id and connection["authEventId"] != auth_event_id:
                continue
            result.append({k: v for k, v in connection.items() if not k.startswith("_")})
        return result

    def disconnect(self, token: AccessToken, connection_id: str) -> bool:
        """Remove one of the app's connections; False when there is no such connection."""
        connection = self.store.get("connection", GLOBAL, connection_id)
        if connection is None or connection["_client_id"] != token.client_id:
            return False
        return self.store.delete("connection", GLOBAL, connection_id)
