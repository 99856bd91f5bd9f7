"""The official SDK (``xero-python``) at the edge: how it is set up, the models sent, and how
Xero's answers are read back into :mod:`.values`.

SDK quirks handled here (see XERO.md):

* urllib3's own retries are switched off (``Retry(0)``): the SDK would otherwise
  sleep on ``Retry-After`` by itself and silently resend PUTs after a dropped
  connection; the transport decides when to wait and when to look up first;
* ``Configuration`` is built empty then assigned (its constructor caches);
* the SDK never refreshes the token itself: the getter hands it an access token
  without expiry nor refresh token, so ``TokenApi``'s hard-coded URLs are unused;
* the models' read-only flags (``HasAttachments``, ``HasErrors``...) are never sent;
* dates are ``date`` objects, enums are enum members, scope is a list.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import urllib3
from xero_python.accounting import AccountingApi
from xero_python.accounting.models import (
    Contact,
    CreditNote,
    CreditNotes,
    CurrencyCode,
    Invoice,
    Invoices,
    LineAmountTypes,
    LineItem,
    LineItemTracking,
    ManualJournal,
    ManualJournalLine,
    ManualJournals,
    TrackingCategory,
)
from xero_python.api_client import ApiClient
from xero_python.api_client.configuration import Configuration
from xero_python.api_client.oauth2 import OAuth2Token

from ..bills import ACCPAYCREDIT, Bill
from ..journal_values import Journal, key_of_narration
from .values import XeroBill, XeroBillLine, XeroJournal

MAX_IDEMPOTENCY_KEY = 128

# --------------------------------------------------------------------------- set up


def accounting_api(
    client_id: str,
    client_secret: str,
    base_url: str,
    token_getter: Callable[[], dict[str, Any]],
    token_saver: Callable[[dict], None],
) -> AccountingApi:
    """The SDK's AccountingApi, on an ApiClient that never retries, waits nor follows a redirect."""
    # Configuration caches its first instance: build it empty, then assign.
    config = Configuration()
    config.debug = False  # httplib debug output would print the Authorization header
    config.oauth2_token = OAuth2Token(client_id=client_id, client_secret=client_secret)
    api_client = ApiClient(
        config, pool_threads=1, oauth2_token_getter=token_getter, oauth2_token_saver=token_saver
    )
    # urllib3 must neither sleep on Retry-After nor resend anything by itself.
    pool_manager = api_client.rest_client.pool_manager
    pool_manager.connection_pool_kw["retries"] = urllib3.Retry(
        total=0,
        connect=0,
        read=0,
        redirect=0,
        status=0,
        other=0,
        respect_retry_after_header=False,
        raise_on_redirect=False,
        raise_on_status=False,
    )
    # Nor follow a redirect (the Authorization header would go with it): urllib3 before 2.5
    # ignores the pool's redirect=0 when the PoolManager follows redirects itself.
    pool_manager.urlopen = _no_redirects(pool_manager.urlopen)
    return AccountingApi(api_client, base_url=base_url)


def _no_redirects(urlopen: Callable[..., Any]) -> Callable[..., Any]:
    """``PoolManager.urlopen`` that hands a 3xx back instead of following it."""

    def wrapped(method: str, url: str, redirect: bool = True, **kw: Any) -> Any:
        return urlopen(method, url, redirect=False, **kw)

    return wrapped


# --------------------------------------------------------------------------- requests


