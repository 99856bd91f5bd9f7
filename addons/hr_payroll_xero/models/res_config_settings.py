# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    xero_currency_code = fields.Char(related="company_id.xero_currency_code", readonly=False)
    xero_connection_id = fields.Many2one(related="company_id.xero_connection_id")
    xero_generate_on_close = fields.Boolean(related="company_id.xero_generate_on_close", readonly=False)
    xero_connection_state = fields.Selection(related="company_id.xero_connection_id.state")

    def action_xero_open_connection(self):
        """Open the company's Xero connection, creating it on first use."""
        self.ensure_one()
        return self.env["xero.connection"]._xero_for_company(self.company_id, create=True)._xero_form_action()
