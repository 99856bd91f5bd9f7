# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A batch's push progress (queued / sending / sent / failed), and the notice when its last push job is done."""

from markupsafe import Markup

from odoo import fields, models


class HrPayslipRunQueue(models.Model):
    _inherit = "hr.payslip.run"  # pylint: disable=consider-merging-classes-inherited

    xero_pushing = fields.Boolean(
        string="Being Pushed to Xero",
        readonly=True,
        copy=False,
        help="Push jobs of this batch's bills are under way; whoever generated them is told when they are done.",
    )
    xero_queued_count = fields.Integer(string="Bills Queued", compute="_compute_xero_progress")
    xero_sending_count = fields.Integer(string="Bills Sending", compute="_compute_xero_progress")
    xero_sent_count = fields.Integer(string="Bills Sent", compute="_compute_xero_progress")
    xero_failed_count = fields.Integer(string="Bills Failed", compute="_compute_xero_progress")

    def _compute_xero_progress(self):
        for run in self:
            records = run.sudo().xero_record_ids
            progress = records.mapped("push_progress")
            run.xero_queued_count = progress.count("queued") + progress.count("draft")
            run.xero_sending_count = progress.count("sending")
            run.xero_sent_count = progress.count("sent")
            run.xero_failed_count = progress.count("failed")

    def _xero_notify_pushed(self):
        """For the batches being pushed whose bills are no longer queued: tell who generated them (once)."""
        runs = self.exists().filtered("xero_pushing")
        if not runs:
            return
        # Serialize the jobs finishing together: one of them notifies, after the others committed.
        self.env.cr.execute("SELECT id FROM hr_payslip_run WHERE id IN %s FOR UPDATE", [tuple(runs.ids)])
        runs.invalidate_recordset(["xero_pushing"])
        for run in runs.filtered("xero_pushing"):
            records = run.xero_record_ids
            if records.filtered(lambda r: r.state == "queued"):
                continue
            run.xero_pushing = False
            sent = records.filtered(lambda r: r.state == "sent")
            failed = records.filtered(lambda r: r.state == "failed")
            body = self.env._(
                "The Xero bills of %(batch)s are pushed: %(sent)s sent, %(failed)s failed.",
                batch=run.name,
                sent=len(sent),
                failed=len(failed),
            )
            if failed:
                body = Markup("%s<br/>%s") % (
                    body,
                    self.env._("Not sent: %s", ", ".join(failed[:10].mapped("invoice_number"))),
                )
            run.message_post(
                body=body,
                partner_ids=records.generated_by_id.partner_id.ids,
                subtype_xmlid="mail.mt_note",
            )
