"""The sandbox's admin actions as Python calls on :class:`~payroll_xero.sandbox.server.Sandbox`
(the same as ``POST /_sandbox/<action>``): what tests and the demo do to the organisation and its bills."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from . import seed


class AdminCalls:
    """Mixed into :class:`~payroll_xero.sandbox.server.Sandbox`, whose ``app`` does the work."""

    app: Any

    def invoices(self, tenant_id: str) -> list[dict[str, Any]]:
        """The organisation's invoices and bills in Xero's JSON shape (ISO dates, Decimal amounts)."""
        return self.app.invoices(tenant_id)

    def credit_notes(self, tenant_id: str) -> list[dict[str, Any]]:
        """The organisation's credit notes in Xero's JSON shape (ISO dates, Decimal amounts)."""
        return self.app.credit_notes(tenant_id)

    def contacts(self, tenant_id: str) -> list[dict[str, Any]]:
        """The organisation's contacts."""
        return self.app.contacts(tenant_id)

    def journals(self, tenant_id: str) -> list[dict[str, Any]]:
        """The organisation's manual journals in Xero's JSON shape (ISO dates, Decimal amounts)."""
        return self.app.journals(tenant_id)

    def attachments(
        self, tenant_id: str, document_id: str, credit_note: bool = False, journal: bool = False
    ) -> list[dict[str, Any]]:
        """The files attached to a bill (or credit note, or manual journal), oldest first: Xero's fields and
        ``Content`` (bytes)."""
        return self.app.attachments(tenant_id, document_id, credit_note, journal)

    def state(self) -> dict[str, Any]:
        """The state as ``GET /_sandbox/state`` shows it (no secrets)."""
        return self.app.state()

    # --- changing what Xero holds -----------------------------------------------------------------------------

    def archive_account(self, tenant_id: str, code: str) -> dict[str, Any]:
        """Archive an account (lines that use it are then refused)."""
        return self.app.archive_account(tenant_id, code)

    def add_account(
        self, tenant_id: str, code: str, name: str, type: str = "EXPENSE", status: str = "ACTIVE"
    ) -> dict[str, Any]:
        """Add an account to the chart."""
        return self.app.add_account(tenant_id, code, name, type, status)

    def delete_account(self, tenant_id: str, code: str) -> None:
        """Delete an account (its code becomes unknown)."""
        self.app.delete_account(tenant_id, code)

    def set_lock_date(self, tenant_id: str, lock_date: date | str | None) -> None:
        """Set (or clear with None) the organisation's period lock date."""
        self.app.set_lock_date(tenant_id, lock_date)

    def set_currencies(self, tenant_id: str, codes: list[str]) -> None:
        """The currencies the organisation is subscribed to (its base currency is always kept)."""
        self.app.set_currencies(tenant_id, codes)

    def pay_invoice(self, tenant_id: str, invoice_id: str, amount: Decimal | str | float) -> dict[str, Any]:
        """Record a payment on an AUTHORISED bill (PAID when nothing is left due)."""
        return self.app.pay_invoice(tenant_id, invoice_id, amount)

    def approve_invoice(self, tenant_id: str, invoice_id: str, credit_note: bool = False) -> dict[str, Any]:
        """Approve a DRAFT/SUBMITTED bill (or credit note) as a person in Xero would."""
        return self.app.approve_invoice(tenant_id, invoice_id, credit_note)

    def void_invoice(self, tenant_id: str, invoice_id: str, credit_note: bool = False) -> dict[str, Any]:
        """Void an AUTHORISED, unpaid bill (or credit note)."""
        return self.app.void_invoice(tenant_id, invoice_id, credit_note)

    def delete_invoice(self, tenant_id: str, invoice_id: str, credit_note: bool = False) -> dict[str, Any]:
        """Delete a DRAFT/SUBMITTED bill (or credit note)."""
        return self.app.delete_invoice(tenant_id, invoice_id, credit_note)

    def edit_invoice(self, tenant_id: str, invoice_id: str, **changes: Any) -> dict[str, Any]:
        """Edit a line (``line``, ``unit_amount``, ``account_code``, ``description``) or the contact
        (``contact_name``) of an unpaid bill, as a person in Xero would; ``credit_note=True`` for one."""
        return self.app.edit_invoice(tenant_id, invoice_id, **changes)

    def post_journal(self, tenant_id: str, journal_id: str) -> dict[str, Any]:
        """Post a DRAFT manual journal as a person in Xero would."""
        return self.app.post_journal(tenant_id, journal_id)

    def void_journal(self, tenant_id: str, journal_id: str) -> dict[str, Any]:
        """Void a POSTED manual journal."""
        return self.app.void_journal(tenant_id, journal_id)

    def delete_journal(self, tenant_id: str, journal_id: str) -> dict[str, Any]:
        """Delete a DRAFT manual journal."""
        return self.app.delete_journal(tenant_id, journal_id)

    def edit_journal(self, tenant_id: str, journal_id: str, **changes: Any) -> dict[str, Any]:
        """Edit a DRAFT or POSTED journal as a person in Xero would: a line's ``account_code`` or
        ``description`` (``line``), the ``narration``, or ``move_amount`` from line ``line`` to the next."""
        return self.app.edit_journal(tenant_id, journal_id, **changes)

    def expire_access_tokens(self) -> None:
        """Every access token issued so far is now expired."""
        self.app.expire_access_tokens()

    def expire_refresh_tokens(self) -> None:
        """Every refresh token issued so far is now expired."""
        self.app.expire_refresh_tokens()

    def register_redirect_uri(self, redirect_uri: str, client_id: str = seed.DEMO_CLIENT_ID) -> list[str]:
        """Register a redirect URI for an app (the demo app by default); returns the app's registered URIs.
        Kept over :meth:`reset` (and in the SQLite file)."""
        return self.app.register_redirect_uri(redirect_uri, client_id)
