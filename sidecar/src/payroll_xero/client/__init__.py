"""Send bills to one Xero organisation, and read them back, through the official SDK (``xero-python``).

:class:`XeroClient` is one class built from one layer per concern, each a module of this package:

* :mod:`.transport` - tokens, rate limits and the one seam every call goes through (``_call``);
* :mod:`.reads` - the organisation, accounts, tracking, this app's documents by number or id, and
  their statuses read back by modification date (``changed_bills``) or by id (``read_bills``);
* :mod:`.contacts` - contacts found by number or name, created in batches;
* :mod:`.documents` - bills created (looked up before anything is resent), updated, deleted, voided;
* :mod:`.journals` - manual journals found by the key their narration ends with, created, a draft
  updated, deleted (draft) or voided (posted), read back by id or modification date;
* :mod:`.attachments` - files attached to them, uploaded once (listed first);
* :mod:`.sdk` - the SDK at the edge (its set-up, models sent, answers read);
* :mod:`.compare` - Xero's refusals made readable, and how a bill in Xero differs from ours;
* :mod:`.values` - the plain values handed back; :mod:`.limiter` - the per-tenant rate limiter.

Credit notes (``ACCPAYCREDIT``) carry the bill's stable number in ``CreditNoteNumber`` (user-settable
on supplier credit notes); they are found again with ``where=CreditNoteNumber=="..."``. Bills carry it
in ``InvoiceNumber`` and are found with ``InvoiceNumbers=...&ContactIDs=...&createdByMyApp=true``.
Credit notes have no ``Url`` field in Xero, so a bill's url is not sent on them.
"""

from __future__ import annotations

from .attachments import (
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENTS,
    Attachments,
    AttachResult,
    XeroAttachment,
    attachment_file_name,
)
from .compare import bill_differences, journal_differences, readable_errors
from .journals import XERO_JOURNAL_URL, Journals, journal_web_url
from .limiter import Limiter, TenantLimiter, limiter_for
from .sdk import idempotency_key
from .values import (
    BATCH_SIZE,
    CREDIT_IDS_BATCH,
    GONE_STATUSES,
    IDS_BATCH,
    LOOKUP_BATCH,
    STATUS_PAGE,
    UNPOSTABLE_ACCOUNT_TYPES,
    Account,
    JournalPushResult,
    JournalStatusPage,
    Organisation,
    PushResult,
    StatusPage,
    TrackingCategory,
    XeroBill,
    XeroBillLine,
    XeroJournal,
    namesake_contact_name,
)


class XeroClient(Journals, Attachments):
    """One Xero organisation (``tenant_id``) seen through one app; see :class:`.transport.Transport`
    for the constructor's arguments."""


__all__ = [
    "BATCH_SIZE",
    "CREDIT_IDS_BATCH",
    "GONE_STATUSES",
    "IDS_BATCH",
    "LOOKUP_BATCH",
    "MAX_ATTACHMENTS",
    "MAX_ATTACHMENT_BYTES",
    "STATUS_PAGE",
    "UNPOSTABLE_ACCOUNT_TYPES",
    "XERO_JOURNAL_URL",
    "Account",
    "AttachResult",
    "JournalPushResult",
    "JournalStatusPage",
    "Limiter",
    "Organisation",
    "PushResult",
    "StatusPage",
    "TenantLimiter",
    "TrackingCategory",
    "XeroAttachment",
    "XeroBill",
    "XeroBillLine",
    "XeroClient",
    "XeroJournal",
    "attachment_file_name",
    "bill_differences",
    "idempotency_key",
    "journal_differences",
    "journal_web_url",
    "limiter_for",
    "namesake_contact_name",
    "readable_errors",
]
