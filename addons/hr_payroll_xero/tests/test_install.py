# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What the module's data sets up on either series (18.0 and 19.0), through models/compat.py."""

from odoo.tests import TransactionCase, new_test_user, tagged

from ..models.compat import group_category, group_users, groups_field


@tagged("post_install", "-at_install")
class TestInstall(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.category = cls.env.ref("hr_payroll_xero.module_category_payroll_xero")
        cls.group_user = cls.env.ref("hr_payroll_xero.group_xero_user")
        cls.group_manager = cls.env.ref("hr_payroll_xero.group_xero_manager")
        cls.action = cls.env.ref("hr_payroll_xero.hr_payslip_run_action_xero_generate")

    def test_the_xero_groups_are_shown_under_the_module_category(self):
        self.assertEqual(group_category(self.group_user), self.category)
        self.assertEqual(group_category(self.group_manager), self.category)
        self.assertIn(self.group_user, self.group_manager.implied_ids)

    def test_payroll_officers_are_xero_users_and_payroll_managers_xero_managers(self):
        officer = new_test_user(self.env, "xero_officer", groups="base.group_user,payroll.group_payroll_user")
        manager = new_test_user(
            self.env, "xero_manager", groups="base.group_user,payroll.group_payroll_manager"
        )
        self.assertIn(officer, group_users(self.group_user))
        self.assertNotIn(officer, group_users(self.group_manager))
        self.assertIn(manager, group_users(self.group_manager))

    def test_the_batch_list_action_is_offered_to_xero_users_only(self):
        self.assertEqual(self.action[groups_field(self.action)], self.group_user)
        officer = new_test_user(self.env, "xero_officer", groups="base.group_user,payroll.group_payroll_user")
        employee = new_test_user(self.env, "plain_employee", groups="base.group_user")

        def bound(user):
            bindings = self.env["ir.actions.actions"].with_user(user).get_bindings("hr.payslip.run")
            return [action["id"] for action in bindings.get("action", [])]

        self.assertIn(self.action.id, bound(officer))
        self.assertNotIn(self.action.id, bound(employee))

    def test_updating_the_module_data_keeps_one_privilege_or_category(self):
        # the data function runs on every update: running it again changes nothing
        self.env["xero.compat"]._xero_setup_access()
        self.assertEqual(group_category(self.group_user), self.category)
        self.assertEqual(self.action[groups_field(self.action)], self.group_user)
        if "res.groups.privilege" in self.env:
            privileges = self.env["res.groups.privilege"].search([("category_id", "=", self.category.id)])
            self.assertEqual(len(privileges), 1)

    def test_the_demo_batch_makes_its_bills_and_a_manual_journal(self):
        batch = self.env.ref("hr_payroll_xero.payslip_run_harbour", raise_if_not_found=False)
        if not batch:
            self.skipTest("the database has no demo data")
        journal_type = self.env.ref("hr_payroll_xero.mapping_type_mpf_accrual")
        self.assertEqual((journal_type.document, journal_type.journal_status), ("journal", "DRAFT"))
        prep = batch._xero_prepare()
        self.assertFalse(prep.errors)
        journals = [doc for doc in prep.bills if doc.doc_type == "MANUALJOURNAL"]
        self.assertEqual(len(journals), 1)
        self.assertGreater(len(prep.bills), 1)  # the bills too
        self.assertTrue(journals[0].narration.startswith(f"{batch.name} - MPF accrual ["))
        self.assertEqual(journals[0].debits, journals[0].credits)
