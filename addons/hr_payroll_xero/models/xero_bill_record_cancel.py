# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Cancel: voiding or deleting bills in Xero, cancelling locally, and which records may be deleted."""

from odoo import api, models
from odoo.exceptions import UserError

from .utils import notification

try:
    from payroll_xero.bills import ACCPAYCREDIT, Bill
    from payroll_xero.errors import ValidationFailed, XeroError
except ImportError:  # pragma: no cover - checked by external_dependencies
    ACCPAYCREDIT = "ACCPAYCREDIT"
    Bill = None
    ValidationFailed = XeroError = Exception


class XeroBillRecordCancel(models.Model):
    _inherit = "xero.bill.record"  # pylint: disable=consider-merging-classes-inherited

    def action_cancel_in_xero(self):
        """Delete (draft/submitted) or void (approved, unpaid) the bills in Xero; paid ones are refused."""
        self._xero_check_action_access()
        return self.sudo()._xero_cancel_in_xero()

    def _xero_cancel_in_xero(self):
        cancelled, refused = self.browse(), []
        changed_in_xero = False
        for connection, group in (
            self.filtered(lambda r: r.state != "cancelled").grouped("connection_id").items()
        ):
            client = None
            for record in group:
                if not record.xero_id and not record.attempts:
                    record._xero_cancel_locally()
                    cancelled |= record
                    continue
                try:
                    if client is None:
                        client = connection._xero_client()
                    if not record.xero_id and not record._xero_find_in_xero(client):
                        # Pushed, but Xero never got it: nothing to cancel there.
                        record._xero_cancel_locally()
                        cancelled |= record
                        continue
                    record._xero_check_document(client, record._xero_get_document(client))
                    doc = record._xero_cancel_document(client)
                except (XeroError, UserError) as exc:
                    message = exc.errors[0] if isinstance(exc, ValidationFailed) and exc.errors else str(exc)
                    refused.append((record, message))
                    continue
                changed_in_xero = True
                record.write(
                    {
                        "state": "cancelled",
                        "xero_status": doc.status,
                        "pending_update": False,
                        "sync_note": False,
                        "retryable": False,
                        "next_attempt_at": False,
                    }
                )
                record.message_post(body=self.env._("Cancelled in Xero (now %s).", doc.status))
                cancelled |= record
        if refused and not changed_in_xero:
            raise UserError(
                "\n".join(
                    self.env._(
                        "%(kind)s %(number)s cannot be cancelled: %(reason)s",
                        kind=r._xero_kind_label(),
                        number=r.invoice_number,
                        reason=m,
                    )
                    for r, m in refused
                )
            )
        for record, message in refused:
            record.last_error = message
            record.message_post(body=self.env._("Not cancelled in Xero: %s", message))
        message = self.env._("%(n)s bill(s) or journal(s) cancelled.", n=len(cancelled))
        if refused:
            message += " " + " | ".join(f"{r.invoice_number}: {m}" for r, m in refused)
        return notification(self.env._("Xero"), message, warning=bool(refused))

    def _xero_cancel_document(self, client):
        """Delete (draft, submitted) or void (approved bill, posted journal) this record's document in Xero."""
        self.ensure_one()
        if self.document == "journal":
            return client.cancel_journal(self.xero_id, self.invoice_number)
        return client.cancel_bill(self.xero_id, credit_note=self.doc_type == ACCPAYCREDIT)

    def _xero_find_in_xero(self, client):
        """Look up a bill (a journal: by its key) pushed without a known answer; store its Xero id when Xero
        has it."""
        self.ensure_one()
        if self.document == "journal":
            found = client.find_journal(self.invoice_number)
        else:
            contact_id = client.find_contact(self.contact_name, self.contact_number or None)
            found = contact_id and client.find_bill(
                self.invoice_number, contact_id, credit_note=self.doc_type == ACCPAYCREDIT
            )
        if found:
            self.write({"xero_id": found.xero_id, "xero_status": found.status})
        return bool(found)

    def _xero_cancel_locally(self):
        self.write(
            {"state": "cancelled", "retryable": False, "next_attempt_at": False, "pending_update": False}
        )
        self.message_post(body=self.env._("Cancelled before it reached Xero."))

    @api.ondelete(at_uninstall=False)
    def _unlink_except_in_xero(self):
        """Only bills that never reached Xero (or were cancelled there) may be deleted."""
        for record in self:
            if record.state == "cancelled":
                continue
            if record.xero_id:
                raise UserError(
                    self.env._(
                        "Bill %s is in Xero: cancel it in Xero before deleting it here.",
                        record.invoice_number,
                    )
                )
            if record.attempts:
                raise UserError(
                    self.env._(
                        "Bill %s was pushed and may have reached Xero: click Cancel in Xero first (it looks "
                        "the bill up in Xero and cancels it there or here), then delete it.",
                        record.invoice_number,
                    )
                )