def where_string(value: str) -> str:
    """``value`` quoted for a Xero ``where`` filter."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


_GUID = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")


def guid(value: str) -> str:
    """A Xero id, checked before it goes into a ``where`` filter."""
    if not _GUID.match(value):
        raise ValueError(f"not a Xero id: {value!r}")
    return value


def chunks(items: Sequence, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def idempotency_key(operation: str, tenant_id: str, parts: Iterable[str]) -> str:
    """A stable key (<= 128 chars) for ``operation`` on the given parts: same input, same key."""
    digest = hashlib.sha256("\n".join([operation, tenant_id, *sorted(parts)]).encode()).hexdigest()
    return f"payroll-xero-{operation}-{digest}"[:MAX_IDEMPOTENCY_KEY]


# The SDK's models default these read-only flags to False and so always send them; the
# contract marks them read-only: build the models without them.
_NO_READ_ONLY = {"has_attachments": None}


def contact_model(**fields: Any) -> Contact:
    return Contact(**_NO_READ_ONLY, has_validation_errors=None, **fields)


def invoice_model(**fields: Any) -> Invoice:
    return Invoice(**_NO_READ_ONLY, has_errors=None, **fields)


def credit_note_model(**fields: Any) -> CreditNote:
    return CreditNote(**_NO_READ_ONLY, has_errors=None, **fields)


def status_change(xero_id: str, status: str, credit_note: bool) -> Invoice | CreditNote:
    """The body that moves one document to ``status``."""
    if credit_note:
        return credit_note_model(credit_note_id=xero_id, status=status)
    return invoice_model(invoice_id=xero_id, status=status)


def document(bill: Bill, contact_id: str, xero_id: str | None = None) -> Invoice | CreditNote:
    """The Invoice (a bill) or CreditNote (a supplier credit note) that ``bill`` is sent as."""
    items = [
        LineItem(
            description=line.description,
            quantity=Decimal(1),
            unit_amount=line.amount,
            account_code=line.account_code,
            line_amount=line.amount,
            tracking=[LineItemTracking(name=cat, option=opt) for cat, opt in line.tracking] or None,
        )
        for line in bill.lines
    ]
    common = {
        "contact": contact_model(contact_id=contact_id),
        "date": bill.date,
        "status": bill.status,
        "line_amount_types": LineAmountTypes(bill.line_amount_types),
        "currency_code": CurrencyCode(bill.currency),
        "line_items": items,
    }
    if bill.is_credit_note:
        return credit_note_model(
            type=ACCPAYCREDIT, credit_note_id=xero_id, credit_note_number=bill.invoice_number, **common
        )
    return invoice_model(
        type=bill.doc_type,
        invoice_id=xero_id,
        due_date=bill.due_date,
        invoice_number=bill.invoice_number,
        url=bill.url or None,
        **common,
    )


def documents_body(credit_note: bool, docs: list) -> Invoices | CreditNotes:
    return CreditNotes(credit_notes=docs) if credit_note else Invoices(invoices=docs)


def journal_model(journal: Journal, xero_id: str | None = None) -> ManualJournal:
    """The ManualJournal ``journal`` is sent as (LineAmount signed: a debit positive, a credit negative)."""
    return ManualJournal(
        **_NO_READ_ONLY,
        manual_journal_id=xero_id,
        narration=journal.narration,
        date=journal.date,
        status=journal.status,
        line_amount_types=LineAmountTypes(journal.line_amount_types),
        url=journal.url or None,
        journal_lines=[
            ManualJournalLine(
                line_amount=line.amount,
                account_code=line.account_code,
                description=line.description,
                tracking=[TrackingCategory(name=cat, option=opt) for cat, opt in line.tracking] or None,
            )
            for line in journal.lines
        ],
    )


def journal_status_change(xero_id: str, narration: str, status: str) -> ManualJournal:
    """The body that moves one journal to ``status`` (the SDK wants a narration on every journal)."""
    return ManualJournal(**_NO_READ_ONLY, manual_journal_id=xero_id, narration=narration, status=status)


def journals_body(journals: list[ManualJournal]) -> ManualJournals:
    return ManualJournals(manual_journals=journals)


# --------------------------------------------------------------------------- answers


def header(headers: Any, name: str) -> str | None:
    """A response header, whatever the case Xero or the SDK gives it in."""
    if not headers:
        return None
    try:
        value = headers.get(name)
    except AttributeError:
        value = None
    if value is None:
        lname = name.lower()
        for key, val in dict(headers).items():
            if key.lower() == lname:
                return val
    return value


def enum_value(value: Any) -> Any:
    return getattr(value, "value", value)


def decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value))


def messages(items: Any) -> list[str]:
    """The messages of Xero's ValidationErrors or Warnings (models or JSON)."""
    out = []
    for item in items or ():
        msg = getattr(item, "message", None)
        if msg is None and isinstance(item, dict):
            msg = item.get("Message")
        if msg:
            out.append(str(msg))
    return out


def documents_of(answer: Any, credit_note: bool) -> list[Any]:
    """The Invoices or CreditNotes of an answer."""
    return (answer.credit_notes if credit_note else answer.invoices) or []


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def _utc(value: Any) -> datetime | None:
    """An SDK timestamp as an aware UTC datetime (the SDK may hand it naive, meaning UTC)."""
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _lines_from_model(items: Any) -> tuple[XeroBillLine, ...]:
    return tuple(
        XeroBillLine(
            account_code=getattr(item, "account_code", None),
            description=getattr(item, "description", None),
            amount=decimal(getattr(item, "line_amount", None)),
            tracking=tuple(
                (str(t.name or ""), str(t.option or "")) for t in (getattr(item, "tracking", None) or ())
            ),
        )
        for item in items or ()
    )


def bill_from_model(doc: Any, credit_note: bool) -> XeroBill:
    """An SDK Invoice or CreditNote as a :class:`XeroBill`."""
    contact = getattr(doc, "contact", None)
    content = {
        "contact_id": getattr(contact, "contact_id", None),
        "contact_name": getattr(contact, "name", None),
        "date": _as_date(getattr(doc, "date", None)),
        "reference": getattr(doc, "reference", None),
        "currency": enum_value(getattr(doc, "currency_code", None)),
        "line_amount_types": enum_value(getattr(doc, "line_amount_types", None)),
        "lines": _lines_from_model(getattr(doc, "line_items", None)),
        "total": decimal(doc.total),
        "status": doc.status,
        "fully_paid_on": _as_date(getattr(doc, "fully_paid_on_date", None)),
        "updated_at": _utc(getattr(doc, "updated_date_utc", None)),
    }
    if credit_note:
        return XeroBill(
            xero_id=doc.credit_note_id,
            number=doc.credit_note_number,
            is_credit_note=True,
            amount_paid=decimal(doc.applied_amount) or Decimal(0),
            amount_due=decimal(getattr(doc, "remaining_credit", None)),
            **content,
        )
    return XeroBill(
        xero_id=doc.invoice_id,
        number=doc.invoice_number,
        amount_paid=decimal(doc.amount_paid) or Decimal(0),
        amount_due=decimal(getattr(doc, "amount_due", None)),
        due_date=_as_date(getattr(doc, "due_date", None)),
        **content,
    )


def journal_from_model(doc: Any) -> XeroJournal:
    """An SDK ManualJournal as a :class:`XeroJournal`."""
    narration = getattr(doc, "narration", None)
    return XeroJournal(
        xero_id=doc.manual_journal_id,
        narration=narration,
        status=getattr(doc, "status", None),
        key=key_of_narration(narration),
        date=_as_date(getattr(doc, "date", None)),
        line_amount_types=enum_value(getattr(doc, "line_amount_types", None)),
        lines=_lines_from_model(getattr(doc, "journal_lines", None)),
        url=getattr(doc, "url", None),
        show_on_cash_basis_reports=getattr(doc, "show_on_cash_basis_reports", None),
        updated_at=_utc(getattr(doc, "updated_date_utc", None)),
    )
