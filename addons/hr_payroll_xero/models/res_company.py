# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import ValidationError

try:
    from payroll_xero.money import is_iso_currency
except ImportError:  # pragma: no cover - checked by external_dependencies
    is_iso_currency = None


class ResCompany(models.Model):
    _inherit = "res.company"

    xero_currency_code = fields.Char(
        string="Xero Currency",
        size=3,
        default="HKD",
        required=True,
        help="ISO code of the currency bills are sent in. It must be enabled in the Xero organisation: "
        "a Hong Kong organisation has HKD and USD unless upgraded for multi-currency.",
    )
    xero_connection_id = fields.Many2one(
        "xero.connection",
        compute="_compute_xero_connection_id",
    )
    xero_generate_on_close = fields.Boolean(
        string="Generate Xero Bills When a Batch Is Closed",
        help="Closing a payslip batch generates and sends its Xero bills, as Generate Xero Bills does. The "
        "batch is closed even when that finds problems: they are shown on the batch and sent to the Xero "
        "managers as an activity.",
    )

    def _compute_xero_connection_id(self):
        connections = self.env["xero.connection"].search([("company_id", "in", self.ids)])
        by_company = {connection.company_id.id: connection for connection in connections}
        for company in self:
            company.xero_connection_id = by_company.get(company.id, False)

    @api.constrains("xero_currency_code")
    def _check_xero_currency_code(self):
        for company in self:
            company._xero_check_currency(company.xero_currency_code)

    def _xero_check_currency(self, code):
        """Raise a ValidationError naming the allowed codes when ``code`` cannot be used."""
        self.ensure_one()
        if not code or not is_iso_currency(code):
            raise ValidationError(
                self.env._(
                    "%(code)s is not an ISO currency code (for example HKD or USD).",
                    code=code or "''",
                )
            )
        connection = self.sudo().xero_connection_id
        allowed = connection._xero_enabled_currencies() if connection else []
        if allowed and code not in allowed:
            raise ValidationError(
                self.env._(
                    "The Xero organisation %(org)s of %(company)s is not subscribed to %(code)s. "
                    "Use one of: %(allowed)s (a Hong Kong organisation allows HKD and USD unless upgraded).",
                    org=connection.tenant_name or connection.name,
                    company=self.name,
                    code=code,
                    allowed=", ".join(allowed),
                )
            )

    @api.model
    def _xero_activate_currency(self, code):
        """Bills go out in ``code``: make Odoo's currency of that code active, as Odoo does for a company's own
        currency. The web client knows only active currencies: the records' amounts show with its symbol."""
        currency = (
            self.env["res.currency"]
            .sudo()
            .with_context(active_test=False)
            .search([("name", "=", code)], limit=1)
        )
        if currency and not currency.active:
            currency.active = True

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("xero_currency_code"):
                vals["xero_currency_code"] = vals["xero_currency_code"].strip().upper()
        companies = super().create(vals_list)
        for code in {vals["xero_currency_code"] for vals in vals_list if vals.get("xero_currency_code")}:
            self._xero_activate_currency(code)
        return companies

    def write(self, vals):
        if vals.get("xero_currency_code"):
            vals["xero_currency_code"] = vals["xero_currency_code"].strip().upper()
        result = super().write(vals)
        if vals.get("xero_currency_code"):
            self._xero_activate_currency(vals["xero_currency_code"])
        return result
