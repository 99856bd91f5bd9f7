# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
from datetime import timedelta
from unittest.mock import patch
from urllib.parse import parse_qs, urlencode, urlsplit

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, new_test_user, tagged

from payroll_xero.sandbox import DEMO_TENANT_ID

from .common import XeroCase, XeroSandboxMixin


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@tagged("post_install", "-at_install")
class TestConnectCallback(XeroSandboxMixin, HttpCase):
    """The browser flow: Connect (a JSON-RPC button call) and Xero's callback, in one browser session."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._xero_setup_sandbox()
        cls.connection = cls._xero_new_connection(cls.env.company)
        cls.admin = cls.env.ref("base.user_admin")

    def _click_connect(self, tenant_ids=(DEMO_TENANT_ID,)):
        """Click Connect to Xero in the current browser session and consent in the sandbox.

        Returns the query Xero sends back to the callback (code, state).
        """
        action = self.make_jsonrpc_request(
            "/web/dataset/call_button/xero.connection/action_connect",
            {
                "model": "xero.connection",
                "method": "action_connect",
                "args": [[self.connection.id]],
                "kwargs": {},
            },
        )
        redirect = self.sandbox.approve(action["url"], tenant_ids=list(tenant_ids))
        return {key: values[0] for key, values in parse_qs(urlsplit(redirect).query).items()}

    def _callback(self, query):
        return self.url_open(
            "/hr_payroll_xero/oauth/callback?" + urlencode(query),
            allow_redirects=False,
        )

    def _assert_refused(self, response):
        self.assertEqual(response.status_code, 200)
        self.assertIn("invalid, expired or already used", response.text)

    def _assert_not_connected(self):
        self.connection.invalidate_recordset()
        self.assertEqual(self.connection.state, "draft")
        self.assertFalse(self.connection.sudo().token_ids)

    def test_connect_round_trip_through_the_controller_connects_the_chosen_organisation(self):
        self.authenticate("admin", "admin")
        query = self._click_connect()
        response = self._callback(query)
        self.assertEqual(response.status_code, 303)
        self.assertIn(f"/{self.connection.id}", response.headers["Location"])
        self.connection.invalidate_recordset()
        self.assertEqual(self.connection.state, "connected")
        self.assertEqual(self.connection.tenant_id, self.DEMO_TENANT_ID)
        self.assertEqual(self.connection.tenant_name, "Harbour Payroll Demo Ltd")
        self.assertTrue(self.connection.sudo().token_ids.refresh_token)
        self.assertFalse(self.connection.sudo().oauth_code_verifier, "the PKCE verifier is used once")

    def test_xero_manager_without_admin_rights_connects_with_the_secret_the_admin_set(self):
        manager = new_test_user(
            self.env,
            login="xero_manager_only",
            password="xero_manager_only",
            groups="base.group_user,hr_payroll_xero.group_xero_manager",
        )
        self.authenticate(manager.login, manager.login)
        query = self._click_connect()
        self.assertEqual(self._callback(query).status_code, 303)
        self.connection.invalidate_recordset()
        self.assertEqual(self.connection.state, "connected")
        with self.assertRaises(AccessError):
            self.connection.with_user(manager).read(["client_secret"])

    def test_callback_with_a_tampered_state_is_refused_and_connects_nothing(self):
        self.authenticate("admin", "admin")
        query = self._click_connect()
        raw, signature = query["state"].rsplit(".", 1)
        query["state"] = f"{raw}.{'0' * len(signature)}"
        self._assert_refused(self._callback(query))
        self._assert_not_connected()

    def test_a_state_is_used_once(self):
        self.authenticate("admin", "admin")
        query = self._click_connect()
        self.assertEqual(self._callback(query).status_code, 303)
        self._assert_refused(self._callback(query))

    def test_state_issued_to_another_user_is_refused(self):
        other = new_test_user(
            self.env,
            login="xero_other_admin",
            password="xero_other_admin",
            groups="base.group_system,payroll.group_payroll_manager",
        )
        self.authenticate("admin", "admin")
        query = self._click_connect()
        self.authenticate(other.login, other.login)
        self._assert_refused(self._callback(query))
        self._assert_not_connected()

    def test_state_used_from_another_browser_session_of_the_same_user_is_refused(self):
        self.authenticate("admin", "admin")
        query = self._click_connect()
        self.authenticate("admin", "admin")  # the same user, logged in in another browser
        self._assert_refused(self._callback(query))
        self._assert_not_connected()

    def test_state_issued_outside_a_browser_session_is_refused_in_one(self):
        query = self._xero_consent(self.connection, [self.DEMO_TENANT_ID], self.admin)
        self.authenticate("admin", "admin")
        self._assert_refused(self._callback(query))
        self._assert_not_connected()

    def test_denied_consent_shows_the_reason_and_forgets_the_verifier(self):
        self.authenticate("admin", "admin")
        query = self._click_connect()
        response = self._callback({"state": query["state"], "error": "access_denied"})
        self.assertIn("access_denied", response.text)
        self._assert_not_connected()
        self.assertFalse(self.connection.sudo().oauth_code_verifier)


@tagged("post_install", "-at_install")
class TestConnection(XeroCase):
    def _token(self, connection=None):
        return (connection or self.connection).sudo().token_ids

    def _expire_soon(self, seconds=60, connection=None):
        self._token(connection).expires_at = fields.Datetime.now() + timedelta(seconds=seconds)

    def test_connected_connection_knows_the_organisation_and_its_currencies(self):
        self.assertEqual(self.connection.state, "connected")
        self.assertEqual(self.connection.base_currency, "HKD")
        self.assertEqual(self.connection._xero_enabled_currencies(), ["HKD", "USD"])
        self.assertTrue(self.connection.last_sync)

    def test_several_organisations_in_one_consent_are_offered_for_a_choice(self):
        company = self.env["res.company"].create({"name": "Two Orgs Ltd"})
        connection = self._xero_new_connection(company)
        self._xero_connect(connection, tenant_ids=(self.DEMO_TENANT_ID, self.SECOND_TENANT_ID))
        self.assertFalse(connection.tenant_id, "never silently the first organisation")
        self.assertTrue(connection.has_pending_tenants)
        action = connection.action_choose_tenant()
        wizard = self.env["xero.tenant.select"].browse(action["res_id"])
        self.assertEqual(
            sorted(wizard.line_ids.mapped("name")), ["Harbour Payroll Demo Ltd", "Kowloon Trading Ltd"]
        )
        wizard.line_id = wizard.line_ids.filtered(lambda line: line.tenant_id == self.SECOND_TENANT_ID)
        wizard.action_confirm()
        self.assertEqual(connection.tenant_id, self.SECOND_TENANT_ID)
        self.assertEqual(connection.state, "connected")
        self.assertFalse(connection.has_pending_tenants)

    def test_access_token_is_refreshed_when_it_expires_within_two_minutes(self):
        old_refresh = self._token().refresh_token
        self._expire_soon(60)
        token = self.connection._xero_token()
        self.assertNotEqual(self._token().refresh_token, old_refresh, "rotated token is stored")
        self.assertEqual(self._token().access_token, token.access_token)
        self.assertGreater(self._token().expires_at, fields.Datetime.now() + timedelta(minutes=20))

    def test_valid_access_token_is_not_refreshed(self):
        before = self._token().access_token
        self.assertEqual(self.connection._xero_token().access_token, before)

    def test_worker_that_finds_the_row_locked_waits_for_the_other_workers_token(self):
        self._expire_soon(30)
        other = {"refresh_token": "rotated-by-other-worker", "access_token": "access-by-other-worker"}
        calls = []

        def locked_by_another_worker(connection):
            calls.append(1)
            if len(calls) == 2:  # meanwhile the other worker has refreshed and committed
                connection.token_ids.write(
                    dict(other, expires_at=fields.Datetime.now() + timedelta(minutes=30))
                )
            return False

        with (
            patch.object(type(self.connection), "_xero_try_lock", locked_by_another_worker),
            patch("odoo.addons.hr_payroll_xero.models.xero_connection_oauth.time.sleep") as sleep,
            patch("payroll_xero.oauth.refresh") as refresh,
        ):
            token = self.connection._xero_token()
        refresh.assert_not_called()
        self.assertEqual(sleep.call_count, 1)
        self.assertEqual(token.access_token, "access-by-other-worker")

    def test_invalid_grant_moves_the_connection_to_needs_reconnect_with_an_activity(self):
        manager = new_test_user(self.env, login="xero_mgr", groups="hr_payroll_xero.group_xero_manager")
        self.sandbox.expire_refresh_tokens()
        self._expire_soon(10)
        with self.assertRaisesRegex(UserError, "Connect to Xero again"):
            self.connection._xero_token()
        self.connection.invalidate_recordset()
        self.assertEqual(self.connection.state, "reconnect")
        self.assertIn("invalid_grant", self.connection.last_error)
        self.assertIn(manager, self.connection.activity_ids.user_id)

    def test_sync_creates_updates_and_archives_accounts(self):
        Account = self.env["xero.account"].with_context(active_test=False)
        accounts = Account.search([("connection_id", "=", self.connection.id)])
        self.assertEqual(len(accounts), 15)
        self.assertEqual(accounts.filtered(lambda a: a.code == "477").display_name, "477 Wages and Salaries")
        self.assertFalse(accounts.filtered(lambda a: a.code == "475").active, "archived in Xero")

        self.sandbox.archive_account(self.DEMO_TENANT_ID, "482")
        self.sandbox.add_account(self.DEMO_TENANT_ID, "483", "Long Service Payments")
        self.sandbox.delete_account(self.DEMO_TENANT_ID, "481")
        counts = self.connection._xero_sync_accounts()
        self.assertEqual(counts, {"created": 1, "updated": 0, "archived": 2})
        by_code = {a.code: a for a in Account.search([("connection_id", "=", self.connection.id)])}
        self.assertFalse(by_code["482"].active)
        self.assertEqual(by_code["482"].status, "ARCHIVED")
        self.assertFalse(by_code["481"].active)
        self.assertEqual(by_code["481"].status, "DELETED")
        self.assertTrue(by_code["483"].active)

    def test_synchronize_button_reports_counts_in_a_notification(self):
        action = self.connection.action_sync_accounts()
        self.assertEqual(action["tag"], "display_notification")
        self.assertIn("0 created, 0 updated, 0 archived", action["params"]["message"])

    def test_currency_code_must_be_enabled_in_the_organisation(self):
        with self.assertRaisesRegex(ValidationError, "not subscribed to EUR.*HKD, USD"):
            self.company.xero_currency_code = "EUR"
        self.company.xero_currency_code = "usd"
        self.assertEqual(self.company.xero_currency_code, "USD")
        with self.assertRaisesRegex(ValidationError, "HKX is not an ISO currency code"):
            self.company.xero_currency_code = "HKX"

    def test_currency_defaults_to_hkd(self):
        self.assertEqual(self.env["res.company"].create({"name": "New Co"}).xero_currency_code, "HKD")

    def test_payroll_officer_cannot_read_secrets_or_tokens(self):
        officer = new_test_user(self.env, login="xero_officer", groups="payroll.group_payroll_user")
        as_officer = self.connection.with_user(officer)
        self.assertEqual(as_officer.tenant_name, "Harbour Payroll Demo Ltd")
        for secret in ("client_secret", "token_ids"):
            with self.assertRaises(AccessError):
                as_officer.read([secret])
        with self.assertRaises(AccessError):
            self.env["xero.connection.token"].with_user(officer).search([])
        with self.assertRaises(AccessError):
            as_officer.write({"client_id": "stolen"})

    def test_user_of_another_company_sees_nothing_of_this_company(self):
        _company_b, user_b = self._xero_user_elsewhere(
            "xero_b", "payroll.group_payroll_manager", {"name": "Company B"}
        )
        self.assertFalse(self.env["xero.connection"].with_user(user_b).search([]))
        self.assertFalse(self.env["xero.account"].with_user(user_b).search([]))

    def test_nightly_cron_isolates_a_failing_company(self):
        company_b = self.env["res.company"].create({"name": "Broken Co"})
        broken = self._xero_connect(self._xero_new_connection(company_b))
        broken.sudo().client_secret = "wrong-secret"
        self._expire_soon(0, broken)  # forces a refresh, which Xero refuses
        self.connection.last_sync = fields.Datetime.now() - timedelta(days=1)
        self.env["xero.connection"]._cron_sync_accounts()
        self.assertGreater(self.connection.last_sync, fields.Datetime.now() - timedelta(minutes=5))
        self.assertEqual(self.connection.state, "connected")
        self.assertIn(broken.state, ("error", "reconnect"))
        self.assertTrue(broken.last_error)

    def test_disconnect_revokes_the_token_in_xero_and_forgets_it(self):
        refresh_token = self._token().refresh_token
        self.connection.action_disconnect()
        self.assertEqual(self.connection.state, "draft")
        self.assertFalse(self._token())
        from payroll_xero import oauth
        from payroll_xero.errors import ReconnectNeeded

        with self.assertRaises(ReconnectNeeded):
            oauth.refresh(
                self.connection.client_id,
                self.connection.sudo().client_secret,
                refresh_token,
                lambda token: None,
                endpoints=self.connection._xero_endpoints(),
            )

    def test_secret_is_write_only_and_never_copied(self):
        self.connection.client_secret_input = "new-secret"
        self.assertEqual(self.connection.sudo().client_secret, "new-secret")
        self.connection.invalidate_recordset()
        self.assertFalse(self.connection.client_secret_input)
        copied = self.connection.copy_data()[0]
        self.assertFalse(copied.get("client_secret"))
        self.assertFalse(copied.get("token_ids"))

    def test_tokens_and_secret_never_reach_the_logs(self):
        # Every logger on the way to Xero, at DEBUG (Odoo's own SQL debug log is out of scope).
        names = ("odoo.addons.hr_payroll_xero", "payroll_xero", "xero_python", "urllib3", "requests")
        capture = _Capture()
        loggers = [logging.getLogger(name) for name in names]
        levels = [logger.level for logger in loggers]
        for logger in loggers:
            logger.addHandler(capture)
            logger.setLevel(logging.DEBUG)
        try:
            old = [self._token().access_token, self._token().refresh_token]
            self._expire_soon(5)
            self.connection._xero_token()
            self.sandbox.expire_access_tokens()  # the client is refused once and refreshes
            self.connection._xero_sync_accounts()
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.removeHandler(capture)
                logger.setLevel(level)
        secrets_ = [*old, self._token().access_token, self._token().refresh_token]
        secrets_.append(self.connection.sudo().client_secret)
        self.assertTrue(capture.messages, "something was logged")
        for message in capture.messages:
            for secret in secrets_:
                self.assertNotIn(secret, message)

    def test_settings_open_the_company_connection_creating_it_once(self):
        company = self.env["res.company"].create({"name": "Settings Co"})
        settings = self.env["res.config.settings"].with_company(company).create({})
        action = settings.action_xero_open_connection()
        connection = self.env["xero.connection"].browse(action["res_id"])
        self.assertEqual(connection.company_id, company)
        self.assertEqual(settings.action_xero_open_connection()["res_id"], connection.id)

    def test_connect_needs_client_credentials(self):
        company = self.env["res.company"].create({"name": "No App Co"})
        connection = self.env["xero.connection"].create({"company_id": company.id})
        with self.assertRaisesRegex(UserError, "paste the client id and client secret"):
            connection.action_connect()

    def test_redirect_uri_follows_web_base_url(self):
        self.assertEqual(self.connection.redirect_uri, "http://127.0.0.1:8069/hr_payroll_xero/oauth/callback")
