# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import AccessError

from .const import MAX_DESCRIPTION


class XeroBillRecordLine(models.Model):
    _name = "xero.bill.record.line"
    _description = "Xero Bill Record Line"
    _order = "record_id, sequence, id"

    record_id = fields.Many2one("xero.bill.record", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="record_id.company_id", store=True)
    sequence = fields.Integer()
    account_id = fields.Many2one("xero.account", string="Xero Account", ondelete="set null")
    account_code = fields.Char(required=True)
    description = fields.Char(size=MAX_DESCRIPTION)
    currency_id = fields.Many2one(related="record_id.currency_id")
    amount = fields.Monetary(currency_field="currency_id")
    # On a manual journal the amount is Xero's LineAmount: a debit positive, a credit negative.
    debit = fields.Monetary(compute="_compute_debit_credit", currency_field="currency_id")
    credit = fields.Monetary(compute="_compute_debit_credit", currency_field="currency_id")
    pay_item = fields.Char(help="The pay item key the line was summed from.")
    salary_rule_id = fields.Many2one("hr.salary.rule", ondelete="set null")
    tracking = fields.Char(help="Tracking category and option, e.g. Department: Sales.")

    @api.depends("amount")
    def _compute_debit_credit(self):
        for line in self:
            line.debit = max(line.amount, 0.0)
            line.credit = max(-line.amount, 0.0)

    def _xero_check_protected(self):
        """Lines show what a record's payload holds: only the record's actions write them, as superuser."""
        if not self.env.su:
            raise AccessError(
                self.env._(
                    "Xero bill lines are written only by Generate Xero Bills: generate the bills again instead."
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        self._xero_check_protected()
        return super().create(vals_list)

    def write(self, vals):
        self._xero_check_protected()
        return super().write(vals)
