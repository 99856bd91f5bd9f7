# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models
from odoo.exceptions import UserError

from ..models.utils import window_action


class XeroTenantSelect(models.TransientModel):
    _name = "xero.tenant.select"
    _description = "Choose the Xero Organisation"

    connection_id = fields.Many2one("xero.connection", required=True, readonly=True)
    line_ids = fields.One2many("xero.tenant.select.line", "wizard_id", string="Organisations")
    line_id = fields.Many2one(
        "xero.tenant.select.line",
        string="Organisation",
        domain="[('wizard_id', '=', id)]",
    )

    def _xero_open(self, connection):
        pending = connection.sudo().pending_tenants or []
        if not pending:
            raise UserError(self.env._("There is no organisation to choose: connect to Xero first."))
        wizard = self.create(
            {
                "connection_id": connection.id,
                "line_ids": [(0, 0, {"tenant_id": t["id"], "name": t["name"]}) for t in pending],
            }
        )
        return window_action(self.env._("Choose the Xero organisation"), self._name, wizard.id)

    def action_confirm(self):
        self.ensure_one()
        if not self.line_id:
            raise UserError(self.env._("Pick the organisation this company posts its bills to."))
        pending_ids = {t["id"] for t in self.connection_id.sudo().pending_tenants or []}
        if self.line_id.tenant_id not in pending_ids:
            raise UserError(self.env._("That organisation was not part of this consent; connect again."))
        self.connection_id._xero_set_tenant(self.line_id.tenant_id, self.line_id.name)
        # Close the dialog: the connection form that opened it reloads (no second breadcrumb of it).
        return {"type": "ir.actions.act_window_close"}


class XeroTenantSelectLine(models.TransientModel):
    _name = "xero.tenant.select.line"
    _description = "Xero Organisation Choice"

    wizard_id = fields.Many2one("xero.tenant.select", required=True, ondelete="cascade")
    tenant_id = fields.Char(required=True)
    name = fields.Char(required=True)
