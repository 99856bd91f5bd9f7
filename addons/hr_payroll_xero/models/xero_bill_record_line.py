# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class XeroBillRecordLine(models.Model):
    _name = "xero.bill.record.line"
    _description = "Xero Bill Record Line"
    _order = "record_id, sequence, id"

    record_id = fields.Many2one("xero.bill.record", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="record_id.company_id", store=True)
    sequence = fields.Integer()
    account_id = fields.Many2one("xero.account", string="Xero Account", ondelete="set null")
    account_code = fields.Char(required=True)
    description = fields.Char()
    currency_id = fields.Many2one(related="record_id.currency_id")
    amount = fields.Monetary(currency_field="currency_id")
    pay_item = fields.Char(help="The pay item key the line was summed from.")
    salary_rule_id = fields.Many2one("hr.salary.rule", ondelete="set null")
    tracking = fields.Char(help="Tracking category and option, e.g. Department: Sales.")
