# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import base64
import json
import logging
import secrets
import time
from datetime import timezone

import psycopg2

from odoo import api, fields, models, modules
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

from .const import (
    CALLBACK_PATH,
    LOCK_WAIT,
    REFRESH_MARGIN,
    SESSION_SCOPE,
    STATE_LIFETIME,
    STATE_SCOPE,
    USABLE_CONNECTION_STATES,
)

_logger = logging.getLogger(__name__)


class XeroReconnectError(UserError):
    """Xero refused the refresh token: the connection was moved to "needs reconnect" (committed)."""


class XeroConnection(models.Model):
    _name = "xero.connection"
    _description = "Xero Connection"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "company_id"

    name = fields.Char(required=True, default=lambda self: self.env._("Xero"), tracking=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, ondelete="cascade", index=True
    )
    active = fields.Boolean(default=True)
    state = fields.Selection(
        [
            ("draft", "Not connected"),
            ("connected", "Connected"),
            ("reconnect", "Needs reconnect"),
            ("error", "Error"),
        ],
        default="draft",
        required=True,
        copy=False,
        tracking=True,
    )
    client_id = fields.Char(string="Client ID", copy=False, tracking=True)
    client_secret = fields.Char(string="Stored Client Secret", groups="base.group_system", copy=False)
    client_secret_input = fields.Char(
        string="Client Secret",
        compute="_compute_client_secret_input",
        inverse="_inverse_client_secret_input",
        groups="base.group_system",
        help="Write-only: paste the secret of your Xero app; it is never shown again.",
    )
    has_client_secret = fields.Boolean(compute="_compute_has_client_secret")
    redirect_uri = fields.Char(
        string="Redirect URI",
        compute="_compute_redirect_uri",
        help="Paste this URI in your Xero app's redirect URIs (developer.xero.com > My Apps > Configuration).",
    )
    scopes = fields.Char(default=lambda self: " ".join(oauth.DEFAULT_SCOPES) if oauth else "", copy=False)
    tenant_id = fields.Char(string="Organisation ID", copy=False, readonly=True)
    tenant_name = fields.Char(string="Organisation", copy=False, readonly=True, tracking=True)
    pending_tenants = fields.Json(copy=False, groups="base.group_system")
    has_pending_tenants = fields.Boolean(compute="_compute_has_pending_tenants")
    token_ids = fields.One2many(
        "xero.connection.token", "connection_id", groups="base.group_system", copy=False
    )
    oauth_nonce = fields.Char(groups="base.group_system", copy=False)
    oauth_code_verifier = fields.Char(
        string="PKCE Code Verifier",
        groups="base.group_system",
        copy=False,
        help="Secret of the consent under way (PKCE): sent to Xero with the code, then cleared.",
    )
    base_currency = fields.Char(copy=False, readonly=True)
    currency_codes = fields.Char(
        string="Enabled Currencies", copy=False, readonly=True, help="Currencies enabled in the organisation."
    )
    last_sync = fields.Datetime(string="Last Account Sync", copy=False, readonly=True)
    last_error = fields.Text(copy=False, readonly=True)
    account_ids = fields.One2many("xero.account", "connection_id", string="Accounts")
    account_count = fields.Integer(compute="_compute_account_count")

    _sql_constraints = [
        ("company_uniq", "unique(company_id)", "A company has one Xero connection."),
    ]

    # ------------------------------------------------------------------ computes

    @api.depends("client_id")
    def _compute_client_secret_input(self):
        self.client_secret_input = False

    def _inverse_client_secret_input(self):
        for connection in self:
            if connection.client_secret_input:
                connection.client_secret = connection.client_secret_input.strip()

    def _compute_has_client_secret(self):
        for connection in self:
            connection.has_client_secret = bool(connection.sudo().client_secret)

    @api.depends("pending_tenants")
    def _compute_has_pending_tenants(self):
        for connection in self:
            connection.has_pending_tenants = bool(connection.sudo().pending_tenants)

    def _compute_redirect_uri(self):
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "").rstrip("/")
        self.redirect_uri = base_url + CALLBACK_PATH

    def _compute_account_count(self):
        # active ones only: the number the button shows is the number of accounts it opens
        counts = dict(
            self.env["xero.account"]._read_group(
                [("connection_id", "in", self.ids)], ["connection_id"], ["__count"]
            )
        )
        for connection in self:
            connection.account_count = counts.get(connection, 0)

    # ------------------------------------------------------------------ helpers

    @api.model
    def _xero_for_company(self, company, create=False):
        connection = self.with_context(active_test=False).search([("company_id", "=", company.id)], limit=1)
        if not connection and create:
            connection = self.create({"company_id": company.id, "name": company.name})
        return connection

    def _xero_form_action(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "current",
        }

    @api.model
    def _xero_endpoints(self):
        get = self.env["ir.config_parameter"].sudo().get_param
        default = oauth.XeroEndpoints()
        return oauth.XeroEndpoints(
            login_url=get("hr_payroll_xero.login_url") or default.login_url,
            identity_url=get("hr_payroll_xero.identity_url") or default.identity_url,
            api_url=get("hr_payroll_xero.api_url") or default.api_url,
        )

    def _xero_enabled_currencies(self):
        self.ensure_one()
        return [code for code in (self.currency_codes or "").split(",") if code]

    # ------------------------------------------------------------------ checks before sending

    def _xero_bill_problems(self, bills, company, origin=None):
        """What Xero would refuse in ``bills`` (sidecar ``Bill``s) of ``company``, before anything is sent.

        Called on the company's connection, or on an empty recordset when it has none. ``origin(bill,
        line)`` names where a line comes from (by default its description and the bill's type name).
        Returns ``{None: [sentences that concern every bill: the connection, the currency],
        invoice number: [sentences about that bill's accounts]}``. A currency that only some of the
        bills use is said under their numbers. The sentences have no final stop: each caller says
        what follows from them. Every problem is said (the accounts too when the currency is refused).
        """
        if not self or self.state not in USABLE_CONNECTION_STATES:
            return {
                None: [self.env._("%(company)s has no connected Xero organisation", company=company.name)]
            }
        self.ensure_one()
        problems = {None: []}
        by_currency = {}
        for bill in bills:
            by_currency.setdefault(bill.currency, []).append(bill.invoice_number)
        allowed = self._xero_enabled_currencies()
        for code, numbers in (by_currency or {company.xero_currency_code: []}).items():
            if not allowed or code in allowed:
                continue
            sentence = self.env._(
                "The Xero organisation %(org)s is not subscribed to %(code)s; it allows %(allowed)s",
                org=self.tenant_name or self.name,
                code=code,
                allowed=", ".join(allowed),
            )
            for key in [None] if len(by_currency) <= 1 else numbers:
                problems.setdefault(key, []).append(sentence)
        accounts = self._xero_accounts_by_code()
        origin = origin or self._xero_line_origin
        for bill in bills:
            sentences = [
                self._xero_account_problem(
                    line.account_code, accounts.get(line.account_code), origin(bill, line)
                )
                for line in bill.lines
            ]
            sentences = list(dict.fromkeys(sentence for sentence in sentences if sentence))
            if sentences:
                problems.setdefault(bill.invoice_number, []).extend(sentences)
        return problems

    def _xero_accounts_by_code(self):
        """{code: xero.account} of this connection, archived ones included."""
        Account = self.env["xero.account"].with_context(active_test=False)
        return {account.code: account for account in Account.search([("connection_id", "in", self.ids)])}

    def _xero_line_origin(self, bill, line):
        return self.env._(
            'line "%(item)s" of mapping type "%(type)s"', item=line.description, type=bill.type_name
        )

    def _xero_account_problem(self, code, account, origin):
        """The sentence saying why Xero refuses a line on ``account`` (``code`` when it is unknown), or ""."""
        if not account:
            return self.env._(
                "Account %(code)s (%(origin)s) does not exist in Xero", code=code, origin=origin
            )
        reason = account._xero_unpostable_reason()
        if not reason:
            return ""
        return self.env._(
            "Account %(account)s (%(origin)s) %(reason)s",
            account=account.display_name,
            origin=origin,
            reason=reason,
        )

    def _xero_credentials(self):
        """(client id, client secret) or a UserError saying what to fill in."""
        self.ensure_one()
        secret = self.sudo().client_secret
        if not self.client_id or not secret:
            raise UserError(
                self.env._(
                    "Xero connection %(name)s: paste the client id and client secret of your Xero app first.",
                    name=self.display_name,
                )
            )
        return self.client_id, secret

    def _xero_scopes(self):
        return tuple((self.scopes or "").split()) or oauth.DEFAULT_SCOPES

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
            scopes=self._xero_scopes(),
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
        managers = self.env.ref("hr_payroll_xero.group_xero_manager").users.filtered(
            lambda user: self.company_id in user.company_ids
        )
        for user in managers[:5]:
            self.activity_schedule(
                "mail.mail_activity_data_todo",
                summary=self.env._("Reconnect to Xero"),
                note=self.env._("Xero refused the refresh token: %s", reason),
                user_id=user.id,
            )

    # ------------------------------------------------------------------ client and sync

    def _xero_client(self):
        """The sidecar's Xero client for this connection's organisation."""
        self.ensure_one()
        from payroll_xero.client import XeroClient

        if not self.tenant_id:
            raise UserError(self.env._("Xero connection %(name)s has no organisation yet.", name=self.name))
        client_id, secret = self._xero_credentials()
        return XeroClient(
            client_id=client_id,
            client_secret=secret,
            tenant_id=self.tenant_id,
            get_token=self._xero_token,
            save_token=self._xero_refuse_unlocked_save,
            # Every refresh the client needs (near expiry, or after Xero refused the access token
            # with a 401) goes through the connection's locked refresh.
            refresh=lambda stale: self._xero_token(force=True, stale=stale),
            endpoints=self._xero_endpoints(),
            refresh_margin=REFRESH_MARGIN / 2,
        )

    def _xero_refuse_unlocked_save(self, token):
        # With ``refresh`` given the client never stores a token itself; a rotated refresh token
        # stored here would bypass the row lock, so refuse loudly rather than store it.
        raise XeroError("The Xero client tried to store a token outside the connection's locked refresh.")

    def action_sync_accounts(self):
        """Synchronize the chart of accounts and the organisation's currencies."""
        self._xero_check_manager()
        counts = {"created": 0, "updated": 0, "archived": 0}
        for connection in self:
            try:
                result = connection._xero_sync_accounts()
            except XeroError as exc:
                connection.last_error = str(exc)
                raise UserError(
                    self.env._("Synchronizing %(name)s failed: %(error)s", name=connection.name, error=exc)
                ) from None
            for key in counts:
                counts[key] += result[key]
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Xero accounts synchronized"),
                "message": self.env._(
                    "%(created)s created, %(updated)s updated, %(archived)s archived; %(active)s active "
                    "accounts.",
                    **counts,
                    active=self.env["xero.account"].search_count([("connection_id", "in", self.ids)]),
                ),
                "type": "success",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def _xero_sync_accounts(self):
        """Upsert accounts by AccountID, archive the ones archived or gone; return the counts."""
        self.ensure_one()
        client = self._xero_client()
        organisation = client.organisation()
        accounts = client.accounts()
        Account = self.env["xero.account"].with_context(active_test=False)
        existing = {a.xero_id: a for a in Account.search([("connection_id", "=", self.id)])}
        counts = {"created": 0, "updated": 0, "archived": 0}
        seen = set()
        to_create = []
        for account in accounts:
            vals = {
                "code": account.code or "",
                "name": account.name,
                "xero_id": account.account_id,
                "account_type": account.type,
                "account_class": account.account_class,
                "status": account.status,
                "tax_type": account.tax_type,
                "system_account": account.system_account or False,
                "active": account.status == "ACTIVE",
            }
            seen.add(account.account_id)
            record = existing.get(account.account_id)
            if record is None:
                to_create.append(dict(vals, connection_id=self.id, company_id=self.company_id.id))
                counts["created"] += 1
                continue
            changed = {
                key: value for key, value in vals.items() if (record[key] or False) != (value or False)
            }
            if changed:
                if record.active and not vals["active"]:
                    counts["archived"] += 1
                else:
                    counts["updated"] += 1
                record.write(changed)
        if to_create:
            Account.create(to_create)
        gone = Account.browse([r.id for xid, r in existing.items() if xid not in seen and r.active])
        gone.write({"active": False, "status": "DELETED"})
        counts["archived"] += len(gone)
        self.write(
            {
                "base_currency": organisation.base_currency,
                "currency_codes": ",".join(organisation.currencies),
                "last_sync": fields.Datetime.now(),
                "last_error": False,
                "state": "connected",
            }
        )
        _logger.info("Xero connection %s: accounts synchronized %s", self.id, counts)
        return counts

    @api.model
    def _cron_sync_accounts(self):
        """Nightly: re-sync every connected company; it also keeps the refresh token alive.

        A failing company does not stop the others: its error is stored on its connection.
        """
        for connection in self.search([("state", "in", USABLE_CONNECTION_STATES)]):
            try:
                with self.env.cr.savepoint():
                    connection._xero_sync_accounts()
            except XeroReconnectError as exc:
                # Already recorded on the connection, by the cursor that refreshed the token.
                _logger.warning("Xero connection %s: nightly sync needs a reconnect: %s", connection.id, exc)
            except (XeroError, UserError) as exc:
                _logger.warning("Xero connection %s: nightly sync failed: %s", connection.id, exc)
                connection.write(
                    {
                        "last_error": str(exc),
                        "state": "error",
                    }
                )
            if not modules.module.current_test:
                # One company's sync (and its rotated token) is kept even if a later one fails badly.
                self.env.cr.commit()  # pylint: disable=invalid-commit
