"""Routing and endpoints of the sandbox, independent of the HTTP server that feeds it requests.

Paths (all of Xero's hosts under one base URL):
``/identity/connect/authorize`` (login), ``/connect/token`` and ``/connect/revocation`` (identity),
``/connections`` and ``/api.xro/2.0/...`` (API), ``/`` (what arrived, as HTML) and ``/_sandbox/...`` (admin).

:class:`App` holds the state and answers the login and identity paths itself; the accounting API is the
mixin :class:`~payroll_xero.sandbox.api.AccountingApi` (Xero's rules in :mod:`payroll_xero.sandbox.xero`) with
its manual journals (:class:`~payroll_xero.sandbox.journal_api.JournalsApi`),
the admin section :class:`~payroll_xero.sandbox.admin.Admin`; requests and answers are
:mod:`payroll_xero.sandbox.messages`.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections import deque
from collections.abc import Callable

from . import pages, seed
from .admin import Admin
from .api import API_PATH, AccountingApi
from .identity import Identity
from .journal_api import JournalsApi
from .limits import Fault, Faults, RateLimiter
from .messages import Request, Response, html_response, json_response, not_found, problem_response
from .store import Store
from .tokens import AuthError
from .xero import Ledger

_logger = logging.getLogger(__name__)

RECEIVED_KEPT = 1000  # request bodies kept for inspection (App.received)
_CONNECTION = re.compile(r"^/connections/(?P<id>[^/]+)/?$", re.IGNORECASE)


class App(AccountingApi, JournalsApi, Admin):
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
            response = problem_response(500, "InternalServerError", "The sandbox failed; see its log.")
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
        if API_PATH.match(path):
            return self._api(request)
        if method == "POST" and path == "/connect/token":
            return self._with_fault(request, lambda: self._token(request))
        if method == "POST" and path == "/connect/revocation":
            return self._with_fault(request, lambda: self._revoke(request))
        if path.lower() in ("/connections", "/connections/") or _CONNECTION.match(path):
            return self._with_fault(request, lambda: self._connections(request))
        return not_found()

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
            return problem_response(
                fault.status, titles.get(fault.status, "Error"), "Injected failure (sandbox fault)"
            )
        if fault.kind == "rate_limit":
            response = problem_response(429, "TooManyRequests", f"Rate limit exceeded: {fault.problem}")
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
            return problem_response(
                504, "GatewayTimeout", "Injected timeout (sandbox fault): nothing was done"
            )
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
            return not_found()
        if match or request.method != "GET":
            return problem_response(405, "MethodNotAllowed", f"{request.method} {request.path}")
        return json_response(200, self.identity.connections(token, request.param("authEventId")))
