# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

import psycopg2

from odoo import api, fields, models, modules
from odoo.exceptions import AccessError, UserError

try:
    from payroll_xero import oauth
    from payroll_xero.client import Account
    from payroll_xero.errors import XeroError
    from payroll_xero.journal_jobs import journal_preflight_problems
    from payroll_xero.journal_values import JOURNAL_DOC_TYPE
except ImportError:  # pragma: no cover - checked by external_dependencies
    oauth = Account = journal_preflight_problems = None
    XeroError = Exception
    JOURNAL_DOC_TYPE = "MANUALJOURNAL"

from .compat import queue_channel_values, sql_constraints
from .const import (
    CALLBACK_PATH,
    FLOW_CONNECTION_FIELDS,
    JOB_CHANNEL,
    RATE_CONCURRENT,
    RATE_PER_MINUTE,
    REFRESH_MARGIN,
    USABLE_CONNECTION_STATES,
)
from .utils import notification, window_action
from .xero_rate_limit import PgTenantLimiter

_logger = logging.getLogger(__name__)


class XeroReconnectError(UserError):
    """Xero refused the refresh token: the connection was moved to "needs reconnect" (committed)."""


@sql_constraints(
    ("company_uniq", "unique(company_id)", "A company has one Xero connection."),
)
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
        readonly=True,
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
    xero_checked_until = fields.Datetime(
        string="Bills Checked Up To",
        readonly=True,
        copy=False,
        help="Statuses of the bills sent are read back from Xero for what changed since this time (nightly).",
    )
    xero_journals_checked_until = fields.Datetime(
        string="Journals Checked Up To",
        readonly=True,
        copy=False,
        help="Statuses of the manual journals sent are read back from Xero for what changed since this time "
        "(nightly).",
    )
    journals_allowed = fields.Boolean(
        string="Manual Journals Allowed",
        compute="_compute_journals_allowed",
        help="Whether the consent given in Xero covers manual journals (scope accounting.manualjournals). A "
        "connection made before journals were asked for sends bills only: click Connect to Xero again to "
        "allow journals.",
    )
    account_count = fields.Integer(compute="_compute_account_count")

    # ------------------------------------------------------------------ protection

    def _xero_check_flow_fields(self, names):
        """Refuse a direct change of what only the module's flows set (``FLOW_CONNECTION_FIELDS``: the state,
        the organisation, the tokens, the consent under way), to anyone, system administrators included.

        The flows check the user's group first and then write these fields as superuser. A context key
        would not do: the context of an RPC call is the caller's.
        """
        if self.env.su:
            return
        refused = [name for name in FLOW_CONNECTION_FIELDS if name in names]
        if refused:
            raise AccessError(
                self.env._(
                    "Xero connection %(name)s: %(fields)s cannot be written directly. Use Connect to Xero, "
                    "Choose the organisation or Disconnect on the connection instead.",
                    name=", ".join(self.mapped("display_name")) or names.get("name") or self.env._("(new)"),
                    fields=", ".join(f"{self._fields[name].string} ({name})" for name in refused),
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._xero_check_flow_fields(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._xero_check_flow_fields(vals)
        return super().write(vals)

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

    @api.depends("scopes", "state")
    def _compute_journals_allowed(self):
        for connection in self:
            connection.journals_allowed = connection.state != "draft" and oauth.journals_allowed(
                connection.scopes or ""
            )

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
        return window_action(self.display_name, self._name, self.id, target="current")

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
        invoice number: [sentences about that bill's accounts]}``. Manual journals among ``bills`` get the
        checks of journals (``_xero_journal_problems``) under their keys. A currency that only some of the
        bills use is said under their numbers. The sentences have no final stop: each caller says
        what follows from them. Every problem is said (the accounts too when the currency is refused).
        """
        if not self or self.state not in USABLE_CONNECTION_STATES:
            return {
                None: [self.env._("%(company)s has no connected Xero organisation", company=company.name)]
            }
        self.ensure_one()
        journals = [doc for doc in bills if doc.doc_type == JOURNAL_DOC_TYPE]
        bills = [doc for doc in bills if doc.doc_type != JOURNAL_DOC_TYPE]
        problems = {None: []}
        for key, reasons in self._xero_journal_problems(journals, company).items():
            problems.setdefault(key, []).extend(reasons)
        by_currency = {}
        for bill in bills:
            by_currency.setdefault(bill.currency, []).append(bill.invoice_number)
        allowed = self._xero_enabled_currencies()
        for code, numbers in (by_currency or ({} if journals else {company.xero_currency_code: []})).items():
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

    def _xero_journal_problems(self, journals, company):
        """{journal key: [why Xero would refuse it]} of sidecar ``Journal``s: the organisation's base currency
        only, active accounts that take journal lines (no bank account, no payables or receivables), as the
        command line checks them (``journal_preflight_problems``) but from the synchronised accounts (the
        tracking options are Xero's to check)."""
        if not journals:
            return {}
        accounts = [
            Account(
                account_id=account.xero_id or "",
                code=account.code,
                name=account.name or "",
                type=account.account_type,
                status=account.status if account.active else "ARCHIVED",
                system_account=account.system_account or None,
            )
            for account in self._xero_accounts_by_code().values()
        ]
        refused = journal_preflight_problems(
            journals,
            accounts=accounts,
            base_currency=self.base_currency or company.xero_currency_code,
            tracking_categories=None,
        )
        return {key: list(reasons) for key, reasons in refused.items()}

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
            # Xero's limits are per organisation: shared by every worker through PostgreSQL.
            limiter=self._xero_limiter(),
        )

    def _xero_limiter(self):
        """The organisation's limiter shared by all Odoo processes (``xero.rate.limit``)."""
        self.ensure_one()
        get = self.env["ir.config_parameter"].sudo().get_param
        return PgTenantLimiter(
            self.env.registry,
            self.tenant_id,
            per_minute=int(get("hr_payroll_xero.calls_per_minute") or RATE_PER_MINUTE),
            concurrent=int(get("hr_payroll_xero.concurrent_calls") or RATE_CONCURRENT),
        )

    def _xero_job_channel(self):
        """``root.xero.<organisation>``: the organisation's jobs run in a channel of their own."""
        self.ensure_one()
        name = f"{JOB_CHANNEL}.{(self.tenant_id or f'connection{self.id}').split('-')[0].lower()}"
        Channel = self.env["queue.job.channel"].sudo()
        parent = self.env.ref("queue_job.channel_root")
        for path in (JOB_CHANNEL, name):
            channel = Channel.search([("complete_name", "=", path)], limit=1)
            if not channel:
                values = {"name": path.rsplit(".", 1)[1], "parent_id": parent.id}
                if path == name:
                    values.update(queue_channel_values(Channel, RATE_CONCURRENT))
                try:
                    with self.env.cr.savepoint():
                        channel = Channel.create(values)
                except psycopg2.IntegrityError:  # made by a generation running at the same time
                    channel = Channel.search([("complete_name", "=", path)], limit=1)
            parent = channel
        return name

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
        return notification(
            self.env._("Xero accounts synchronized"),
            self.env._(
                "%(created)s created, %(updated)s updated, %(archived)s archived; %(active)s active accounts.",
                **counts,
                active=self.env["xero.account"].search_count([("connection_id", "in", self.ids)]),
            ),
        )

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
        # The caller checked the user (action_sync_accounts: a Xero manager) or is the cron.
        self.sudo().write(
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
                connection.sudo().write({"last_error": str(exc), "state": "error"})
            if not modules.module.current_test:
                # One company's sync (and its rotated token) is kept even if a later one fails badly.
                self.env.cr.commit()  # pylint: disable=invalid-commit
