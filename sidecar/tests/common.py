"""Helpers shared by the Xero client tests: consent against the sandbox, a client, bills."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from payroll_xero.bills import ACCPAY, Bill, BillLine
from payroll_xero.client import TenantLimiter, XeroClient
from payroll_xero.oauth import DEFAULT_SCOPES, Token, XeroEndpoints
from payroll_xero.sandbox import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID
from payroll_xero.sandbox.consent import REDIRECT_URI as REDIRECT_URI  # re-exported for the tests
from payroll_xero.sandbox.consent import sandbox_token


def endpoints(sandbox) -> XeroEndpoints:
    return XeroEndpoints.single(sandbox.url)


def consent(sandbox, tenant_ids=None, scopes=DEFAULT_SCOPES) -> Token:
    """A full authorization-code round trip, as a browser would do it."""
    return sandbox_token(sandbox, tenant_ids, scopes)


class TokenStore:
    """Stands in for the database row holding the token; records every save."""

    def __init__(self, token: Token) -> None:
        self.token = token
        self.saved: list[Token] = []
        self.events: list[str] = []

    def get(self) -> Token:
        return self.token

    def save(self, token: Token) -> None:
        self.events.append("save")
        self.saved.append(token)
        self.token = token


class Sleeps:
    """An injected ``sleep`` that records instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def make_client(
    sandbox, store: TokenStore | None = None, tenant_id: str = DEMO_TENANT_ID, **kw
) -> XeroClient:
    store = store or TokenStore(consent(sandbox))
    kw.setdefault("sleep", Sleeps())
    kw.setdefault("limiter", TenantLimiter(sleep=kw["sleep"]))
    kw.setdefault("timeout", (2, 5))
    kw.setdefault("rng", lambda: 0.5)
    return XeroClient(
        client_id=DEMO_CLIENT_ID,
        client_secret=DEMO_CLIENT_SECRET,
        tenant_id=tenant_id,
        get_token=store.get,
        save_token=store.save,
        endpoints=endpoints(sandbox),
        **kw,
    )


def make_bill(
    number: str = "PAY-2026-10/MPF",
    *,
    contact: str = "HSBC MPF Trustee",
    contact_number: str | None = None,
    lines=(("478", "MPF employer contributions", "1500.00"),),
    doc_type: str = ACCPAY,
    status: str = "DRAFT",
    currency: str = "HKD",
    tracking=(),
) -> Bill:
    return Bill(
        doc_type=doc_type,
        invoice_number=number,
        type_name="MPF",
        contact_name=contact,
        contact_number=contact_number,
        employee_key=contact_number,
        date=date(2026, 10, 31),
        due_date=date(2026, 11, 10),
        currency=currency,
        status=status,
        lines=tuple(
            BillLine(code, description, Decimal(amount), "ITEM", tuple(tracking))
            for code, description, amount in lines
        ),
    )


def calls_to(sandbox, method: str, fragment: str) -> list[tuple]:
    return [c for c in sandbox.calls if c[0] == method and fragment.lower() in c[1].lower()]
