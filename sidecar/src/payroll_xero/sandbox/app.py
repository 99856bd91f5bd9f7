"""Routing and endpoints of the sandbox, independent of the HTTP server that feeds it requests.

Paths (all of Xero's hosts under one base URL):
``/identity/connect/authorize`` (login), ``/connect/token`` and ``/connect/revocation`` (identity),
``/connections`` and ``/api.xro/2.0/...`` (API), ``/`` (what arrived, as HTML) and ``/_sandbox/...`` (admin).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import pages, seed, xero
from .identity import AccessToken, AuthError, Identity, is_loopback_host
from .limits import Fault, Faults, RateLimiter
from .seed import DEMO_CLIENT_ID
from .store import Store
from .xero import CREDIT_NOTE, INVOICE, DocKind, Ledger, XeroValueError

_logger = logging.getLogger(__name__)

IDEMPOTENCY_WINDOW = 6 * 60
RECEIVED_KEPT = 1000  # request bodies kept for inspection (App.received)
_API = re.compile(r"^/api\.xro/2\.0/(?P<resource>[A-Za-z]+)(?:/(?P<id>[^/]+))?/?$")
_CONNECTION = re.compile(r"^/connections/(?P<id>[^/]+)/?$", re.IGNORECASE)
_ADMIN_ACTIONS = (
    "archive_account",
    "add_account",
    "delete_account",
    "set_lock_date",
    "set_currencies",
    "pay_invoice",
    "expire_access_tokens",
    "expire_refresh_tokens",
    "register_redirect_uri",
)


@dataclass
class Request:
    """What the HTTP layer hands to :meth:`App.dispatch`."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: Message
    body: bytes = b""

    def param(self, name: str) -> str | None:
        """A query parameter, its name compared case-insensitively (last one wins)."""
        found = None
        for key, value in self.query:
            if key.lower() == name.lower():
                found = value
        return found

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean query parameter (``true``/``True``/``1``)."""
        value = self.param(name)
        return default if value is None else value.strip().lower() in ("true", "1", "yes")

    def form(self) -> list[tuple[str, str]]:
        """The form-encoded body."""
        return parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True)

    def json(self) -> Any:
        """The JSON body (amounts as Decimal)."""
        try:
            return json.loads(self.body.decode("utf-8") or "null", parse_float=Decimal)
        except (UnicodeDecodeError, ValueError) as exc:
            raise XeroValueError(f"The request body is not valid JSON: {exc}") from None


@dataclass
class Response:
    """What the HTTP layer sends back (nothing at all when ``drop`` is set)."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer."""
    data = json.dumps(body, default=_json_default).encode()
    return Response(status, data, {"Content-Type": "application/json; charset=utf-8", **(headers or {})})


def html_response(status: int, page: str, headers: dict[str, str] | None = None) -> Response:
    """An HTML answer."""
    return Response(status, page.encode(), {"Content-Type": "text/html; charset=utf-8", **(headers or {})})


def _problem(status: int, title: str, detail: str) -> Response:
    return json_response(
        status,
        {
            "Type": None,
            "Title": title,
            "Status": status,
            "Detail": detail,
            "Instance": str(uuid.uuid4()),
            "Extensions": {},
        },
    )


def _not_found(what: str = "The resource you're looking for cannot be found") -> Response:
    return _problem(404, "NotFound", what)


def _bad_request(message: str, type_: str = "ValidationException") -> Response:
    return json_response(
        400,
        {
            "ErrorNumber": 10 if type_ == "ValidationException" else 14,
            "Type": type_,
            "Message": message,
            "Elements": [],
        },
    )


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


