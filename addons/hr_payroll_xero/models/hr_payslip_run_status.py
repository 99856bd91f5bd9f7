# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A batch's bills as Xero sees them: paid, changed there, refreshed on demand."""

from odoo import api, fields, models


class HrPayslipRunStatus(models.Model):
    _inherit = "hr.payslip.run"  # pylint: disable=consider-merging-classes-inherited

    xero_paid_count = fields.Integer(string="Bills Paid in Xero", compute="_compute_xero_paid")
    xero_all_paid = fields.Boolean(string="All Bills Paid in Xero", compute="_compute_xero_paid")
    xero_changed_count = fields.Integer(string="Bills Changed in Xero", compute="_compute_xero_paid")

    @api.depends("xero_record_ids.state", "xero_record_ids.xero_status", "xero_record_ids.xero_changed")
    def _compute_xero_paid(self):
        for run in self:
            sent = run.sudo().xero_record_ids.filtered(lambda r: r.state == "sent")
            bills = sent.filtered(lambda r: r.document == "bill")  # a manual journal is never paid
            paid = bills.filtered(lambda r: r.xero_status == "PAID")
            run.xero_paid_count = len(paid)
            run.xero_all_paid = bool(bills) and paid == bills
            run.xero_changed_count = len(sent.filtered("xero_changed"))

    def action_xero_refresh_status(self):
        """Read this batch's sent bills back from Xero now."""
        self.ensure_one()
        records = self.env["xero.bill.record"].search(
            [("payslip_run_id", "=", self.id), ("state", "=", "sent")]
        )
        return records.action_xero_refresh()
