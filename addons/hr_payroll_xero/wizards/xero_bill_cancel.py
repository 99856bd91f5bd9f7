# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from ..models.utils import window_action


class XeroBillCancel(models.TransientModel):
    _name = "xero.bill.cancel"
    _description = "Cancel a Batch's Bills in Xero"

    run_ids = fields.Many2many("hr.payslip.run", string="Payslip Batches", readonly=True)
    record_ids = fields.Many2many("xero.bill.record", string="Bills in Xero", readonly=True)

    @api.model
    def _xero_open(self, runs, records):
        wizard = self.create({"run_ids": [(6, 0, runs.ids)], "record_ids": [(6, 0, records.ids)]})
        return window_action(self.env._("Cancel the bills in Xero?"), self._name, wizard.id)

    def action_confirm(self):
        self.ensure_one()
        return self.record_ids.action_cancel_in_xero()
