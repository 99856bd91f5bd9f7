"""A token from the sandbox without a browser: the authorization-code round trip, the sandbox pressing
Allow (for tests, benchmarks and the demo; the product's own flow is :func:`payroll_xero.jobs.connect_flow`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import oauth
from ..oauth import Token
from .seed import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

REDIRECT_URI = "http://localhost:8069/xero/oauth/callback"


def sandbox_token(
    sandbox: Any, tenant_ids: Sequence[str] | None = None, scopes: Sequence[str] = oauth.DEFAULT_SCOPES
) -> Token:
    """Consent for the demo app to ``tenant_ids`` (default: the sandbox's choice) and exchange the code."""
    endpoints = oauth.XeroEndpoints.single(sandbox.url)
    state = oauth.new_state()
    url = oauth.authorization_url(DEMO_CLIENT_ID, REDIRECT_URI, state, scopes, endpoints)
    code = oauth.code_from_redirect(sandbox.approve(url, tenant_ids=tenant_ids), state)
    return oauth.exchange_code(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, code, REDIRECT_URI, endpoints=endpoints)
