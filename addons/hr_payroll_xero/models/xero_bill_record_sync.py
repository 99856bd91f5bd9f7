# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Sync: updating bills already in Xero, remembering contacts, and the cron that pushes queued records."""

import logging
from datetime import timedelta, timezone

import psycopg2

from odoo import api, fields, models, modules
from odoo.exceptions import UserError
from odoo.tools import mute_logger

try:
    from payroll_xero.bills import ACCPAYCREDIT, Bill
    from payroll_xero.errors import XeroError
    from payroll_xero.journal_values import narration_has_key
except ImportError:  # pragma: no cover - checked by external_dependencies
    ACCPAYCREDIT = "ACCPAYCREDIT"
    Bill = narration_has_key = None
    XeroError = Exception

from .const import CRON_CHUNK, EDITABLE_STATUSES, MAX_ATTEMPTS

_logger = logging.getLogger(__name__)
# A change in Xero this long after our last write is someone else's (clocks differ by less than this).
EDIT_MARGIN = timedelta(minutes=1)


class XeroBillRecordSync(models.Model):
    _inherit = "xero.bill.record"  # pylint: disable=consider-merging-classes-inherited

    def _xero_get_document(self, client):
        """The document in Xero at this record's Xero id: its bill, credit note or manual journal."""
        self.ensure_one()
        if self.document == "journal":
            return client.get_journal(self.xero_id)
        return client.get_bill(self.xero_id, credit_note=self.doc_type == ACCPAYCREDIT)

    def _xero_check_document(self, client, current):
        """Refuse (``UserError``) unless ``current``, the Xero document at this record's Xero id, is this
        record's bill: same number, same contact (a journal: its narration ends with the record's key). A
        Xero id pointing at another document must never make Push overwrite it nor Cancel delete or void it."""
        self.ensure_one()
        if self.document == "journal":
            if narration_has_key(current.narration, self.invoice_number):
                return
            reason = self.env._("its narration is %s", current.narration or "-")
        elif (current.number or "") != self.invoice_number:
            reason = self.env._("its number is %s", current.number or "-")
        else:
            contact_id = client.find_contact(self.contact_name or "", self.contact_number or None)
            if contact_id and current.contact_id == contact_id:
                return
            reason = self.env._("its contact is not %s", self.contact_name)
        _logger.warning(
            "Xero bill record %s (%s): Xero document %s is another document, left alone",
            self.id,
            self.invoice_number,
            self.xero_id,
        )
        if self.document == "journal":
            raise UserError(
                self.env._(
                    "Manual journal %(number)s: the Xero journal %(xero_id)s is not this journal (%(reason)s), so it "
                    "was neither updated nor cancelled. Check it in Xero: if its narration was changed there, end "
                    "it with [%(number)s] again, then try again.",
                    number=self.invoice_number,
                    xero_id=self.xero_id,
                    reason=reason,
                )
            )
        raise UserError(
            self.env._(
                "Bill %(number)s: the Xero document %(xero_id)s is not this bill (%(reason)s), so it was "
                "neither updated nor cancelled. Check it in Xero: if its number or contact was changed there, "
                "set them back to %(number)s and %(contact)s, then try again.",
                number=self.invoice_number,
                xero_id=self.xero_id,
                reason=reason,
                contact=self.contact_name,
            )
        )

    def _xero_edited_in_xero(self, current):
        """Why the bill in Xero must not be overwritten: flagged as changed there by the last read-back, or
        changed there (UpdatedDateUTC) after this app last wrote it; else an empty string."""
        if self.xero_changed:
            return (self.xero_changes or "").replace("\n", "; ")
        if current.updated_at and self.sent_at:
            edited_at = current.updated_at.astimezone(timezone.utc).replace(tzinfo=None)
            if edited_at > self.sent_at + EDIT_MARGIN:
                return self.env._("it was changed in Xero on %s UTC, after it was sent", edited_at)
        return ""

    def _xero_leave_edited(self, edited):
        self.write(
            {
                "state": "sent",
                "pending_update": False,
                "sync_note": self.env._(
                    "The batch changed, but this bill was changed in Xero (%(changes)s), so it was not "
                    "overwritten. Settle the difference in Xero, or cancel the bill there and generate "
                    "the bills again.",
                    changes=edited,
                ),
            }
        )

    def _xero_update_in_xero(self, client):
        """Replace the content of the DRAFT/SUBMITTED bill in Xero by this record's payload."""
        self.ensure_one()
        self.attempts += 1
        try:
            bill = self._xero_bill()
            current = self._xero_get_document(client)
            self._xero_check_document(client, current)
            edited = self._xero_edited_in_xero(current)
            if edited:
                self._xero_leave_edited(edited)
                return
            if current.status not in EDITABLE_STATUSES:
                self.write(
                    {
                        "state": "sent",
                        "xero_status": current.status,
                        "pending_update": False,
                        "sync_note": self.env._(
                            "The batch changed but Xero already has this bill as %(status)s, so it was not "
                            "updated. Cancel it in Xero (button Cancel in Xero), then generate the bills again.",
                            status=current.status,
                        ),
                    }
                )
                return
            if self.document == "journal":
                result = client.update_draft_journal(self.xero_id, bill)
            else:
                result = client.update_draft_bill(self.xero_id, bill)
        except psycopg2.Error:
            raise
        except (XeroError, UserError) as exc:
            self._xero_fail_from(exc)
            return
        except Exception as exc:  # pylint: disable=broad-exception-caught
            self._xero_fail_unexpected(exc)
            return
        self.write(
            {
                "state": "sent",
                "xero_status": result.status,
                "pending_update": False,
                "retryable": False,
                "next_attempt_at": False,
                "last_error": False,
                "sync_note": False,
                "sent_at": fields.Datetime.now(),
                # the summary attached to the bill shows the old amounts: the push replaces it
                "xero_attachment_state": "outdated"
                if self.xero_attachment_state == "attached"
                else self.xero_attachment_state,
            }
        )
        self.message_post(body=self.env._("Updated in Xero with the batch's new amounts."))

    def _xero_remember_contacts(self, client):
        """Tell the client the ContactIDs already known for employees (spares a lookup per employee)."""
        for record in self.filtered(lambda r: r.employee_id and r.contact_number):
            contact_id = record.employee_id.sudo().xero_contact_id
            if contact_id:
                client.remember_contact(record.contact_name, record.contact_number, contact_id)

    def _xero_store_contacts(self, results):
        """Remember on each employee the ContactID Xero used for its bill."""
        contact_by_number = {r.invoice_number: r.contact_id for r in results if r.ok and r.contact_id}
        try:
            # A cache only: another worker pushing another batch of the same employees may store the same
            # ids at the same time; then its ids are kept and this push goes on.
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                for record in self.filtered(lambda r: r.employee_id and r.contact_number):
                    contact_id = contact_by_number.get(record.invoice_number)
                    employee = record.employee_id.sudo()
                    if contact_id and employee.xero_contact_id != contact_id:
                        employee.xero_contact_id = contact_id
        except (psycopg2.errors.SerializationFailure, psycopg2.errors.LockNotAvailable):
            self.env.invalidate_all()
            _logger.info("Xero bill records %s: contact ids stored by another worker meanwhile", self.ids)

    @api.model
    def _cron_push_queued(self):
        """Every 10 minutes: push queued bills and retry temporary failures whose time has come.

        Each connection's chunk runs in a savepoint and is committed on its own, so that what Xero
        accepted is never forgotten because a later connection fails, and one connection (or one
        record) that fails unexpectedly does not stop the others; the cron re-triggers itself when
        work is left.
        """
        now = fields.Datetime.now()
        domain = [
            "|",
            ("state", "=", "queued"),
            "&",
            ("state", "=", "failed"),
            ("retryable", "=", True),
            ("attempts", "<", MAX_ATTEMPTS),
            "|",
            ("next_attempt_at", "=", False),
            ("next_attempt_at", "<=", now),
        ]
        if self._xero_queue_available():
            self._xero_enqueue_due(domain)  # queue_job pushes them, organisation by organisation
            return True
        records = self.sudo().search(domain, order="id", limit=CRON_CHUNK + 1)
        more = len(records) > CRON_CHUNK
        for connection, group in records[:CRON_CHUNK].grouped("connection_id").items():
            try:
                with self.env.cr.savepoint():
                    group._xero_push()
            except Exception as exc:  # pylint: disable=broad-exception-caught
                # Rolled back to the savepoint: Xero may have created some of these bills, which the next
                # push finds by number before sending anything again.
                _logger.exception(
                    "Xero push cron: bills %s of connection %s stopped on an unexpected error",
                    group.ids,
                    connection.id,
                )
                group._xero_fail_after_crash(exc)
            if not modules.module.current_test:
                # Bills Xero accepted must stay recorded as sent even if a later chunk fails badly.
                self.env.cr.commit()  # pylint: disable=invalid-commit
        more = self._xero_cron_attach() or more
        if more:
            self.env.ref("hr_payroll_xero.ir_cron_xero_push_queued")._trigger()
        return True

    @api.model
    def _xero_cron_attach(self):
        """The summaries left to attach (to replace, or failed and due again), per connection, each
        connection in a savepoint and committed; True when more are left than one run takes."""
        due = self._xero_attachments_due(CRON_CHUNK + 1)
        for connection, group in due[:CRON_CHUNK].grouped("connection_id").items():
            try:
                with self.env.cr.savepoint():
                    group._xero_attach_with(connection)
            except Exception:  # pylint: disable=broad-exception-caught
                _logger.exception(
                    "Xero push cron: summaries %s of connection %s stopped", group.ids, connection.id
                )
            if not modules.module.current_test:
                # Summaries Xero took must stay recorded as attached even if a later connection fails.
                self.env.cr.commit()  # pylint: disable=invalid-commit
        return len(due) > CRON_CHUNK

    def _xero_fail_after_crash(self, exc):
        """After the push of these records was rolled back: retry later, counting the attempt (so a record
        that always crashes stops after ``MAX_ATTEMPTS``)."""
        now = fields.Datetime.now()
        try:
            with self.env.cr.savepoint():
                for record in self.exists():
                    record._xero_fail(
                        self.env._(
                            "The push stopped on an unexpected error (%s); the cron tries again later.",
                            type(exc).__name__,
                        ),
                        retryable=True,
                        next_attempt=now + timedelta(minutes=10 * 2 ** max(0, record.attempts)),
                    )
        except Exception:  # pylint: disable=broad-exception-caught
            _logger.exception("Xero push cron: could not mark records %s failed", self.ids)

    # ------------------------------------------------------------------ cancel
