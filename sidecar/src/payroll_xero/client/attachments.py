"""Files attached to bills, credit notes and manual journals: listed, then uploaded once (Xero's Attachments API).

``attach`` reads the document's attachments first and uploads only when no file of that name is there, so
a retry (of a push, of the cron, of an answer that was lost) never attaches the same file twice. Bills use
``Invoices/{InvoiceID}/Attachments/{FileName}``, supplier credit notes ``CreditNotes/{CreditNoteID}/...``,
manual journals ``ManualJournals/{ManualJournalID}/...`` (which also needs ``accounting.manualjournals``).
Every call goes through :meth:`Transport._call` (limits, token, retries, error mapping).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Any

from ..errors import ValidationFailed, XeroUnavailable
from ..oauth import JOURNAL_SCOPE
from .documents import Documents
from .sdk import guid, idempotency_key
from .transport import _Unknown

_logger = logging.getLogger("payroll_xero.client")

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024  # Xero takes files of up to 10 MB
MAX_ATTACHMENTS = 10  # per document
MAX_FILE_STEM = 100
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class XeroAttachment:
    """A file attached to a document in Xero."""

    attachment_id: str | None
    file_name: str
    mime_type: str | None = None
    content_length: int | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class AttachResult:
    """What :meth:`Attachments.attach` did: ``uploaded`` now, or the file was ``already`` there."""

    attachment: XeroAttachment
    uploaded: bool
    replaced: bool = False

    @property
    def already(self) -> bool:
        return not self.uploaded


def attachment_file_name(stem: str, extension: str = ".pdf") -> str:
    """A file name Xero and every file system take: ``PAY-2026-10/MPF`` -> ``PAY-2026-10-MPF.pdf``.

    Anything but letters, digits, ``.``, ``_`` and ``-`` becomes ``-``; at most 100 characters before the
    extension; never empty, never hidden (no leading dot).
    """
    clean = _UNSAFE.sub("-", stem or "").strip("-.")[:MAX_FILE_STEM].strip("-.") or "document"
    ext = "." + _UNSAFE.sub("", (extension or "").lstrip(".")).lower() if extension else ""
    return clean + (ext if ext != "." else "")


def _attachment(model: Any) -> XeroAttachment:
    return XeroAttachment(
        attachment_id=getattr(model, "attachment_id", None),
        file_name=getattr(model, "file_name", None) or "",
        mime_type=getattr(model, "mime_type", None),
        content_length=getattr(model, "content_length", None),
        url=getattr(model, "url", None),
    )


def _endpoint(credit_note: bool, journal: bool) -> str:
    """The SDK's name of the document kind: ``invoice``, ``credit_note`` or ``manual_journal``."""
    return "manual_journal" if journal else "credit_note" if credit_note else "invoice"


class Attachments(Documents):
    """Files attached to the bills, supplier credit notes and manual journals this app sends."""

    def _attachment_call(self, operation: str, journal: bool, *args: Any, **kwargs: Any) -> Any:
        if journal:
            kwargs["needs_scope"] = JOURNAL_SCOPE
        return self._call(operation, *args, **kwargs)

    def attachments(
        self, xero_id: str, credit_note: bool = False, *, journal: bool = False
    ) -> list[XeroAttachment]:
        """The files attached to one bill (or credit note, or manual journal with ``journal``) in Xero."""
        guid(xero_id)
        kind = _endpoint(credit_note, journal)
        method = getattr(self.accounting, f"get_{kind}_attachments")
        answer = self._attachment_call(f"{kind.replace('_', ' ')} attachments", journal, method, xero_id)
        return [_attachment(a) for a in (getattr(answer, "attachments", None) or [])]

    def attach(
        self,
        xero_id: str,
        file_name: str,
        content: bytes,
        *,
        credit_note: bool = False,
        replace: bool = False,
        check_existing: bool = True,
        journal: bool = False,
    ) -> AttachResult:
        """Attach ``content`` as ``file_name`` to a bill (or credit note, or manual journal with ``journal``)
        unless a file of that name is there.

        With ``replace`` a file of that name is replaced (POST) instead of kept. Raises
        :class:`ValidationFailed` for a file Xero would refuse (empty, over 10 MB, an 11th file) before
        sending it, and :class:`XeroUnavailable` when the upload's answer was lost and the file is not
        there (the caller tries again later; it is looked up first then too). ``check_existing=False``
        skips the look-up, for a document created moments ago by this very client (one call, not two).
        """
        subject = f"attachment {file_name}"
        if not content:
            raise ValidationFailed([f"{file_name} is empty: there is nothing to attach."], subject=subject)
        if len(content) > MAX_ATTACHMENT_BYTES:
            raise ValidationFailed(
                [f"{file_name} is {len(content):,} bytes: Xero takes files of up to 10 MB."], subject=subject
            )
        existing = (
            self.attachments(xero_id, credit_note, journal=journal) if check_existing or replace else []
        )
        same = next((a for a in existing if a.file_name == file_name), None)
        if same is not None and not replace:
            return AttachResult(same, uploaded=False)
        if same is None and len(existing) >= MAX_ATTACHMENTS:
            raise ValidationFailed(
                [f"The document already has {len(existing)} attachments, the most Xero allows."],
                subject=subject,
            )
        try:
            made = self._upload(
                xero_id, file_name, content, _endpoint(credit_note, journal), replace and same is not None
            )
        except _Unknown as exc:
            found = next(
                (
                    a
                    for a in self.attachments(xero_id, credit_note, journal=journal)
                    if a.file_name == file_name
                ),
                None,
            )
            if found is None:
                raise XeroUnavailable(
                    f"Xero did not confirm the upload of {file_name} ({exc.reason}) and does not have it: "
                    "try again later.",
                    correlation_id=exc.correlation_id,
                ) from None
            made = found
        return AttachResult(made, uploaded=True, replaced=same is not None)

    def _upload(
        self, xero_id: str, file_name: str, content: bytes, kind: str, replace: bool
    ) -> XeroAttachment:
        verb = "update" if replace else "create"
        method = getattr(self.accounting, f"{verb}_{kind}_attachment_by_file_name")
        key = idempotency_key(
            "attach", self.tenant_id, [xero_id, file_name, hashlib.sha256(content).hexdigest(), str(replace)]
        )
        answer = self._attachment_call(
            f"attach {file_name}",
            kind == "manual_journal",
            method,
            guid(xero_id),
            file_name,
            content,
            write=True,
            resend_safe=False,
            idempotency_key=key,
        )
        files = getattr(answer, "attachments", None) or []
        made = next((_attachment(a) for a in files if getattr(a, "file_name", None) == file_name), None)
        _logger.info("Xero tenant %s: %s attached to document %s", self.tenant_id, file_name, xero_id)
        return made or XeroAttachment(attachment_id=None, file_name=file_name, content_length=len(content))
