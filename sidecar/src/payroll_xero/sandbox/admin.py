"""The admin section (``/_sandbox/``): what a test or a developer changes or reads in the sandbox directly.

A mixin of :class:`~payroll_xero.sandbox.app.App`. To add an admin action: a method here taking JSON-able
keyword arguments, its name in :data:`ADMIN_ACTIONS` (then ``POST /_sandbox/<name>`` calls it), and a
method of the same name on :class:`~payroll_xero.sandbox.server.Sandbox` for Python callers.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from . import pages, seed, xero
from .identity import is_loopback_host
from .messages import Request, Response, json_response
from .seed import DEMO_CLIENT_ID
from .xero import CREDIT_NOTE, INVOICE, MANUAL_JOURNAL, Ledger, attachments, user
from .xero import journals as journal_rules

ADMIN_ACTIONS = (
    "archive_account",
    "add_account",
    "delete_account",
    "set_lock_date",
    "set_currencies",
    "pay_invoice",
    "approve_invoice",
    "void_invoice",
    "delete_invoice",
    "edit_invoice",
    "post_journal",
    "void_journal",
    "delete_journal",
    "edit_journal",
    "expire_access_tokens",
    "expire_refresh_tokens",
    "register_redirect_uri",
)


class Admin:
    """The admin routes and Python API of :class:`~payroll_xero.sandbox.app.App`."""

    def invoices(self, tenant_id: str) -> list[dict[str, Any]]:
        return [xero.plain(d) for d in self.ledger(tenant_id).documents(INVOICE)]

    def credit_notes(self, tenant_id: str) -> list[dict[str, Any]]:
        return [xero.plain(d) for d in self.ledger(tenant_id).documents(CREDIT_NOTE)]

    def contacts(self, tenant_id: str) -> list[dict[str, Any]]:
        return [xero.plain(c) for c in self.ledger(tenant_id).contacts()]

    def journals(self, tenant_id: str) -> list[dict[str, Any]]:
        return [xero.plain(j) for j in self.ledger(tenant_id).journals()]

    def attachments(
        self, tenant_id: str, document_id: str, credit_note: bool = False, journal: bool = False
    ) -> list[dict[str, Any]]:
        kind = MANUAL_JOURNAL if journal else CREDIT_NOTE if credit_note else INVOICE
        return [
            {**attachments.listed(a), "Content": attachments.content(a)}
            for a in attachments.attachments(self.ledger(tenant_id), kind, document_id)
        ]

    def _attachment_file(self, path: str) -> Response:
        """``GET /_sandbox/attachments/<tenant>/<AttachmentID>``: an attached file, for the bills page."""
        tenant, _, attachment_id = path.partition("/")
        found = self.store.get(attachments.STORE_KIND, tenant, attachment_id)
        if found is None:
            return json_response(404, {"error": f"no attachment {attachment_id} in {tenant}"})
        name = found["FileName"].replace('"', "")
        return Response(
            200,
            attachments.content(found),
            {"Content-Type": found["MimeType"], "Content-Disposition": f'inline; filename="{name}"'},
        )

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

    def approve_invoice(self, tenant_id: str, invoice_id: str, credit_note: bool = False) -> dict[str, Any]:
        with self.store.transaction():
            return xero.plain(user.approve(self.ledger(tenant_id), invoice_id, credit_note))

    def void_invoice(self, tenant_id: str, invoice_id: str, credit_note: bool = False) -> dict[str, Any]:
        with self.store.transaction():
            return xero.plain(user.change_status(self.ledger(tenant_id), invoice_id, "VOIDED", credit_note))

    def delete_invoice(self, tenant_id: str, invoice_id: str, credit_note: bool = False) -> dict[str, Any]:
        with self.store.transaction():
            return xero.plain(user.change_status(self.ledger(tenant_id), invoice_id, "DELETED", credit_note))

    def edit_invoice(self, tenant_id: str, invoice_id: str, **changes: Any) -> dict[str, Any]:
        with self.store.transaction():
            return xero.plain(user.edit(self.ledger(tenant_id), invoice_id, **changes))

    def post_journal(self, tenant_id: str, journal_id: str) -> dict[str, Any]:
        with self.store.transaction():
            return xero.plain(journal_rules.user_change(self.ledger(tenant_id), journal_id, "POSTED"))

    def void_journal(self, tenant_id: str, journal_id: str) -> dict[str, Any]:
        with self.store.transaction():
            return xero.plain(journal_rules.user_change(self.ledger(tenant_id), journal_id, "VOIDED"))

    def delete_journal(self, tenant_id: str, journal_id: str) -> dict[str, Any]:
        with self.store.transaction():
            return xero.plain(journal_rules.user_change(self.ledger(tenant_id), journal_id, "DELETED"))

    def edit_journal(self, tenant_id: str, journal_id: str, **changes: Any) -> dict[str, Any]:
        with self.store.transaction():
            return xero.plain(journal_rules.user_edit(self.ledger(tenant_id), journal_id, **changes))

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
                    "ManualJournals": self.journals(tenant),
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
            bills = [
                self._with_files(tenant, d, False) for d in self.invoices(tenant) if d["Type"] == "ACCPAY"
            ]
            credit_notes = [self._with_files(tenant, d, True) for d in self.credit_notes(tenant)]
            sections.append((org, bills, credit_notes, self.journals(tenant)))
        return pages.index_page(sections)

    def _with_files(self, tenant: str, doc: dict[str, Any], credit_note: bool) -> dict[str, Any]:
        """``doc`` with the list of its attachments (no content), for the bills page."""
        kind = CREDIT_NOTE if credit_note else INVOICE
        files = attachments.attachments(self.ledger(tenant), kind, doc[kind.id_field])
        return {**doc, "Attachments": [attachments.listed(a) for a in files]}

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
            if action.startswith("attachments/") and request.method == "GET":
                return self._attachment_file(action[len("attachments/") :])
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
            if action in ADMIN_ACTIONS and request.method == "POST":
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
                    "GET attachments/<tenant>/<AttachmentID>",
                    "POST reset",
                    "GET/POST/DELETE faults",
                    *[f"POST {a}" for a in ADMIN_ACTIONS],
                ],
            },
        )
