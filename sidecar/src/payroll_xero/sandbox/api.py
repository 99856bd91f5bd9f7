"""The accounting API routes (``/api.xro/2.0/``): authentication, limits, idempotency, reads and batched writes.

A mixin of :class:`~payroll_xero.sandbox.app.App`, whose store, identity, limiter and faults it uses; the rules
of Xero's documents are in :mod:`payroll_xero.sandbox.xero`.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from . import xero
from .journal_api import journal_scope_refusal
from .messages import Request, Response, bad_request, csv_list, json_response, not_found, problem_response
from .tokens import AccessToken, AuthError
from .xero import CREDIT_NOTE, INVOICE, MANUAL_JOURNAL, DocKind, Ledger, XeroValueError, attachments

IDEMPOTENCY_WINDOW = 6 * 60
ATTACHMENTS_SCOPE = "accounting.attachments"
MAX_IDS_QUERY = 2000  # characters of an encoded IDs= value past which Xero answers 404
API_PATH = re.compile(
    r"^/api\.xro/2\.0/(?P<resource>[A-Za-z]+)"
    r"(?:/(?P<id>[^/]+)(?:/(?P<sub>[Aa]ttachments)(?:/(?P<file>[^/]+))?)?)?/?$"
)


class AccountingApi:
    """The ``/api.xro/2.0/`` routes of :class:`~payroll_xero.sandbox.app.App`."""

    def _api(self, request: Request) -> Response:
        try:
            token = self.identity.authenticate(request.headers.get("Authorization"))
        except AuthError as exc:
            return json_response(exc.status, exc.body, exc.headers)
        tenant = (request.headers.get("xero-tenant-id") or "").strip().lower()
        if not tenant or self.identity.connection_for(token.client_id, tenant) is None:
            return problem_response(403, "Forbidden", "AuthenticationUnsuccessful")
        match = API_PATH.match(request.path)
        if match and match.group("resource").lower() == "manualjournals":
            refused = journal_scope_refusal(request, token)
            if refused is not None:
                return refused
        decision = self.limiter.acquire(token.client_id, tenant)
        if not decision.allowed:
            response = problem_response(429, "TooManyRequests", f"Rate limit exceeded: {decision.problem}")
            response.headers.update(
                {
                    **decision.headers,
                    "Retry-After": str(decision.retry_after),
                    "X-Rate-Limit-Problem": decision.problem or "",
                }
            )
            return response
        try:
            response = self._with_fault(
                request, lambda: self._idempotent(request, token, tenant), decision.headers
            )
        finally:
            self.limiter.release(token.client_id, tenant)
        for key, value in decision.headers.items():
            response.headers.setdefault(key, value)
        return response

    def _idempotent(self, request: Request, token: AccessToken, tenant: str) -> Response:
        key = request.headers.get("Idempotency-Key")
        if not key or request.method not in ("PUT", "POST", "PATCH"):
            return self._accounting(request, token, tenant)
        if len(key) > 128:
            return bad_request("The Idempotency-Key must be at most 128 characters long.")
        query = "&".join(f"{k}={v}" for k, v in sorted(request.query))
        fingerprint = hashlib.sha256(
            f"{request.method} {request.path.lower()}?{query}\n".encode() + request.body
        ).hexdigest()
        record_id = f"{token.client_id}:{key}"
        now = time.time()
        with self.store.transaction():
            for old_id, old in self.store.items("idempotency", tenant):
                if now - old["created"] >= IDEMPOTENCY_WINDOW:
                    self.store.delete("idempotency", tenant, old_id)
            record = self.store.get("idempotency", tenant, record_id)
            if record is not None:
                if record["fingerprint"] != fingerprint:
                    return bad_request(
                        f"The Idempotency-Key '{key}' was already used in the last 6 minutes for a different "
                        "request. Use a new key for a new request, or resend exactly the same request."
                    )
                return Response(
                    record["status"],
                    record["body"].encode(),
                    {"Content-Type": record["content_type"], "Idempotent-Replayed": "true"},
                )
            response = self._accounting(request, token, tenant)
            if response.status < 500:
                self.store.put(
                    "idempotency",
                    tenant,
                    record_id,
                    {
                        "fingerprint": fingerprint,
                        "created": now,
                        "status": response.status,
                        "body": response.body.decode(),
                        "content_type": response.headers.get("Content-Type", ""),
                    },
                )
            return response

    def _accounting(self, request: Request, token: AccessToken, tenant: str) -> Response:
        match = API_PATH.match(request.path)
        assert match is not None
        resource, doc_id = match.group("resource").lower(), match.group("id")
        ledger = self.ledger(tenant)
        method = request.method
        try:
            if match.group("sub"):
                if ATTACHMENTS_SCOPE not in token.scope:
                    return problem_response(
                        403,
                        "Forbidden",
                        f"AuthorizationUnsuccessful: the {ATTACHMENTS_SCOPE} scope is needed",
                    )
                return self._attachments(request, ledger, resource, doc_id or "", match.group("file"))
            if method == "GET":
                getter = {
                    "organisation": self._get_organisation,
                    "currencies": self._get_currencies,
                    "accounts": self._get_accounts,
                    "trackingcategories": self._get_tracking,
                    "contacts": self._get_contacts,
                    "invoices": self._get_invoices,
                    "creditnotes": self._get_credit_notes,
                    "manualjournals": self._get_journals,
                }.get(resource)
                if getter is not None:
                    return getter(request, ledger, token, doc_id)
            elif method in ("PUT", "POST"):
                if resource == "contacts":
                    return self._save_contacts(request, ledger, doc_id)
                if resource == "manualjournals":
                    return self._save_journals(request, ledger, token, doc_id)
                if resource in ("invoices", "creditnotes"):
                    kind = INVOICE if resource == "invoices" else CREDIT_NOTE
                    return self._save_documents(request, ledger, token, kind, doc_id)
        except XeroValueError as exc:
            return bad_request(str(exc))
        return not_found()

    def _attachments(
        self, request: Request, ledger: Ledger, resource: str, doc_id: str, file_name: str | None
    ) -> Response:
        """``{Invoices|CreditNotes|ManualJournals}/{id}/Attachments[/{FileName}]``: list, read, add (PUT) or
        replace (POST)."""
        kind = {"invoices": INVOICE, "creditnotes": CREDIT_NOTE, "manualjournals": MANUAL_JOURNAL}.get(
            resource
        )
        doc = ledger.document(kind, doc_id) if kind else None
        if doc is None:
            return not_found()
        if request.method == "GET" and file_name is None:
            files = [attachments.listed(a) for a in attachments.attachments(ledger, kind, doc_id)]
            return json_response(200, xero.envelope("Attachments", files))
        if file_name is None:
            return not_found()
        name = attachments.file_name_of(file_name)
        if request.method == "GET":
            found = [a for a in attachments.attachments(ledger, kind, doc_id) if a["FileName"] == name]
            if not found:
                return not_found()
            return Response(200, attachments.content(found[-1]), {"Content-Type": found[-1]["MimeType"]})
        if request.method not in ("PUT", "POST"):
            return not_found()
        with self.store.transaction():
            made = attachments.attach(
                ledger,
                kind,
                doc,
                name,
                request.body,
                replace=request.method == "POST",
                base_url=self.identity.issuer or "",
            )
        return json_response(200, xero.envelope("Attachments", [attachments.listed(made)]))

    def _get_organisation(
        self, request: Request, ledger: Ledger, token: AccessToken, _id: str | None
    ) -> Response:
        return json_response(200, xero.envelope("Organisations", [xero.present(ledger.organisation)]))

    @staticmethod
    def _filtered(request: Request, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Apply ``where``, ``If-Modified-Since`` and ``order``."""
        where = request.param("where")
        if where:
            test = xero.compile_where(where)
            docs = [d for d in docs if test(d)]
        since = request.headers.get("If-Modified-Since")
        if since:
            limit = xero.parse_timestamp(since)
            docs = [
                d
                for d in docs
                if d.get("UpdatedDateUTC") and xero.parse_timestamp(d["UpdatedDateUTC"]) > limit
            ]
        return xero.sort_documents(docs, request.param("order"))

    def _get_currencies(
        self, request: Request, ledger: Ledger, token: AccessToken, _id: str | None
    ) -> Response:
        return json_response(200, xero.envelope("Currencies", self._filtered(request, ledger.currencies())))

    def _get_accounts(
        self, request: Request, ledger: Ledger, token: AccessToken, doc_id: str | None
    ) -> Response:
        accounts = ledger.accounts()
        if doc_id:
            accounts = [a for a in accounts if a["AccountID"] == doc_id.lower()]
            if not accounts:
                return not_found()
        items = [xero.present(a) for a in self._filtered(request, accounts)]
        return json_response(200, xero.envelope("Accounts", items))

    def _get_tracking(
        self, request: Request, ledger: Ledger, token: AccessToken, doc_id: str | None
    ) -> Response:
        categories = ledger.tracking_categories()
        if not request.flag("includeArchived"):
            categories = [c for c in categories if c["Status"] == "ACTIVE"]
        return json_response(200, xero.envelope("TrackingCategories", self._filtered(request, categories)))

    def _get_contacts(
        self, request: Request, ledger: Ledger, token: AccessToken, doc_id: str | None
    ) -> Response:
        contacts = ledger.contacts()
        if doc_id:
            found = ledger.contact(doc_id) or ledger.contact_by("ContactNumber", doc_id)
            return (
                json_response(200, xero.envelope("Contacts", [xero.present(found)])) if found else not_found()
            )
        if len(quote(request.param("IDs") or "")) > MAX_IDS_QUERY:
            return not_found()  # Xero's gateway: about 52 GUIDs (XeroAPI/Xero-OpenAPI#534)
        ids = {i.lower() for i in csv_list(request.param("IDs"))}
        numbers = set(csv_list(request.param("ContactNumbers")))
        if ids:
            contacts = [c for c in contacts if c["ContactID"] in ids]
        if numbers:
            contacts = [c for c in contacts if c.get("ContactNumber") in numbers]
        if not request.flag("includeArchived"):
            contacts = [c for c in contacts if c.get("ContactStatus") != "ARCHIVED"]
        term = (request.param("searchTerm") or "").lower()
        if term:
            contacts = [
                c
                for c in contacts
                if any(
                    term in str(c.get(k) or "").lower()
                    for k in ("Name", "FirstName", "LastName", "ContactNumber", "EmailAddress")
                )
            ]
        return self._page("Contacts", request, self._filtered(request, contacts))

    @staticmethod
    def _page(collection: str, request: Request, docs: list[dict[str, Any]]) -> Response:
        page = request.param("page")
        if page is None:
            return json_response(200, xero.envelope(collection, [xero.present(d) for d in docs]))
        try:
            number = max(int(page), 1)
            size = min(max(int(request.param("pageSize") or 100), 1), 1000)
        except ValueError:
            return bad_request("page and pageSize must be whole numbers")
        chunk = docs[(number - 1) * size : number * size]
        pagination = {
            "page": number,
            "pageSize": size,
            "pageCount": (len(docs) + size - 1) // size,
            "itemCount": len(docs),
        }
        return json_response(
            200, xero.envelope(collection, [xero.present(d) for d in chunk], pagination=pagination)
        )

    def _get_documents(
        self, request: Request, ledger: Ledger, token: AccessToken, kind: DocKind, doc_id: str | None
    ) -> Response:
        docs = ledger.documents(kind)
        if doc_id:
            found = ledger.document(kind, doc_id) or next(
                (d for d in docs if d.get(kind.number_field) == doc_id), None
            )
            return (
                json_response(200, xero.envelope(kind.collection, [xero.present(found)]))
                if found
                else not_found()
            )
        if len(quote(request.param("IDs") or "")) > MAX_IDS_QUERY:
            return not_found()  # Xero's gateway: about 52 GUIDs (XeroAPI/Xero-OpenAPI#534)
        ids = {i.lower() for i in csv_list(request.param("IDs"))}
        numbers = set(
            csv_list(
                request.param("InvoiceNumbers") if kind is INVOICE else request.param("CreditNoteNumbers")
            )
        )
        contact_ids = {i.lower() for i in csv_list(request.param("ContactIDs"))}
        statuses = {s.upper() for s in csv_list(request.param("Statuses"))}
        if ids:
            docs = [d for d in docs if d[kind.id_field] in ids]
        if numbers:
            docs = [d for d in docs if d.get(kind.number_field) in numbers]
        if contact_ids:
            docs = [d for d in docs if (d.get("Contact") or {}).get("ContactID") in contact_ids]
        if statuses:
            docs = [d for d in docs if d["Status"] in statuses]
        if request.flag("createdByMyApp"):
            docs = [d for d in docs if d.get("_created_by") == token.client_id]
        return self._page(kind.collection, request, self._filtered(request, docs))

    def _get_invoices(
        self, request: Request, ledger: Ledger, token: AccessToken, doc_id: str | None
    ) -> Response:
        return self._get_documents(request, ledger, token, INVOICE, doc_id)

    def _get_credit_notes(
        self, request: Request, ledger: Ledger, token: AccessToken, doc_id: str | None
    ) -> Response:
        return self._get_documents(request, ledger, token, CREDIT_NOTE, doc_id)

    def _save_documents(
        self, request: Request, ledger: Ledger, token: AccessToken, kind: DocKind, doc_id: str | None
    ) -> Response:
        items = xero.batch_items(request.json(), kind.collection)
        summarize = request.flag("summarizeErrors", default=True)
        unitdp = 4 if request.param("unitdp") == "4" else 2
        return self._batch(
            kind.collection,
            summarize,
            lambda: [
                xero.apply_document(
                    ledger,
                    kind,
                    raw,
                    method=request.method,
                    client_id=token.client_id,
                    path_id=doc_id,
                    unitdp=unitdp,
                )
                for raw in items
            ],
        )

    def _save_contacts(self, request: Request, ledger: Ledger, doc_id: str | None) -> Response:
        items = xero.batch_items(request.json(), "Contacts")
        summarize = request.flag("summarizeErrors", default=True)
        return self._batch(
            "Contacts",
            summarize,
            lambda: [xero.apply_contact(ledger, raw, method=request.method, path_id=doc_id) for raw in items],
        )

    def _batch(self, collection: str, summarize: bool, run: Callable[[], list[xero.Outcome]]) -> Response:
        """Run a batch of writes atomically when ``summarize`` (any error undoes them all)."""

        class _Undo(Exception):
            pass

        outcomes: list[xero.Outcome] = []
        try:
            with self.store.transaction():
                outcomes = run()
                if summarize and any(o.errors for o in outcomes):
                    raise _Undo
        except _Undo:
            pass
        status, body = xero.batch_answer(collection, outcomes, summarize)
        return json_response(status, body)
