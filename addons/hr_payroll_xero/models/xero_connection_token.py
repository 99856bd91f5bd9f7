# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import AccessError

from .compat import sql_constraints


@sql_constraints(
    ("connection_uniq", "unique(connection_id)", "A Xero connection has one token set."),
)
class XeroConnectionToken(models.Model):
    """The OAuth token set of a connection, in a row of its own.

    Refreshes rotate the refresh token and are committed at once on a cursor of
    their own; keeping them off the connection's row means the request that
    triggered a refresh can still write the connection (state, last sync)
    without a serialization conflict.
    """

    _name = "xero.connection.token"
    _description = "Xero Connection Token"

    connection_id = fields.Many2one("xero.connection", required=True, ondelete="cascade", index=True)
    access_token = fields.Char(copy=False)
    refresh_token = fields.Char(copy=False)
    expires_at = fields.Datetime(copy=False)

    def _xero_check_flow(self, names):
        """Tokens come from Xero only: the consent and the locked refresh store them as superuser; nobody
        writes one directly (system administrators included)."""
        if not self.env.su:
            raise AccessError(
                self.env._(
                    "Xero tokens cannot be written directly (%(fields)s): they come from Xero when a Xero "
                    "manager clicks Connect to Xero on the connection.",
                    fields=", ".join(sorted(names)),
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        self._xero_check_flow({name for vals in vals_list for name in vals})
        return super().create(vals_list)

    def write(self, vals):
        self._xero_check_flow(vals)
        return super().write(vals)
