# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Who may connect and disconnect, PKCE in the code flow, and token refreshes forced by a 401."""

from unittest.mock import patch
from urllib.parse import parse_qs, urlsplit

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from payroll_xero import oauth
from payroll_xero.errors import XeroError

from .common import XeroCase


@tagged("post_install", "-at_install")
class TestConnectionButtonsNeedAManager(XeroCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.xero_user = new_test_user(
            cls.env, login="xero_user_only", groups="base.group_user,hr_payroll_xero.group_xero_user"
        )

    def _refresh_token(self):
        return self.connection.sudo().token_ids.refresh_token

    def _assert_refresh_token_still_valid_in_xero(self, refresh_token):
        rotated = oauth.refresh(
            self.connection.client_id,
            self.connection.sudo().client_secret,
            refresh_token,
            lambda token: None,
            endpoints=self.connection._xero_endpoints(),
        )
        self.assertTrue(rotated.access_token)

    def test_xero_user_cannot_disconnect_and_nothing_is_revoked(self):
        refresh_token = self._refresh_token()
        with (
            patch("payroll_xero.oauth.revoke") as revoke,
            self.assertRaises(AccessError),
        ):
            self.connection.with_user(self.xero_user).action_disconnect()
        revoke.assert_not_called()
        self.connection.invalidate_recordset()
        self.assertEqual(self.connection.state, "connected")
        self.assertEqual(self._refresh_token(), refresh_token, "the token row is still there")
        self._assert_refresh_token_still_valid_in_xero(refresh_token)

    def test_xero_user_cannot_connect(self):
        self.connection.sudo().write({"oauth_nonce": "pending", "oauth_code_verifier": "pending-verifier"})
        with self.assertRaises(AccessError):
            self.connection.with_user(self.xero_user).action_connect()
        self.assertEqual(self.connection.sudo().oauth_nonce, "pending", "a consent under way is untouched")
        self.assertEqual(self.connection.sudo().oauth_code_verifier, "pending-verifier")

    def test_xero_user_cannot_choose_the_organisation(self):
        with self.assertRaises(AccessError):
            self.connection.with_user(self.xero_user).action_choose_tenant()

    def test_xero_user_cannot_synchronize_and_nothing_reaches_xero(self):
        calls = len(self.sandbox.calls)
        with self.assertRaises(AccessError):
            self.connection.with_user(self.xero_user).action_sync_accounts()
        self.assertEqual(len(self.sandbox.calls), calls)

    def test_payroll_officer_cannot_disconnect(self):
        officer = new_test_user(self.env, login="xero_officer_dc", groups="payroll.group_payroll_user")
        with self.assertRaises(AccessError):
            self.connection.with_user(officer).action_disconnect()
        self.assertTrue(self._refresh_token())

    def test_manager_of_another_company_cannot_disconnect_this_one(self):
        _company_b, manager_b = self._xero_user_elsewhere(
            "xero_manager_b", "base.group_user,hr_payroll_xero.group_xero_manager", {"name": "Other Co"}
        )
        refresh_token = self._refresh_token()
        with self.assertRaises(AccessError):
            self.connection.with_user(manager_b).action_disconnect()
        self.assertEqual(self._refresh_token(), refresh_token)

    def test_xero_manager_disconnects(self):
        manager = new_test_user(
            self.env, login="xero_manager_dc", groups="base.group_user,hr_payroll_xero.group_xero_manager"
        )
        self.connection.with_user(manager).action_disconnect()
        self.assertEqual(self.connection.state, "draft")
        self.assertFalse(self.connection.sudo().token_ids)


@tagged("post_install", "-at_install")
class TestPkce(XeroCase):
    def _consent(self):
        action = self.connection.action_connect()
        query = parse_qs(urlsplit(action["url"]).query)
        redirect = self.sandbox.approve(action["url"], tenant_ids=[self.DEMO_TENANT_ID])
        callback = {key: values[0] for key, values in parse_qs(urlsplit(redirect).query).items()}
        return query, callback

    def test_connect_sends_an_s256_challenge_and_keeps_the_verifier_on_the_server(self):
        query, _callback = self._consent()
        verifier = self.connection.sudo().oauth_code_verifier
        self.assertTrue(verifier)
        self.assertEqual(query["code_challenge_method"], ["S256"])
        self.assertEqual(query["code_challenge"], [oauth.pkce_challenge(verifier)])
        self.assertNotIn(verifier, str(query))
        manager = new_test_user(
            self.env, login="xero_manager_pkce", groups="base.group_user,hr_payroll_xero.group_xero_manager"
        )
        with self.assertRaises(AccessError):
            self.connection.with_user(manager).read(["oauth_code_verifier"])

    def test_code_without_the_verifier_is_refused_and_the_connect_flow_completes_with_it(self):
        _query, callback = self._consent()
        with self.assertRaisesRegex(XeroError, "invalid_grant|code_verifier"):
            oauth.exchange_code(
                self.connection.client_id,
                self.connection.sudo().client_secret,
                callback["code"],
                self.connection.redirect_uri,
                endpoints=self.connection._xero_endpoints(),
            )
        self.assertEqual(self.env["xero.connection"]._xero_check_state(callback["state"]), self.connection)
        old_refresh_token = self.connection.sudo().token_ids.refresh_token
        self.connection._xero_complete_consent(callback["code"])
        self.assertEqual(self.connection.state, "connected")
        self.assertNotEqual(self.connection.sudo().token_ids.refresh_token, old_refresh_token)
        self.assertFalse(self.connection.sudo().oauth_code_verifier, "a verifier is used once")

    def test_code_with_another_verifier_is_refused(self):
        _query, callback = self._consent()
        self.connection.sudo().oauth_code_verifier = oauth.new_pkce()[0]
        with self.assertRaises(XeroError):
            self.connection._xero_complete_consent(callback["code"])


@tagged("post_install", "-at_install")
class TestRefreshAfter401IsLocked(XeroCase):
    def _stored(self):
        row = self.connection.sudo().token_ids
        return row.access_token, row.refresh_token

    def test_access_token_refused_by_xero_is_refreshed_once_under_the_row_lock(self):
        before = self._stored()
        self.sandbox.expire_access_tokens()  # Xero answers 401 to the next call; the stored expiry is later
        Connection = type(self.connection)
        try_lock = Connection._xero_try_lock
        locks = []

        def counting_lock(connection):
            locks.append(connection.id)
            return try_lock(connection)

        with (
            patch.object(Connection, "_xero_try_lock", counting_lock),
            patch("payroll_xero.oauth.refresh", wraps=oauth.refresh) as refresh,
        ):
            self.connection._xero_sync_accounts()
        self.assertEqual(locks, [self.connection.id], "the refresh took the token row lock")
        self.assertEqual(refresh.call_count, 1, "rotated exactly once")
        after = self._stored()
        self.assertNotEqual(after[0], before[0])
        self.assertNotEqual(after[1], before[1])
        self.assertEqual(self.connection.state, "connected")

    def test_token_rotated_by_another_worker_is_used_without_a_second_refresh(self):
        stale = self.connection._xero_token()
        rotated = self.connection._xero_token(force=True)  # another worker, after the same 401
        self.assertNotEqual(rotated.access_token, stale.access_token)
        with patch("payroll_xero.oauth.refresh") as refresh:
            token = self.connection._xero_token(force=True, stale=stale)
        refresh.assert_not_called()
        self.assertEqual(token.access_token, rotated.access_token)
        self.assertEqual(self._stored()[0], rotated.access_token)
