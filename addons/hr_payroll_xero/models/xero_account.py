# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from .compat import sql_constraints
from .const import UNPOSTABLE_ACCOUNT_TYPES

# The accounts a bill line may use, as the sidecar's ``Account.is_postable`` says (active ones only: archived
# accounts are inactive): a code, not a Xero system account, not of a type Xero refuses on bill lines (BANK).
POSTABLE_ACCOUNT_DOMAIN = [
    ("code", "!=", False),
    ("system_account", "=", False),
    ("account_type", "not in", sorted(UNPOSTABLE_ACCOUNT_TYPES)),
]


@sql_constraints(
    (
        "xero_id_uniq",
        "unique(connection_id, xero_id)",
        "A Xero account is synchronized once per connection.",
    ),
)
class XeroAccount(models.Model):
    _name = "xero.account"
    _description = "Xero Account"
    _order = "code, name"
    _rec_names_search = ["code", "name"]

    code = fields.Char(index=True)
    name = fields.Char(required=True)
    xero_id = fields.Char(string="Xero AccountID", required=True, readonly=True, index=True)
    account_type = fields.Char(string="Type", readonly=True)
    account_class = fields.Char(string="Class", readonly=True)
    status = fields.Char(
        readonly=True, help="ACTIVE or ARCHIVED in Xero; DELETED when Xero no longer has it."
    )
    tax_type = fields.Char(readonly=True)
    system_account = fields.Char(readonly=True, help="Xero system accounts cannot be posted to.")
    active = fields.Boolean(default=True, help="Archived or gone in Xero.")
    connection_id = fields.Many2one("xero.connection", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one("res.company", required=True, index=True)

    @api.depends("code", "name")
    def _compute_display_name(self):
        for account in self:
            account.display_name = f"{account.code} {account.name}" if account.code else account.name

    def _xero_unpostable_reason(self):
        """Why Xero refuses bill lines on this account ("is archived in Xero"), or "" when it takes them."""
        self.ensure_one()
        if not self.active or self.status != "ACTIVE":
            return self.env._("is archived in Xero")
        if self.system_account:
            return self.env._("is a Xero system account that cannot take bill lines")
        if self.account_type in UNPOSTABLE_ACCOUNT_TYPES:
            return self.env._(
                "is a %(type)s account in Xero, which cannot take bill lines", type=self.account_type
            )
        return ""

    def action_sync_accounts(self):
        """From the accounts list: synchronize the current company's connection."""
        connection = self.env["xero.connection"]._xero_for_company(self.env.company)
        return connection.action_sync_accounts()
