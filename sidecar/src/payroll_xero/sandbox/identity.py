"""Xero's identity service as the sandbox plays it: consent, codes, tokens, revocation and connections.

One consent (the user ticking organisations and pressing Allow) is a *grant*; its id is the
``authentication_event_id`` of the access tokens and the ``authEventId`` of the connections it touched.
Refresh tokens rotate; the one just replaced keeps working for :data:`REFRESH_GRACE` seconds.

An app accepts only the redirect URIs registered for it (:meth:`Identity.register_redirect_uri`); the
seeded demo app also accepts any http(s) URI on a loopback host (``localhost``, ``127.x.x.x``,
``[::1]``), which covers the tests, the command line and the docker demo. A consent may use PKCE
(``code_challenge`` with ``code_challenge_method=S256``): its code is then exchanged only with the
matching ``code_verifier``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from . import seed
from .seed import DEMO_CLIENT_ID
from .store import Store

CODE_LIFETIME = 5 * 60
ACCESS_LIFETIME = 30 * 60
REFRESH_LIFETIME = 60 * 24 * 3600
REFRESH_GRACE = 30 * 60

_GLOBAL = ""  # the store's tenant for documents that belong to no organisation
# RFC 7636: a code_verifier is 43 to 128 unreserved characters; an S256 challenge is 43 base64url ones.
_PKCE_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
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


def pkce_s256(code_verifier: str) -> str:
    """The S256 challenge of a verifier: base64url(sha256(verifier)) without padding."""
    return _b64(hashlib.sha256(code_verifier.encode("ascii")).digest())


@dataclass(frozen=True)
class AccessToken:
    """A valid access token, as the API sees it."""

    client_id: str
    grant_id: str
    user_id: str
    scope: tuple[str, ...]


class AuthError(Exception):
    """An OAuth failure, answered with ``status`` and ``body``."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(body.get("error") or body.get("Detail"))
        self.status = status
        self.body = body
        self.headers = headers or {}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _unauthorized(detail: str) -> AuthError:
    return AuthError(
        401,
        {
            "Type": None,
            "Title": "Unauthorized",
            "Status": 401,
            "Detail": detail,
            "Instance": str(uuid.uuid4()),
            "Extensions": {},
        },
        {"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def add_query(url: str, params: dict[str, str]) -> str:
    """``url`` with ``params`` added to its query string."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


class Identity:
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
        stored = self.store.get("client", _GLOBAL, client["client_id"]) or {}
        client["redirect_uris"] = list(
            dict.fromkeys(
                [
                    *client["redirect_uris"],
                    *stored.get("redirect_uris", ()),
                    *self._registered.get(client["client_id"], ()),
                ]
            )
        )
        self.store.put("client", _GLOBAL, client["client_id"], client)
        if self.store.get("meta", _GLOBAL, "secret") is None:
            self.store.put("meta", _GLOBAL, "secret", {"value": secrets.token_hex(32)})

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
            self.store.put("client", _GLOBAL, client_id, client)
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
        meta = self.store.get("meta", _GLOBAL, "secret")
        return bytes.fromhex(meta["value"]) if meta else b"sandbox"

    # --- clients --------------------------------------------------------------------------------------------

    def client(self, client_id: str | None) -> dict[str, Any] | None:
        """A registered app, or None."""
        return self.store.get("client", _GLOBAL, client_id) if client_id else None

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
                _GLOBAL,
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
                self.store.put("connection", _GLOBAL, connection["id"], connection)
            code = secrets.token_urlsafe(32)
            self.store.put(
                "code",
                _GLOBAL,
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

    # --- tokens ---------------------------------------------------------------------------------------------

    def token(self, form: dict[str, str], authorization: str | None) -> dict[str, Any]:
        """The token endpoint: authorization_code and refresh_token grants."""
        client = self._authenticate_client(form, authorization)
        grant_type = form.get("grant_type")
        now = time.time()
        with self.store.transaction():
            if grant_type == "authorization_code":
                code = self.store.get("code", _GLOBAL, form.get("code") or "")
                if (
                    code is None
                    or code["used"]
                    or code["expires"] < now
                    or code["client_id"] != client["client_id"]
                    or code["redirect_uri"] != form.get("redirect_uri")
                ):
                    raise AuthError(400, {"error": "invalid_grant"})
                if not self.redirect_allowed(client, form.get("redirect_uri")):
                    raise AuthError(
                        400,
                        {"error": "invalid_grant", "error_description": "redirect_uri is not registered"},
                    )
                problem = self._pkce_problem(code.get("code_challenge"), form.get("code_verifier"))
                if problem:
                    raise AuthError(400, {"error": "invalid_grant", "error_description": problem})
                code["used"] = True
                self.store.put("code", _GLOBAL, form["code"], code)
                grant_id = code["grant"]
            elif grant_type == "refresh_token":
                key = form.get("refresh_token") or ""
                record = self.store.get("refresh", _GLOBAL, key)
                if (
                    record is None
                    or record["revoked"]
                    or record["expires"] < now
                    or record["client_id"] != client["client_id"]
                    or (record["rotated_at"] is not None and now - record["rotated_at"] > REFRESH_GRACE)
                ):
                    raise AuthError(400, {"error": "invalid_grant"})
                if record["rotated_at"] is None:
                    record["rotated_at"] = now
                    self.store.put("refresh", _GLOBAL, key, record)
                grant_id = record["grant"]
            else:
                raise AuthError(400, {"error": "unsupported_grant_type"})
            return self._issue(self.store.get("grant", _GLOBAL, grant_id), now)

    @staticmethod
    def _pkce_problem(challenge: str | None, verifier: str | None) -> str | None:
        """Why ``verifier`` does not answer the code's ``challenge`` (None when it does, or when the
        code was issued without PKCE)."""
        if not challenge:
            return None
        if not verifier:
            return "code_verifier is required: the code was issued with a code_challenge"
        if not _PKCE_VERIFIER.match(verifier):
            return "code_verifier must be 43 to 128 unreserved characters"
        if not hmac.compare_digest(pkce_s256(verifier), challenge):
            return "code_verifier does not match the code_challenge"
        return None

    def _jwt(self, payload: dict[str, Any]) -> str:
        header = _b64(json.dumps({"alg": "HS256", "kid": "sandbox", "typ": "JWT"}).encode())
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        signature = hmac.new(self._secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
        return f"{header}.{body}.{_b64(signature)}"

    def _issue(self, grant: dict[str, Any], now: float) -> dict[str, Any]:
        jti = uuid.uuid4().hex
        exp = int(now) + ACCESS_LIFETIME
        access = self._jwt(
            {
                "nbf": int(now),
                "exp": exp,
                "iat": int(now),
                "iss": self.issuer,
                "aud": f"{self.issuer}/resources",
                "client_id": grant["client_id"],
                "sub": grant["user_id"].replace("-", ""),
                "auth_time": int(grant["created"]),
                "xero_userid": grant["user_id"],
                "global_session_id": grant["id"].replace("-", ""),
                "sid": grant["id"].replace("-", ""),
                "jti": jti,
                "authentication_event_id": grant["id"],
                "scope": grant["scope"],
            }
        )
        self.store.put(
            "access",
            _GLOBAL,
            jti,
            {"grant": grant["id"], "client_id": grant["client_id"], "exp": exp, "revoked": False},
        )
        answer: dict[str, Any] = {
            "access_token": access,
            "expires_in": ACCESS_LIFETIME,
            "token_type": "Bearer",
            "scope": " ".join(grant["scope"]),
        }
        if "offline_access" in grant["scope"]:
            refresh = secrets.token_urlsafe(32)
            self.store.put(
                "refresh",
                _GLOBAL,
                refresh,
                {
                    "grant": grant["id"],
                    "client_id": grant["client_id"],
                    "issued": now,
                    "expires": now + REFRESH_LIFETIME,
                    "rotated_at": None,
                    "revoked": False,
                },
            )
            answer["refresh_token"] = refresh
        if "openid" in grant["scope"]:
            answer["id_token"] = self._jwt(
                {
                    "nbf": int(now),
                    "exp": int(now) + 300,
                    "iss": self.issuer,
                    "aud": grant["client_id"],
                    "sub": grant["user_id"].replace("-", ""),
                    "xero_userid": grant["user_id"],
                    "email": "payroll.admin@example.com",
                    "given_name": "Sandbox",
                    "family_name": "User",
                    "preferred_username": "payroll.admin@example.com",
                }
            )
        return answer

    def revoke(self, form: dict[str, str], authorization: str | None) -> None:
        """Revoke a refresh token: its whole grant's tokens, and the connections that grant made."""
        client = self._authenticate_client(form, authorization)
        record = self.store.get("refresh", _GLOBAL, form.get("token") or "")
        if record is None or record["client_id"] != client["client_id"]:
            return  # RFC 7009: unknown tokens are not an error
        with self.store.transaction():
            for kind in ("refresh", "access"):
                for key, item in self._by_grant(kind, record["grant"]):
                    item["revoked"] = True
                    self.store.put(kind, _GLOBAL, key, item)
            for connection in self.store.all("connection", _GLOBAL):
                if connection["authEventId"] == record["grant"]:
                    self.store.delete("connection", _GLOBAL, connection["id"])

    def _by_grant(self, kind: str, grant_id: str) -> list[tuple[str, dict[str, Any]]]:
        return [(key, item) for key, item in self.store.items(kind, _GLOBAL) if item["grant"] == grant_id]

    def expire_access_tokens(self) -> None:
        """Make every access token issued so far expired (one second ago)."""
        now = int(time.time())
        with self.store.transaction():
            for key, item in self.store.items("access", _GLOBAL):
                item["exp"] = min(item["exp"], now - 1)
                self.store.put("access", _GLOBAL, key, item)

    def expire_refresh_tokens(self) -> None:
        """Make every refresh token issued so far unusable (as if 60 days had passed)."""
        now = time.time()
        with self.store.transaction():
            for key, item in self.store.items("refresh", _GLOBAL):
                item["expires"] = min(item["expires"], now - 1)
                self.store.put("refresh", _GLOBAL, key, item)

    # --- access tokens and connections ----------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> AccessToken:
        """The access token of a request's ``Authorization: Bearer`` header (AuthError 401 otherwise)."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise _unauthorized("AuthenticationUnsuccessful")
        token = authorization.split(None, 1)[1].strip()
        try:
            header, body, signature = token.split(".")
            expected = hmac.new(self._secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(_unb64(signature), expected):
                raise ValueError("bad signature")
            payload = json.loads(_unb64(body))
        except ValueError:
            raise _unauthorized("AuthenticationUnsuccessful") from None
        record = self.store.get("access", _GLOBAL, payload.get("jti", ""))
        if record is None or record["revoked"]:
            raise _unauthorized("AuthenticationUnsuccessful")
        if record["exp"] <= time.time():
            expired = datetime.fromtimestamp(record["exp"], timezone.utc)
            raise _unauthorized(f"TokenExpired: token expired at {expired:%m/%d/%Y %H:%M:%S}")
        grant = self.store.get("grant", _GLOBAL, record["grant"]) or {}
        return AccessToken(
            record["client_id"],
            record["grant"],
            grant.get("user_id", seed.DEMO_USER_ID),
            tuple(grant.get("scope", ())),
        )

    def connection_for(self, client_id: str, tenant_id: str) -> dict[str, Any] | None:
        """The app's connection to an organisation, or None."""
        for connection in self.store.all("connection", _GLOBAL):
            if connection["_client_id"] == client_id and connection["tenantId"] == tenant_id:
                return connection
        return None

    def connections(self, token: AccessToken, auth_event_id: str | None = None) -> list[dict[str, Any]]:
        """The app's connections in Xero's JSON shape, narrowed to one consent when asked."""
        result = []
        for connection in self.store.all("connection", _GLOBAL):
            if connection["_client_id"] != token.client_id:
                continue
            if auth_event_id and connection["authEventId"] != auth_event_id:
                continue
            result.append({k: v for k, v in connection.items() if not k.startswith("_")})
        return result

    def disconnect(self, token: AccessToken, connection_id: str) -> bool:
        """Remove one of the app's connections; False when there is no such connection."""
        connection = self.store.get("connection", _GLOBAL, connection_id)
        if connection is None or connection["_client_id"] != token.client_id:
            return False
        return self.store.delete("connection", _GLOBAL, connection_id)
