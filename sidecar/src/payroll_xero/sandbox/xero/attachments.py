"""Files attached to invoices, credit notes and manual journals: Xero's Attachments API as the sandbox
reproduces it.

``PUT {Invoices|CreditNotes|ManualJournals}/{id}/Attachments/{FileName}`` adds a file (the request body is its raw bytes),
``POST`` replaces the file of that name (or adds it), ``GET .../Attachments`` lists them and
``GET .../Attachments/{FileName}`` returns a file's bytes. Xero's limits: 10 files per document, 10 MB each.

Two readings of the sandbox, where Xero's documentation says nothing: each PUT adds a new attachment even
when the document already has one of that name (so a client that uploads twice shows it twice), and
attaching a file does not change the document's ``UpdatedDateUTC``. File types are not checked.
"""

from __future__ import annotations

import base64
import mimetypes
import uuid
from typing import Any
from urllib.parse import unquote

from .ledger import DocKind, Ledger
from .values import XeroValueError, timestamp_now

MAX_ATTACHMENTS = 10  # per document
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_FILE_NAME = 255
STORE_KIND = "attachment"


class AttachmentRefused(XeroValueError):
    """A file Xero would not take (answered with a 400 ValidationException)."""


def _doc_key(kind: DocKind, doc_id: str) -> str:
    return f"{kind.store_kind}:{doc_id.lower()}"


def attachments(ledger: Ledger, kind: DocKind, doc_id: str) -> list[dict[str, Any]]:
    """The files attached to one document, oldest first (with their ``_content``, base64)."""
    key = _doc_key(kind, doc_id)
    return [a for a in ledger.store.all(STORE_KIND, ledger.tenant_id) if a.get("_document") == key]


def listed(attachment: dict[str, Any]) -> dict[str, Any]:
    """An attachment as Xero lists it (no content)."""
    return {k: v for k, v in attachment.items() if not k.startswith("_")}


def content(attachment: dict[str, Any]) -> bytes:
    return base64.b64decode(attachment["_content"])


def file_name_of(raw: str) -> str:
    """The file name of a request path, decoded and checked."""
    name = unquote(raw or "").strip()
    if not name or "/" in name or "\\" in name or len(name) > MAX_FILE_NAME:
        raise AttachmentRefused(
            f"'{name[:80]}' is not a file name Xero takes (1 to {MAX_FILE_NAME} characters)."
        )
    return name


def attach(
    ledger: Ledger,
    kind: DocKind,
    doc: dict[str, Any],
    file_name: str,
    body: bytes,
    *,
    replace: bool,
    base_url: str = "",
) -> dict[str, Any]:
    """Attach ``body`` as ``file_name`` to ``doc``; ``replace`` (POST) replaces the file of that name."""
    if not body:
        raise AttachmentRefused("The attachment is empty.")
    if len(body) > MAX_ATTACHMENT_BYTES:
        raise AttachmentRefused(
            f"{file_name} is {len(body):,} bytes: Xero takes files of up to {MAX_ATTACHMENT_BYTES:,} bytes (10 MB)."
        )
    doc_id = doc[kind.id_field]
    existing = attachments(ledger, kind, doc_id)
    same_name = next((a for a in existing if a["FileName"] == file_name), None) if replace else None
    if same_name is None and len(existing) >= MAX_ATTACHMENTS:
        raise AttachmentRefused(
            f"{kind.label} {doc.get(kind.number_field) or doc_id} already has {MAX_ATTACHMENTS} attachments, "
            "the most Xero allows."
        )
    attachment_id = same_name["AttachmentID"] if same_name else str(uuid.uuid4())
    attachment = {
        "AttachmentID": attachment_id,
        "FileName": file_name,
        "Url": f"{base_url}/api.xro/2.0/{kind.collection}/{doc_id}/Attachments/{file_name}",
        "MimeType": mimetypes.guess_type(file_name)[0] or "application/octet-stream",
        "ContentLength": len(body),
        "IncludeOnline": False,
        "_document": _doc_key(kind, doc_id),
        "_number": doc.get(kind.number_field) or "",
        "_created": timestamp_now(),
        "_content": base64.b64encode(body).decode(),
    }
    ledger.store.put(STORE_KIND, ledger.tenant_id, attachment_id, attachment)
    if not doc.get("HasAttachments"):
        ledger.save_document(kind, {**doc, "HasAttachments": True})
    return attachment
