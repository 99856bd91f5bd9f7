# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What only the module's flows set on a connection (state, organisation, tokens, consent under way): refused
to a direct write by anyone, system administrators included, while the flows keep setting them."""

from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import JsonRpcException
from odoo.tools import mute_logger

from .common import XeroCase, XeroSandboxMixin


@tagged("post_install", "-at_install")
class TestConnectionFieldsOnlyTheFlowsSet(XeroCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env, login="xero_manager_rpc", groups="base.group_user,hr_payroll_xero.group_xero_manager"
        )
        cls.admin = new_test_user(
            cls.env, login="xero_admin_rpc", groups="base.group_system,hr_payroll_xero.group_xero_manager"
        )

    def _token_row(self):
        return self.connection.sudo().token_ids

    def _assert_write_refused(self, user, vals, field_name):
        before = (self.connection.state, self.connection.tenant_id, self._token_row().refresh_token)
        with self.assertRaisesRegex(AccessError, rf"\({field_name}\) cannot be written directly"):
            self.connection.with_user(user).write(vals)
        self.connection.invalidate_recordset()
        self.assertEqual(
            (self.connection.state, self.connection.tenant_id, self._token_row().refresh_token), before
        )

    def test_a_xero_manager_cannot_write_the_state_or_the_organisation(self):
        self._assert_write_refused(self.manager, {"tenant_id": self.SECOND_TENANT_ID}, "tenant_id")
        self._assert_write_refused(self.manager, {"state": "draft"}, "state")
        self._assert_write_refused(
            self.manager, {"name": "Renamed", "tenant_name": "Other Ltd"}, "tenant_name"
        )
        self.assertEqual(
            self.connection.name, f"Xero {self.company.name}", "nothing of a refused write is kept"
        )

    def test_a_system_administrator_cannot_write_them_either(self):
        token = self._token_row()
        self._assert_write_refused(self.admin, {"tenant_id": self.SECOND_TENANT_ID}, "tenant_id")
        self._assert_write_refused(self.admin, {"state": "connected"}, "state")
        self._assert_write_refused(
            self.admin, {"token_ids": [(1, token.id, {"refresh_token": "forged"})]}, "token_ids"
        )
        self._assert_write_refused(
            self.admin,
            {"pending_tenants": [{"id": self.SECOND_TENANT_ID, "name": "Forged"}]},
            "pending_tenants",
        )
        self._assert_write_refused(self.admin, {"oauth_nonce": "forged"}, "oauth_nonce")
        Token = self.env["xero.connection.token"].with_user(self.admin)
        with self.assertRaisesRegex(AccessError, r"Xero tokens cannot be written directly \(refresh_token\)"):
            Token.browse(token.id).write({"refresh_token": "forged"})
        with self.assertRaisesRegex(AccessError, "Xero tokens cannot be written directly"):
            Token.create({"connection_id": self.connection.id, "access_token": "forged"})
        self.assertNotEqual(self._token_row().refresh_token, "forged")

    def test_a_connection_cannot_be_created_already_connected(self):
        company = self.env["res.company"].create({"name": "Forged Ltd"})
        self.admin.company_ids |= company
        Connection = self.env["xero.connection"].with_user(self.admin).with_company(company)
        with self.assertRaisesRegex(
            AccessError, r"State \(state\), Organisation ID \(tenant_id\) cannot be written"
        ):
            Connection.create(
                {
                    "name": "Forged",
                    "company_id": company.id,
                    "tenant_id": self.DEMO_TENANT_ID,
                    "state": "connected",
                }
            )
        created = Connection.create({"name": "Plain", "company_id": company.id, "client_id": "app"})
        self.assertEqual((created.state, created.tenant_id), ("draft", False))

    def test_a_manager_still_connects_chooses_the_organisation_synchronizes_and_disconnects(self):
        connection = self.connection.with_user(self.manager)
        connection.action_disconnect()
        self.assertEqual((connection.state, connection.tenant_id), ("draft", False))
        self.assertFalse(self._token_row())
        query = self._xero_consent(
            self.connection, [self.DEMO_TENANT_ID, self.SECOND_TENANT_ID], user=self.manager
        )
        checked = self.env["xero.connection"].with_user(self.manager)._xero_check_state(query["state"])
        self.assertEqual(checked, connection)
        checked._xero_complete_consent(query["code"])
        self.assertTrue(connection.has_pending_tenants)
        self.assertTrue(self._token_row().refresh_token)
        wizard = (
            self.env["xero.tenant.select"]
            .with_user(self.manager)
            .browse(connection.action_choose_tenant()["res_id"])
        )
        wizard.line_id = wizard.line_ids.filtered(lambda line: line.tenant_id == self.SECOND_TENANT_ID)
        wizard.action_confirm()
        self.assertEqual((connection.state, connection.tenant_id), ("connected", self.SECOND_TENANT_ID))
        self.connection.sudo().last_error = "old"
        connection.action_sync_accounts()
        self.assertEqual((connection.state, connection.last_error), ("connected", False))
        self.assertGreater(connection.last_sync, fields.Datetime.now() - timedelta(minutes=1))
        connection.action_disconnect()
        self.assertEqual((connection.state, connection.tenant_id), ("draft", False))
        self.assertFalse(self._token_row())


@tagged("post_install", "-at_install")
class TestConnectionFieldsOverRpc(XeroSandboxMixin, HttpCase):
    """The same refusal through the web client's JSON-RPC, as the administrator logged in a browser."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._xero_setup_sandbox()
        cls.connection = cls._xero_new_connection(cls.env.company)

    def _call_kw(self, method, args):
        return self.make_jsonrpc_request(
            f"/web/dataset/call_kw/xero.connection/{method}",
            {"model": "xero.connection", "method": method, "args": args, "kwargs": {}},
        )

    def test_the_administrator_cannot_connect_a_connection_by_writing_it(self):
        self.authenticate("admin", "admin")
        with mute_logger("odoo.http"), self.assertRaisesRegex(JsonRpcException, "AccessError"):
            self._call_kw("write", [[self.connection.id], {"state": "connected", "tenant_id": "forged"}])
        self.connection.invalidate_recordset()
        self.assertEqual((self.connection.state, self.connection.tenant_id), ("draft", False))
        self._call_kw(
            "write", [[self.connection.id], {"name": "Renamed over RPC"}]
        )  # other fields: as before
        self.connection.invalidate_recordset()
        self.assertEqual(self.connection.name, "Renamed over RPC")
