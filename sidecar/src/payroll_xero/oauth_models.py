"""The values of Xero's OAuth 2: where its hosts are, a token set, a connected organisation.

Plain data, no HTTP: :mod:`payroll_xero.oauth` (which re-exports these names) does the flow.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from .errors import XeroError

AUTHORIZE_PATH = "/identity/connect/authorize"
TOKEN_PATH = "/connect/token"  # noqa: S105 (a URL path)
REVOCATION_PATH = "/connect/revocation"
CONNECTIONS_PATH = "/connections"
ACCOUNTING_PATH = "/api.xro/2.0"


class _Url:
    """A read-only attribute: the URL of ``path`` on the host held in attribute ``host``."""

    def __init__(self, host: str, path: str) -> None:
        self.host = host
        self.path = path

    def __get__(self, obj: Any, owner: type | None = None) -> str:
        if obj is None:  # looked up on the class
            return self  # type: ignore[return-value]
        return getattr(obj, self.host) + self.path


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

    authorize_url = _Url("login_url", AUTHORIZE_PATH)
    token_url = _Url("identity_url", TOKEN_PATH)
    revocation_url = _Url("identity_url", REVOCATION_PATH)
    connections_url = _Url("api_url", CONNECTIONS_PATH)
    accounting_url = _Url("api_url", ACCOUNTING_PATH)


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


__all__ = ["XERO", "Tenant", "Token", "XeroEndpoints"]
