# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

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