class App:
    """The sandbox's state and behaviour behind one ``dispatch(request) -> response``."""

    def __init__(
        self,
        store: Store,
        faults: Faults,
        limiter: RateLimiter,
        *,
        redirect_uris: tuple[str, ...] | list[str] = (),
        allow_remote: bool = False,
    ) -> None:
        self.store = store
        self.faults = faults
        self.limiter = limiter
        self.identity = Identity(store, redirect_uris=redirect_uris)
        # Origins (scheme://host:port) whose pages may use the admin endpoints: the sandbox's own,
        # set by the server once it knows its port.
        self.own_origins: set[str] = set()
        # Whether the sandbox serves other machines too (then any Host it is called by is its own).
        self.allow_remote = allow_remote
        self.calls: list[tuple[str, str, int]] = []
        # (method, path, body) of the latest identity and API requests, as received.
        self.received: deque[tuple[str, str, bytes]] = deque(maxlen=RECEIVED_KEPT)
        self._calls_lock = threading.Lock()
        self._wake = threading.Event()
        if not self.store.all("organisation"):
            self.seed()
        else:
            self.identity.seed()

    # --- state --------------------------------------------------------------------------------------------

    def seed(self) -> None:
        """Install the seed organisations, their accounts and tracking, and the demo client."""
        with self.store.transaction():
            for org in seed.organisations():
                tenant = org["OrganisationID"]
                self.store.put("organisation", tenant, tenant, org)
                for currency in seed.currencies(tenant):
                    self.store.put("currency", tenant, currency["Code"], currency)
                for account in seed.accounts(tenant):
                    self.store.put("account", tenant, account["AccountID"], account)
                for category in seed.tracking_categories(tenant):
                    self.store.put("tracking", tenant, category["TrackingCategoryID"], category)
            self.identity.seed()

    def reset(self) -> None:
        """Back to the seeded state: no documents, tokens, connections, faults, calls or counted limits."""
        self.wake_sleepers()
        self.faults.clear()
        self.limiter.reset()
        with self._calls_lock:
            self.calls.clear()
            self.received.clear()
        with self.store.transaction():
            self.store.clear()
            self.seed()

    def wake_sleepers(self) -> None:
        """End the waits of calls held by a timeout fault."""
        self._wake.set()
        self._wake = threading.Event()

    def ledger(self, tenant_id: str) -> Ledger:
        """An organisation's data (KeyError for an unknown tenant)."""
        ledger = Ledger(self.store, tenant_id)
        ledger.organisation  # noqa: B018 - raises KeyError for an unknown tenant
        return ledger

    def _record(self, request: Request, status: int) -> None:
        with self._calls_lock:
            self.calls.append((request.method, request.path, status))
            self.received.append((request.method, request.path, request.body))

    # --- dispatch ---------------------------------------------------------------------------------------------

    def dispatch(self, request: Request) -> Response:
        """Answer one request."""
        path, method = request.path, request.method
        try:
            if path.startswith("/_sandbox/"):
                return self._admin(request)
            if path == "/" and method == "GET":
                return html_response(200, self.index_page())
            if path in ("/identity/connect/authorize", "/identity/connect/consent"):
                return self._authorize(request)
            response = self._service(request)
        except Exception:  # a sandbox bug must not look like a network failure
            _logger.exception("sandbox error on %s %s", method, path)
            response = _problem(500, "InternalServerError", "The sandbox failed; see its log.")
        response.headers.setdefault("Xero-Correlation-Id", str(uuid.uuid4()))
        if not path.startswith("/_sandbox/") and path not in (
            "/",
            "/identity/connect/authorize",
            "/identity/connect/consent",
        ):
            self._record(request, 0 if response.drop else response.status)
        return response

    def _service(self, request: Request) -> Response:
        path, method = request.path, request.method
        if _API.match(path):
            return self._api(request)
        if method == "POST" and path == "/connect/token":
            return self._with_fault(request, lambda: self._token(request))
        if method == "POST" and path == "/connect/revocation":
            return self._with_fault(request, lambda: self._revoke(request))
        if path.lower() in ("/connections", "/connections/") or _CONNECTION.match(path):
            return self._with_fault(request, lambda: self._connections(request))
        return _not_found()

    def _with_fault(
        self, request: Request, handler: Callable[[], Response], headers: dict[str, str] | None = None
    ) -> Response:
        """Run ``handler`` unless an injected fault says otherwise."""
        fault: Fault | None = self.faults.take(request.method, request.path)
        if fault is None:
            return handler()
        if fault.kind == "fail":
            titles = {
                500: "InternalServerError",
                502: "BadGateway",
                503: "ServiceUnavailable",
                504: "GatewayTimeout",
            }
            return _problem(
                fault.status, titles.get(fault.status, "Error"), "Injected failure (sandbox fault)"
            )
        if fault.kind == "rate_limit":
            response = _problem(429, "TooManyRequests", f"Rate limit exceeded: {fault.problem}")
            response.headers.update(
                {
                    **(headers or {}),
                    "Retry-After": str(fault.retry_after),
                    "X-Rate-Limit-Problem": fault.problem,
                }
            )
            return response
        if fault.kind == "redirect":
            return Response(302, b"", {"Location": fault.location, "Content-Type": "text/plain"})
        if fault.kind == "timeout":
            self._wake.wait(fault.delay)
            return _problem(504, "GatewayTimeout", "Injected timeout (sandbox fault): nothing was done")
        response = handler()  # "drop": do the work, then hang up without answering
        response.drop = True
        return response

    # --- identity ---------------------------------------------------------------------------------------------

    def _authorize(self, request: Request) -> Response:
        if request.method == "GET":
            params = dict(request.query)
            problem = self.identity.check_authorize_request(params)
            if problem:
                return html_response(400, pages.message_page("Invalid request", problem))
            return html_response(200, self._consent_page(params))
        if request.method != "POST":
            return html_response(405, pages.message_page("Method not allowed", request.method))
        form = request.form()
        params = {k: v for k, v in form if k not in ("tenant", "action")}
        tenants = [v for k, v in form if k == "tenant"]
        allow = dict(form).get("action", "allow") != "deny"
        problem = self.identity.check_authorize_request(params)
        if problem:
            return html_response(400, pages.message_page("Invalid request", problem))
        try:
            location = self.identity.consent(params, tenants, allow)
        except ValueError as exc:
            return html_response(400, self._consent_page(params, str(exc)))
        return Response(302, b"", {"Location": location, "Content-Type": "text/plain"})

    def _consent_page(self, params: dict[str, str], error: str = "") -> str:
        client = self.identity.client(params["client_id"]) or {}
        return pages.authorize_page(
            params, client.get("name", params["client_id"]), self.store.all("organisation"), error
        )

    def _token(self, request: Request) -> Response:
        try:
            answer = self.identity.token(dict(request.form()), request.headers.get("Authorization"))
        except AuthError as exc:
            return json_response(exc.status, exc.body, exc.headers)
        return json_response(200, answer, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _revoke(self, request: Request) -> Response:
        try:
            self.identity.revoke(dict(request.form()), request.headers.get("Authorization"))
        except AuthError as exc:
            return json_response(exc.status, exc.body, exc.headers)
        return Response(200, b"", {"Content-Length": "0"})

    def _connections(self, request: Request) -> Response:
        try:
            token = self.identity.authenticate(request.headers.get("Authorization"))
        except AuthError as exc:
            return json_response(exc.status, exc.body, exc.headers)
        match = _CONNECTION.match(request.path)
        if match and request.method == "DELETE":
            if self.identity.disconnect(token, match.group("id")):
                return Response(204)
            return _not_found()
        if match or request.method != "GET":
            return _problem(405, "MethodNotAllowed", f"{request.method} {request.path}")
        return json_response(200, self.identity.connections(token, request.param("authEventId")))

    # --- accounting API ---------------------------------------------------------------------------------------

    def _api(self, request: Request) -> Response:
        try:
            token = self.identity.authenticate(request.headers.get("Authorization"))
        except AuthError as exc:
            return json_response(exc.status, exc.body, exc.headers)
        tenant = (request.headers.get("xero-tenant-id") or "").strip().lower()
        if not tenant or self.identity.connection_for(token.client_id, tenant) is None:
            return _problem(403, "Forbidden", "AuthenticationUnsuccessful")
        decision = self.limiter.acquire(token.client_id, tenant)
        if not decision.allowed:
            response = _problem(429, "TooManyRequests", f"Rate limit exceeded: {decision.problem}")
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
            return _bad_request("The Idempotency-Key must be at most 128 characters long.")
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
                    return _bad_request(
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
        match = _API.match(request.path)
        assert match is not None
        resource, doc_id = match.group("resource").lower(), match.group("id")
        ledger = self.ledger(tenant)
        method = request.method
        try:
            if method == "GET":
                getter = {
                    "organisation": self._get_organisation,
                    "currencies": self._get_currencies,
                    "accounts": self._get_accounts,
                    "trackingcategories": self._get_tracking,
                    "contacts": self._get_contacts,
                    "invoices": self._get_invoices,
                    "creditnotes": self._get_credit_notes,
                }.get(resource)
                if getter is not None:
                    return getter(request, ledger, token, doc_id)
            elif method in ("PUT", "POST"):
                if resource == "contacts":
                    return self._save_contacts(request, ledger, doc_id)
                if resource in ("invoices", "creditnotes"):
                    kind = INVOICE if resource == "invoices" else CREDIT_NOTE
                    return self._save_documents(request, ledger, token, kind, doc_id)
        except XeroValueError as exc:
            return _bad_request(str(exc))
        return _not_found()

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
                return _not_found()
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
                json_response(200, xero.envelope("Contacts", [xero.present(found)]))
                if found
                else _not_found()
            )
        ids = {i.lower() for i in _csv(request.param("IDs"))}
        numbers = set(_csv(request.param("ContactNumbers")))
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
            return _bad_request("page and pageSize must be whole numbers")
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
                else _not_found()
            )
        ids = {i.lower() for i in _csv(request.param("IDs"))}
        numbers = set(
            _csv(request.param("InvoiceNumbers") if kind is INVOICE else request.param("CreditNoteNumbers"))
        )
        contact_ids = {i.lower() for i in _csv(request.param("ContactIDs"))}
        statuses = {s.upper() for s in _csv(request.param("Statuses"))}
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

    # --- Python/admin API -------------------------------------------------------------------------------------

    def invoices(self, tenant_id: str) -> list[dict[str, Any]]:
        return [xero.plain(d) for d in self.ledger(tenant_id).documents(INVOICE)]

    def credit_notes(self, tenant_id: str) -> list[dict[str, Any]]:
        return [xero.plain(d) for d in self.ledger(tenant_id).documents(CREDIT_NOTE)]

    def contacts(self, tenant_id: str) -> list[dict[str, Any]]:
        return [xero.plain(c) for c in self.ledger(tenant_id).contacts()]

    def _account(self, ledger: Ledger, code: str) -> dict[str, Any]:
        account = ledger.account(code=code)
        if account is None:
            raise KeyError(f"no account {code} in {ledger.tenant_id}")
        return account

    def archive_account(self, tenant_id: str, code: str) -> dict[str, Any]:
        with self.store.transaction():
            ledger = self.ledger(tenant_id)
            account = self._account(ledger, code)
            account.update({"Status": "ARCHIVED", "UpdatedDateUTC": xero.timestamp_now()})
            self.store.put("account", tenant_id, account["AccountID"], account)
        return xero.plain(account)

    def add_account(
        self, tenant_id: str, code: str, name: str, type: str = "EXPENSE", status: str = "ACTIVE"
    ) -> dict[str, Any]:
        with self.store.transaction():
            ledger = self.ledger(tenant_id)
            if ledger.account(code=code) is not None:
                raise ValueError(f"account code {code} already exists in {tenant_id}")
            account = seed.account(tenant_id, code, name, type, status, updated=xero.timestamp_now())
            account["AccountID"] = str(uuid.uuid4())
            self.store.put("account", tenant_id, account["AccountID"], account)
        return xero.plain(account)

    def delete_account(self, tenant_id: str, code: str) -> None:
        with self.store.transaction():
            account = self._account(self.ledger(tenant_id), code)
            self.store.delete("account", tenant_id, account["AccountID"])

    def set_lock_date(self, tenant_id: str, lock_date: date | str | None) -> None:
        with self.store.transaction():
            org = self.ledger(tenant_id).organisation
            org["PeriodLockDate"] = xero.parse_date(lock_date).isoformat() if lock_date else None
            self.store.put("organisation", tenant_id, tenant_id, org)

    def set_currencies(self, tenant_id: str, codes: list[str]) -> None:
        with self.store.transaction():
            org = self.ledger(tenant_id).organisation
            wanted = list(dict.fromkeys([org["BaseCurrency"], *[c.upper() for c in codes]]))
            for currency in self.store.all("currency", tenant_id):
                self.store.delete("currency", tenant_id, currency["Code"])
            for code in wanted:
                self.store.put(
                    "currency", tenant_id, code, {"Code": code, "Description": seed.currency_name(code)}
                )

    def pay_invoice(self, tenant_id: str, invoice_id: str, amount: Decimal | str | float) -> dict[str, Any]:
        with self.store.transaction():
            return xero.plain(xero.pay(self.ledger(tenant_id), invoice_id, Decimal(str(amount))))

    def expire_access_tokens(self) -> None:
        self.identity.expire_access_tokens()

    def expire_refresh_tokens(self) -> None:
        self.identity.expire_refresh_tokens()

    def state(self) -> dict[str, Any]:
        """Everything but secrets, for debugging."""
        organisations = []
        for org in self.store.all("organisation"):
            tenant = org["OrganisationID"]
            organisations.append(
                {
                    "OrganisationID": tenant,
                    "Name": org["Name"],
                    "BaseCurrency": org["BaseCurrency"],
                    "PeriodLockDate": org.get("PeriodLockDate"),
                    "Currencies": [c["Code"] for c in self.store.all("currency", tenant)],
                    "Accounts": [
                        {k: a.get(k) for k in ("Code", "Name", "Type", "Status")}
                        for a in self.store.all("account", tenant)
                    ],
                    "Contacts": self.contacts(tenant),
                    "Invoices": self.invoices(tenant),
                    "CreditNotes": self.credit_notes(tenant),
                }
            )
        connections = [
            {k: v for k, v in c.items() if not k.startswith("_")} | {"clientId": c["_client_id"]}
            for c in self.store.all("connection", "")
        ]
        return {
            "organisations": organisations,
            "connections": connections,
            "grants": self.store.all("grant", ""),
            "faults": self.faults.pending(),
            "calls": len(self.calls),
            "tokens": {"access": self.store.count("access"), "refresh": self.store.count("refresh")},
        }

    def index_page(self) -> str:
        sections = []
        for org in self.store.all("organisation"):
            tenant = org["OrganisationID"]
            bills = [d for d in self.invoices(tenant) if d["Type"] == "ACCPAY"]
            sections.append((org, bills, self.credit_notes(tenant)))
        return pages.index_page(sections)

    def register_redirect_uri(self, redirect_uri: str, client_id: str = DEMO_CLIENT_ID) -> list[str]:
        return self.identity.register_redirect_uri(redirect_uri, client_id)

    def set_own_port(self, port: int, host: str) -> None:
        """The origins the sandbox answers as: its loopback names on ``port``, and ``host``."""
        names = {"127.0.0.1", "localhost", "[::1]"}
        if host and host not in ("0.0.0.0", "::"):  # noqa: S104 - names, not a bind
            names.add(f"[{host}]" if ":" in host else host)
        self.own_origins = {f"http://{name}:{port}".lower() for name in names}

    def _admin_refusal(self, request: Request) -> Response | None:
        """Why an admin request is refused: a page of another site (Origin) or a body that is not JSON.

        A browser sends a cross-site form or ``text/plain`` POST without asking first; requiring
        ``application/json`` forces it to ask (CORS preflight), which the sandbox never allows.
        """
        host = (request.headers.get("Host") or "").strip().lower()
        host_is_own = bool(host) and (
            self.allow_remote
            or f"http://{host}" in self.own_origins
            or is_loopback_host(urlsplit(f"http://{host}").hostname)
        )
        if host and not host_is_own:  # a name made to point at this machine (DNS rebinding)
            return json_response(
                403, {"error": f"The sandbox's admin endpoints answer on its own address only, not {host}."}
            )
        origin = (request.headers.get("Origin") or "").strip().lower()
        if origin:
            own = set(self.own_origins)
            if host:
                own.add(f"http://{host}")
            if origin not in own:
                return json_response(
                    403,
                    {
                        "error": f"The sandbox's admin endpoints refuse requests from another site "
                        f"(Origin {origin}); call them from the sandbox's own pages or without a browser."
                    },
                )
        if request.method in ("POST", "PUT", "PATCH"):
            content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if content_type != "application/json":
                return json_response(
                    415,
                    {
                        "error": "The sandbox's admin endpoints take a JSON body only (Content-Type: "
                        f"application/json, not {content_type or 'none'}): other bodies are refused "
                        "so that no web page can post to them."
                    },
                )
        return None

    def _admin(self, request: Request) -> Response:
        action = request.path[len("/_sandbox/") :].strip("/")
        refused = self._admin_refusal(request)
        if refused is not None:
            return refused
        try:
            if action == "state" and request.method == "GET":
                return json_response(200, self.state())
            if action == "reset" and request.method == "POST":
                self.reset()
                return json_response(200, {"ok": True})
            if action == "faults":
                if request.method == "GET":
                    return json_response(200, self.faults.pending())
                if request.method == "DELETE":
                    self.faults.clear()
                    return json_response(200, {"ok": True})
                if request.method == "POST":
                    body = request.json() or {}
                    specs = body if isinstance(body, list) else [body]
                    for spec in specs:
                        self.faults.add(spec)
                    return json_response(200, self.faults.pending())
            if action in _ADMIN_ACTIONS and request.method == "POST":
                result = getattr(self, action.replace("-", "_"))(**(request.json() or {}))
                return json_response(200, {"ok": True, "result": result})
        except (KeyError, ValueError, TypeError) as exc:
            return json_response(400, {"error": str(exc)})
        return json_response(
            404,
            {
                "error": f"unknown admin action {request.method} {action}",
                "actions": [
                    "GET state",
                    "POST reset",
                    "GET/POST/DELETE faults",
                    *[f"POST {a}" for a in _ADMIN_ACTIONS],
                ],
            },
        )
