# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The OAuth side of a Xero connection: consent (PKCE, signed state), organisation, disconnect, and the tokens
(stored, refreshed under a row lock on a cursor of their own)."""

import base64
import json
import logging
import secrets
import time
from datetime import timezone

import psycopg2

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.http import request
from odoo.tools import consteq
from odoo.tools.misc import hmac as odoo_hmac

try:
    from payroll_xero import oauth
    from payroll_xero.errors import ReconnectNeeded, XeroError
except ImportError:  # pragma: no cover - checked by external_dependencies
    oauth = None
    ReconnectNeeded = XeroError = Exception

from .compat import group_users
from .const import (
    LOCK_WAIT,
    REFRESH_MARGIN,
    SESSION_SCOPE,
    STATE_LIFETIME,
    STATE_SCOPE,
    USABLE_CONNECTION_STATES,
)
from .xero_connection import XeroReconnectError

_logger = logging.getLogger(__name__)


class XeroConnection(models.Model):
    _inherit = "xero.connection"  # pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------------ OAuth: connect

    def _xero_check_manager(self):
        """Connecting, choosing the organisation, synchronizing and disconnecting are for Xero managers
        who may write these connections; checked before anything is sent to Xero or done under sudo."""
        if not self.env.su and not self.env.user.has_group("hr_payroll_xero.group_xero_manager"):
            raise AccessError(
                self.env._(
                    "Only a Xero manager can connect, synchronize or disconnect a company's Xero organisation."
                )
            )
        self.check_access("write")

    @api.model
    def _xero_session_digest(self):
        """A digest of the browser session of the current request (None without a request).

        Keyed with the database secret: the state travels through Xero and the browser, and must not
        carry anything that helps to guess the session id.
        """
        session = request.session if request else None
        sid = getattr(session, "sid", None)
        return odoo_hmac(self.env(su=True), SESSION_SCOPE, sid)[:32] if sid else None

    def _xero_sign_state(self, nonce, expires):
        payload = {
            "c": self.id,
            "u": self.env.uid,
            "s": self._xero_session_digest(),
            "e": expires,
            "n": nonce,
        }
        raw = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()
        return f"{raw}.{odoo_hmac(self.env(su=True), STATE_SCOPE, raw)}"

    @api.model
    def _xero_check_state(self, state):
        """The connection a callback's ``state`` was issued for, or None when it is forged, stale or used,
        or comes back to another user or another browser session than the one that clicked Connect."""
        try:
            raw, signature = (state or "").rsplit(".", 1)
        except ValueError:
            return None
        if not consteq(signature, odoo_hmac(self.env(su=True), STATE_SCOPE, raw)):
            return None
        try:
            payload = json.loads(base64.urlsafe_b64decode(raw.encode()))
        except ValueError:
            return None
        if payload.get("u") != self.env.uid or payload.get("e", 0) < time.time():
            return None
        if not consteq(str(payload.get("s")), str(self._xero_session_digest())):
            return None
        connection = self.browse(payload.get("c")).exists()
        nonce = connection.sudo().oauth_nonce if connection else None
        if not nonce or not consteq(nonce, str(payload.get("n"))):
            return None
        connection.sudo().oauth_nonce = False  # a state is used once
        return connection

    def action_connect(self):
        """Open Xero's consent page; Xero sends the admin back to the callback controller.

        The code flow uses PKCE (S256): the verifier stays on the server (readable by the system
        only) and only its challenge goes through the browser.
        """
        self.ensure_one()
        self._xero_check_manager()
        client_id, _secret = self._xero_credentials()
        nonce = secrets.token_urlsafe(24)
        code_verifier, code_challenge = oauth.new_pkce()
        self.sudo().write({"oauth_nonce": nonce, "oauth_code_verifier": code_verifier})
        state = self._xero_sign_state(nonce, int(time.time()) + STATE_LIFETIME)
        url = oauth.authorization_url(
            client_id,
            self.redirect_uri,
            state,
            # what the connection has and what the module now needs: a connection made before manual
            # journals were asked for gets their scope at its next Connect to Xero
            scopes=tuple(dict.fromkeys((*self._xero_scopes(), *oauth.DEFAULT_SCOPES))),
            endpoints=self._xero_endpoints(),
            code_challenge=code_challenge,
        )
        return {"type": "ir.actions.act_url", "url": url, "target": "self"}

    def _xero_pop_code_verifier(self):
        """The PKCE verifier of the consent under way, forgotten here: a code is exchanged once."""
        self.ensure_one()
        sudo = self.sudo()
        code_verifier = sudo.oauth_code_verifier
        sudo.oauth_code_verifier = False
        return code_verifier or None

    def _xero_complete_consent(self, code):
        """Exchange the code, list the organisations of this consent and keep the one chosen.

        Returns the organisations when the admin must pick one, else an empty list.
        """
        self.ensure_one()
        client_id, secret = self._xero_credentials()
        endpoints = self._xero_endpoints()
        token = oauth.exchange_code(
            client_id,
            secret,
            code,
            self.redirect_uri,
            endpoints=endpoints,
            code_verifier=self._xero_pop_code_verifier(),
        )
        self._xero_store_token(token)
        tenants = oauth.list_connections(token, token.auth_event_id, endpoints=endpoints)
        if not tenants:
            raise UserError(
                self.env._("No Xero organisation was chosen in Xero; connect again and pick one.")
            )
        if len(tenants) == 1:
            self._xero_set_tenant(tenants[0].tenant_id, tenants[0].tenant_name)
            return []
        self.sudo().pending_tenants = [{"id": t.tenant_id, "name": t.tenant_name} for t in tenants]
        return tenants

    def _xero_set_tenant(self, tenant_id, tenant_name):
        self.ensure_one()
        self.sudo().write(
            {
                "tenant_id": tenant_id,
                "tenant_name": tenant_name,
                "pending_tenants": False,
                "state": "connected",
                "last_error": False,
            }
        )
        self.message_post(body=self.env._("Connected to the Xero organisation %s.", tenant_name))

    def action_choose_tenant(self):
        self.ensure_one()
        self._xero_check_manager()
        return self.env["xero.tenant.select"]._xero_open(self)

    def action_disconnect(self):
        """Revoke the token in Xero and forget it here."""
        self._xero_check_manager()  # before anything is revoked under sudo
        for connection in self:
            sudo = connection.sudo()
            token = sudo.token_ids[:1]
            if token.refresh_token and sudo.client_secret:
                try:
                    oauth.revoke(
                        connection.client_id,
                        sudo.client_secret,
                        token.refresh_token,
                        endpoints=connection._xero_endpoints(),
                    )
                except XeroError as exc:
                    _logger.warning("Xero connection %s: revocation failed: %s", connection.id, exc)
            sudo.token_ids.unlink()
            sudo.write(
                {
                    "tenant_id": False,
                    "tenant_name": False,
                    "pending_tenants": False,
                    "oauth_nonce": False,
                    "oauth_code_verifier": False,
                    "state": "draft",
                }
            )
            connection.message_post(body=connection.env._("Disconnected from Xero."))
        return True

    # ------------------------------------------------------------------ tokens

    def _xero_store_token(self, token):
        """Write a token set on this environment's cursor (the caller's transaction commits it)."""
        self.ensure_one()
        vals = {
            "access_token": token.access_token,
            "refresh_token": token.refresh_token,
            "expires_at": token.expires_at.replace(tzinfo=None),
        }
        sudo = self.sudo()
        if sudo.token_ids:
            sudo.token_ids[:1].write(vals)
        else:
            sudo.token_ids = [(0, 0, vals)]
        if token.scopes and " ".join(token.scopes) != self.scopes:
            sudo.scopes = " ".join(token.scopes)

    def _xero_token_from(self, record):
        row = record.sudo().token_ids[:1]
        if not row.access_token or not row.expires_at:
            return None
        return oauth.Token(
            access_token=row.access_token,
            refresh_token=row.refresh_token,
            expires_at=fields.Datetime.to_datetime(row.expires_at).replace(tzinfo=timezone.utc),
            scopes=self._xero_scopes(),
        )

    def _xero_token(self, force=False, stale=None):
        """A valid access token, refreshed when it expires within 2 minutes, or when ``force``.

        ``force`` is for an access token Xero refused (HTTP 401): ``stale`` is that token (by
        default the stored one). When the stored access token is no longer ``stale``, another
        worker has rotated it meanwhile and it is returned as is.

        Every refresh happens here, on a cursor of its own, holding ``FOR UPDATE NOWAIT``
        on the connection's token row, and is committed before the token is used: Xero
        rotates refresh tokens, so two workers must never refresh with the same one and a
        rotated one must never be lost. A worker that finds the row locked waits for the
        other one's token instead of refreshing.
        """
        self.ensure_one()
        if self.state not in USABLE_CONNECTION_STATES:
            raise UserError(
                self.env._(
                    "Xero connection %(name)s is not connected: click Connect to Xero.", name=self.name
                )
            )
        token = self._xero_token_from(self)
        if token is None:
            raise UserError(
                self.env._("Xero connection %(name)s has no token: click Connect to Xero.", name=self.name)
            )
        if force:
            stale = stale or token
        if self._xero_token_usable(token, stale):
            return token
        self.env["xero.connection.token"].sudo().flush_model()
        deadline = time.monotonic() + LOCK_WAIT
        try:
            while True:
                with self.env.registry.cursor() as cr:
                    fresh = self.with_env(self.env(cr=cr, su=True))
                    locked = not fresh._xero_try_lock()
                    token = self._xero_token_from(fresh) or token
                    if self._xero_token_usable(token, stale):
                        return token  # another worker refreshed it meanwhile
                    if not locked:
                        return self._xero_refresh(fresh, token, cr)
                if time.monotonic() > deadline:
                    raise UserError(
                        self.env._(
                            "Another Xero refresh of %(name)s is taking too long; try again.", name=self.name
                        )
                    )
                time.sleep(0.5)
        finally:
            # What the token cursor wrote is committed; the caller reads it afresh.
            self.env["xero.connection.token"].invalidate_model()
            self.invalidate_recordset(["state", "last_error"])

    @staticmethod
    def _xero_token_usable(token, stale=None):
        """Whether ``token`` can be used as is: not about to expire, and not the one Xero refused."""
        if stale is not None and token.access_token == stale.access_token:
            return False
        return not token.expires_within(REFRESH_MARGIN)

    def _xero_try_lock(self):
        """Lock this connection's token row on its cursor; False when another worker holds it."""
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    "SELECT id FROM xero_connection_token WHERE connection_id = %s FOR UPDATE NOWAIT",
                    [self.id],
                )
        except psycopg2.errors.LockNotAvailable:
            return False
        return True

    def _xero_refresh(self, fresh, token, cr):
        client_id, secret = fresh._xero_credentials()

        def save(new_token):
            fresh._xero_store_token(new_token)
            # The rotated refresh token must survive whatever happens next: Xero has
            # already invalidated the old one (after its grace period). This is the
            # token's own cursor, not the caller's transaction.
            cr.commit()  # pylint: disable=invalid-commit

        try:
            return oauth.refresh(client_id, secret, token, save, endpoints=self._xero_endpoints())
        except ReconnectNeeded as exc:
            fresh.write({"state": "reconnect", "last_error": str(exc)})
            fresh._xero_ask_managers_to_reconnect(str(exc))
            # Keep "needs reconnect" and the activity although the caller's transaction fails.
            cr.commit()  # pylint: disable=invalid-commit
            raise XeroReconnectError(
                self.env._(
                    "Xero no longer accepts the connection of %(name)s: click Connect to Xero again. (%(error)s)",
                    name=self.name,
                    error=str(exc),
                )
            ) from None

    def _xero_ask_managers_to_reconnect(self, reason):
        managers = group_users(self.env.ref("hr_payroll_xero.group_xero_manager")).filtered(
            lambda user: self.company_id in user.company_ids
        )
        for user in managers[:5]:
            self.activity_schedule(
                "mail.mail_activity_data_todo",
                summary=self.env._("Reconnect to Xero"),
                note=self.env._("Xero refused the refresh token: %s", reason),
                user_id=user.id,
            )
