# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What happened to each bill (and manual journal) in Xero: its status, payments, and whether it was changed
there (drift)."""

import functools
import logging
from datetime import timedelta, timezone

from odoo import fields, models, modules
from odoo.exceptions import UserError

from .compat import group_users
from .const import USABLE_CONNECTION_STATES, XERO_STATUSES
from .utils import notification

try:
    from payroll_xero.bills import ACCPAY, ACCPAYCREDIT
    from payroll_xero.client import GONE_STATUSES, bill_differences, journal_differences
    from payroll_xero.errors import XeroError
except ImportError:  # pragma: no cover - checked by external_dependencies
    ACCPAY, ACCPAYCREDIT = "ACCPAY", "ACCPAYCREDIT"
    bill_differences = journal_differences = None
    GONE_STATUSES = ("DELETED", "VOIDED")
    XeroError = Exception

_logger = logging.getLogger(__name__)
_UTC = timezone.utc

FIRST_LOOK_MARGIN = timedelta(minutes=5)  # the first read-back starts this long before the oldest send


class XeroBillRecordStatus(models.Model):
    _inherit = "xero.bill.record"  # pylint: disable=consider-merging-classes-inherited

    xero_amount_paid = fields.Monetary(
        string="Paid in Xero", readonly=True, copy=False, currency_field="currency_id"
    )
    xero_amount_due = fields.Monetary(
        string="Due in Xero", readonly=True, copy=False, currency_field="currency_id"
    )
    xero_fully_paid_on = fields.Date(string="Fully Paid On", readonly=True, copy=False)
    xero_checked_at = fields.Datetime(string="Checked in Xero", readonly=True, copy=False)
    xero_changed = fields.Boolean(
        string="Changed in Xero",
        readonly=True,
        copy=False,
        index=True,
        help="The bill in Xero no longer matches what was sent (lines, accounts, total or contact).",
    )
    xero_changes = fields.Text(string="Changes in Xero", readonly=True, copy=False)

    # ------------------------------------------------------------------ actions

    def action_xero_refresh(self):
        """Read the selected sent bills back from Xero now (by id, 50 a call)."""
        self._xero_check_action_access()
        records = self.sudo().filtered(lambda r: r.state == "sent" and r.xero_id)
        counts = records._xero_refresh()
        return notification(
            self.env._("Refreshed from Xero"),
            self.env._(
                "%(checked)s bill(s) or journal(s) checked, %(changed)s changed in Xero, %(missing)s not found.",
                **counts,
            ),
            warning=bool(counts["changed"] or counts["missing"] or counts["failed"]),
        )

    def _xero_refresh(self):
        """Read these records' bills by id, per connection; returns counts for the notification."""
        counts = {"checked": 0, "changed": 0, "missing": 0, "failed": 0}
        for connection, records in self.grouped("connection_id").items():
            if connection.state not in USABLE_CONNECTION_STATES:
                counts["failed"] += len(records)
                continue
            try:
                client = connection._xero_client()
                readers = {
                    ACCPAY: functools.partial(client.read_bills, credit_notes=False),
                    ACCPAYCREDIT: functools.partial(client.read_bills, credit_notes=True),
                    "journal": client.read_journals,
                }
                for kind, read in readers.items():
                    by_id = {
                        r.xero_id: r
                        for r in records
                        if (r.document if r.document == "journal" else r.doc_type) == kind
                    }
                    if not by_id:
                        continue
                    for batch in read(list(by_id)):
                        for found in batch:
                            record = by_id.pop(found.xero_id, None)
                            if record:
                                counts["changed"] += record._xero_apply_status(found)
                                counts["checked"] += 1
                    for record in by_id.values():
                        record._xero_not_found()
                        counts["missing"] += 1
            except XeroError as exc:
                _logger.warning("Xero status refresh of connection %s stopped: %s", connection.id, exc)
                counts["failed"] += 1
        return counts

    # ------------------------------------------------------------------ applying what Xero says

    def _xero_apply_status(self, found):
        """Store what Xero says of this record's bill; returns 1 when it newly differs from what was sent."""
        self.ensure_one()
        changes = ()
        if found.status not in GONE_STATUSES:
            try:
                if self.document == "journal":
                    changes = journal_differences(self._xero_bill(), found)
                else:
                    contact_id = self.employee_id.sudo().xero_contact_id or None
                    changes = bill_differences(self._xero_bill(), found, contact_id)
            except UserError:  # a payload changed outside Odoo: nothing trustworthy to compare with
                changes = ()
        newly_changed = bool(changes) and not self.xero_changed
        self.write(
            {
                "xero_status": found.status if found.status in dict(XERO_STATUSES) else False,
                # a manual journal is not paid: no amounts
                "xero_amount_paid": getattr(found, "amount_paid", None) or 0.0,
                "xero_amount_due": getattr(found, "amount_due", None) or 0.0,
                "xero_fully_paid_on": getattr(found, "fully_paid_on", None) or False,
                "xero_checked_at": fields.Datetime.now(),
                "xero_changed": bool(changes),
                "xero_changes": "\n".join(changes) or False,
            }
        )
        if newly_changed:
            self._xero_flag_changed(changes)
        return int(newly_changed)

    def _xero_flag_changed(self, changes):
        """Say it in the chatter and give each Xero manager an activity."""
        self.message_post(
            body=self.env._("The bill was changed in Xero: %s", "; ".join(changes)),
        )
        managers = group_users(self.env.ref("hr_payroll_xero.group_xero_manager")).filtered(
            lambda u: self.company_id in u.company_ids
        )
        for user in managers:
            self.activity_schedule(
                "mail.mail_activity_data_todo",
                summary=self.env._("Bill %s was changed in Xero", self.invoice_number),
                note=self.env._(
                    "Check the change with payroll; regenerating will not overwrite it: %s",
                    "; ".join(changes),
                ),
                user_id=user.id,
            )

    def _xero_not_found(self):
        self.write(
            {
                "xero_checked_at": fields.Datetime.now(),
                "last_error": self.env._(
                    "Xero did not return bill %(number)s (id %(id)s) when its status was read back: it may have "
                    "been removed from Xero.",
                    number=self.invoice_number,
                    id=self.xero_id,
                ),
            }
        )

    # ------------------------------------------------------------------ cron

    def _cron_xero_refresh_status(self):
        """Nightly: per connection, read back what changed in Xero since its watermark, page by page.

        Each saved page moves the connection's watermark and is committed, so a rate limit or an
        outage in the middle loses nothing: the next run resumes from the last saved page.
        """
        connections = self.env["xero.connection"].sudo().search([("state", "in", USABLE_CONNECTION_STATES)])
        for connection in connections:
            records = self.sudo().search([("connection_id", "=", connection.id), ("state", "=", "sent")])
            if records:
                self._xero_refresh_connection(connection, records)
        return True

    def _xero_refresh_connection(self, connection, records):
        """The bills' read-back, then the manual journals' (each with its own watermark on the connection)."""
        journals = records.filtered(lambda r: r.document == "journal")
        bills_done = self._xero_read_changes(
            connection,
            records - journals,
            "xero_checked_until",
            lambda client, since: ((page.bills, page.watermark) for page in client.changed_bills(since)),
        )
        journals_done = not journals or self._xero_read_changes(
            connection,
            journals,
            "xero_journals_checked_until",
            lambda client, since: (
                (page.journals, page.watermark) for page in client.changed_journals(since)
            ),
        )
        return bills_done and journals_done

    def _xero_read_changes(self, connection, records, watermark_field, changed):
        """Apply what ``changed(client, since)`` pages give (documents, watermark) to ``records``, moving the
        connection's ``watermark_field`` and committing page by page; False when Xero stopped it."""
        by_id = {r.xero_id: r for r in records if r.xero_id}
        sent = [when for when in records.mapped("sent_at") if when]
        since = connection[watermark_field] or (min(sent) - FIRST_LOOK_MARGIN if sent else None)
        if since is None:
            return True
        try:
            client = connection._xero_client()
            for documents, watermark in changed(
                client, fields.Datetime.to_datetime(since).replace(tzinfo=_UTC)
            ):
                for found in documents:
                    record = by_id.get(found.xero_id)
                    if record:
                        record._xero_apply_status(found)
                if watermark:
                    connection[watermark_field] = watermark.astimezone(_UTC).replace(tzinfo=None)
                if not modules.module.current_test:
                    self.env.cr.commit()  # pylint: disable=invalid-commit
        except XeroError as exc:
            _logger.warning(
                "Xero status read-back (%s) of connection %s stopped (resumes from %s): %s",
                watermark_field,
                connection.id,
                connection[watermark_field],
                exc,
            )
            return False
        return True
