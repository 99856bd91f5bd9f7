"""Xero's accounting API as the sandbox reproduces it, one module per section.

* :mod:`.values`: dates, amounts, errors and JSON shapes (:func:`present`, :func:`plain`, :func:`envelope`);
* :mod:`.where`: the ``where`` and ``order`` query parameters;
* :mod:`.ledger`: an organisation's data (organisation, currencies, accounts, tracking, contacts, documents)
  and the two document kinds, :data:`INVOICE` and :data:`CREDIT_NOTE`;
* :mod:`.lines`: line items, tracking and totals;
* :mod:`.documents`: invoices and credit notes: create, update, status changes, payments;
* :mod:`.journals`: manual journals: create, update a draft, post, void, delete;
* :mod:`.contacts`: contacts;
* :mod:`.batches`: the documents of a request and the answer to all of them;
* :mod:`.attachments`: files attached to invoices and credit notes.

The HTTP routes that call these are in :mod:`payroll_xero.sandbox.api`, the admin ones in
:mod:`payroll_xero.sandbox.admin`.
"""

from . import attachments as attachments
from . import user as user
from .batches import Outcome, batch_answer, batch_items
from .contacts import apply_contact, new_contact
from .documents import apply_document, pay
from .journals import apply_journal
from .ledger import APPROVED, CREDIT_NOTE, INVOICE, MANUAL_JOURNAL, DocKind, Ledger
from .values import (
    XeroValueError,
    envelope,
    ms_date,
    parse_date,
    parse_timestamp,
    plain,
    present,
    timestamp_now,
    utcnow,
    validation_exception,
)
from .where import compile_where, sort_documents

__all__ = [
    "APPROVED",
    "CREDIT_NOTE",
    "INVOICE",
    "MANUAL_JOURNAL",
    "DocKind",
    "Ledger",
    "Outcome",
    "XeroValueError",
    "apply_contact",
    "apply_document",
    "apply_journal",
    "batch_answer",
    "batch_items",
    "compile_where",
    "envelope",
    "ms_date",
    "new_contact",
    "parse_date",
    "parse_timestamp",
    "pay",
    "plain",
    "present",
    "sort_documents",
    "timestamp_now",
    "utcnow",
    "validation_exception",
]
