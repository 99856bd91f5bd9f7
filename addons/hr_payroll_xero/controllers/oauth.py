# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from werkzeug.exceptions import Forbidden

from odoo import http
from odoo.exceptions import UserError
from odoo.http import request

try:
    from payroll_xero.errors import XeroError
except ImportError:  # pragma: no cover - checked by external_dependencies
    XeroError = Exception

_logger = logging.getLogger(__name__)


class XeroOAuthController(http.Controller):
    @http.route("/hr_payroll_xero/oauth/callback", type="http", auth="user", methods=["GET"])
    def xero_oauth_callback(self, code=None, state=None, error=None, error_description=None, **kwargs):
        """Xero sends the admin back here with an authorization code (or an error)."""
        if not request.env.user.has_group("hr_payroll_xero.group_xero_manager"):
            raise Forbidden()
        # The state must be signed, fresh, unused, and come back to the user and the browser
        # session that clicked Connect (a link opened in another session is refused).
        connection = request.env["xero.connection"]._xero_check_state(state)
        if not connection:
            _logger.warning(
                "Xero OAuth callback refused: state is forged, expired, already used or from another session"
            )
            return self._render_error(
                request.env._(
                    "This Xero sign-in link is invalid, expired or already used. Click Connect again."
                )
            )
        if error or not code:
            connection._xero_pop_code_verifier()  # this consent is over
            return self._render_error(
                request.env._("Xero did not grant access: %s", error_description or error or "no code"),
                connection,
            )
        try:
            connection._xero_complete_consent(code)
        except (XeroError, UserError) as exc:
            connection.sudo().write({"state": "error", "last_error": str(exc)})
            return self._render_error(str(exc), connection)
        # With several organisations in this consent, the form shows "Choose the organisation".
        return request.redirect(f"/odoo/action-hr_payroll_xero.xero_connection_action/{connection.id}")

    def _render_error(self, message, connection=None):
        return request.render(
            "hr_payroll_xero.oauth_error",
            {"error": message, "connection": connection},
        )
