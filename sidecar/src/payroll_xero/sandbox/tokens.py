"""Tokens of the sandbox's identity service: code and refresh grants, rotation, revocation and access checks.

Access tokens are JWTs signed with the sandbox's secret; refresh tokens rotate, the one just replaced keeps
working for :data:`REFRESH_GRACE` seconds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from . import seed

ACCESS_LIFETIME = 30 * 60
REFRESH_LIFETIME = 60 * 24 * 3600
REFRESH_GRACE = 30 * 60

GLOBAL = ""  # the store's tenant for documents that belong to no organisation
# RFC 7636: a code_verifier is 43 to 128 unreserved characters; an S256 challenge is 43 base64url ones.
_PKCE_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")


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


class Tokens:
    """The token side of :class:`~payroll_xero.sandbox.identity.Identity`: the token and revocation
    endpoints, signed access tokens and their checks. A mixin: it uses the identity's store, issuer,
    client authentication and signing secret.
    """

    def token(self, form: dict[str, str], authorization: str | None) -> dict[str, Any]:
        """The token endpoint: authorization_code and refresh_token grants."""
        client = self._authenticate_client(form, authorization)
        grant_type = form.get("grant_type")
        now = time.time()
        with self.store.transaction():
            if grant_type == "authorization_code":
                code = self.store.get("code", GLOBAL, form.get("code") or "")
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
                self.store.put("code", GLOBAL, form["code"], code)
                grant_id = code["grant"]
            elif grant_type == "refresh_token":
                key = form.get("refresh_token") or ""
                record = self.store.get("refresh", GLOBAL, key)
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
                    self.store.put("refresh", GLOBAL, key, record)
                grant_id = record["grant"]
            else:
                raise AuthError(400, {"error": "unsupported_grant_type"})
            return self._issue(self.store.get("grant", GLOBAL, grant_id), now)

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
            GLOBAL,
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
                GLOBAL,
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
            answer["id_token"] = self._id_token(grant, now)
        return answer

    def _id_token(self, grant: dict[str, Any], now: float) -> str:
        """The OpenID id_token of a grant's user."""
        return self._jwt(
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

    def revoke(self, form: dict[str, str], authorization: str | None) -> None:
        """Revoke a refresh token: its whole grant's tokens, and the connections that grant made."""
        client = self._authenticate_client(form, authorization)
        record = self.store.get("refresh", GLOBAL, form.get("token") or "")
        if record is None or record["client_id"] != client["client_id"]:
            return  # RFC 7009: unknown tokens are not an error
        with self.store.transaction():
            for kind in ("refresh", "access"):
                for key, item in self._by_grant(kind, record["grant"]):
                    item["revoked"] = True
                    self.store.put(kind, GLOBAL, key, item)
            for connection in self.store.all("connection", GLOBAL):
                if connection["authEventId"] == record["grant"]:
                    self.store.delete("connection", GLOBAL, connection["id"])

    def _by_grant(self, kind: str, grant_id: str) -> list[tuple[str, dict[str, Any]]]:
        return [(key, item) for key, item in self.store.items(kind, GLOBAL) if item["grant"] == grant_id]

    def expire_access_tokens(self) -> None:
        """Make every access token issued so far expired (one second ago)."""
        now = int(time.time())
        with self.store.transaction():
            for key, item in self.store.items("access", GLOBAL):
                item["exp"] = min(item["exp"], now - 1)
                self.store.put("access", GLOBAL, key, item)

    def expire_refresh_tokens(self) -> None:
        """Make every refresh token issued so far unusable (as if 60 days had passed)."""
        now = time.time()
        with self.store.transaction():
            for key, item in self.store.items("refresh", GLOBAL):
                item["expires"] = min(item["expires"], now - 1)
                self.store.put("refresh", GLOBAL, key, item)

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
        record = self.store.get("access", GLOBAL, payload.get("jti", ""))
        if record is None or record["revoked"]:
            raise _unauthorized("AuthenticationUnsuccessful")
        if record["exp"] <= time.time():
            expired = datetime.fromtimestamp(record["exp"], timezone.utc)
            raise _unauthorized(f"TokenExpired: token expired at {expired:%m/%d/%Y %H:%M:%S}")
        grant = self.store.get("grant", GLOBAL, record["grant"]) or {}
        return AccessToken(
            record["client_id"],
            record["grant"],
            grant.get("user_id", seed.DEMO_USER_ID),
            tuple(grant.get("scope", ())),
        )
