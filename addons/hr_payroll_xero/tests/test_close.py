# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Closing a batch generates its Xero bills when the company says so (issue 20, item 2)."""

from odoo.tests import new_test_user, tagged

from ..models.compat import group_users
from .common import XeroPayrollCase


@tagged("post_install", "-at_install")
class TestCloseGenerates(XeroPayrollCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.net_type, cls.mpf_type = cls._xero_make_types()  # every pay item mapped or ignored
        cls.manager = new_test_user(
            cls.env,
            login="xero_close_manager",
            groups="base.group_user,hr_payroll_xero.group_xero_manager",
            company_id=cls.company.id,
            company_ids=[(6, 0, cls.company.ids)],
        )
        cls.elsewhere, cls.other_manager = cls._xero_user_elsewhere(
            cls,
            "xero_close_other_manager",
            "base.group_user,hr_payroll_xero.group_xero_manager",
            {"name": "Kowloon Trading Ltd", "currency_id": cls.company.currency_id.id},
        )

    def _open_batch(self, name="November 2026"):
        return self._xero_make_batch(self.employees, overtime=self.alice, name=name, close=False)

    def _activities(self, batch):
        return self.env["mail.activity"].search(
            [("res_model", "=", "hr.payslip.run"), ("res_id", "=", batch.id)]
        )

    def test_setting_off_closing_generates_nothing(self):
        self.assertFalse(self.company.xero_generate_on_close)
        batch = self._open_batch()
        batch.close_payslip_run()
        self.assertEqual(batch.state, "close")
        self.assertFalse(batch.xero_record_ids)
        self.assertFalse(batch.xero_close_problems)
        self.assertFalse([c for c in self.sandbox.calls if "/api.xro/" in c[1]])

    def test_setting_on_closing_generates_and_sends_the_bills_as_the_button_does(self):
        settings = self.env["res.config.settings"].create({"xero_generate_on_close": True})
        settings.execute()
        self.assertTrue(self.company.xero_generate_on_close)
        batch = self._open_batch()
        batch.close_payslip_run()
        self.assertEqual(batch.state, "close")
        records = batch.xero_record_ids
        self.assertEqual(len(records), 5)  # four net salaries and the MPF
        self.assertEqual(set(records.mapped("state")), {"sent"}, records.mapped("last_error"))
        self.assertEqual(len(self.sandbox.invoices(self.DEMO_TENANT_ID)), 5)
        self.assertFalse(batch.xero_close_problems)
        self.assertFalse(self._activities(batch))
        # what the button makes of the same batch: nothing new
        self.assertEqual(batch._xero_generate_bills(), records)
        self.assertEqual(len(self.sandbox.invoices(self.DEMO_TENANT_ID)), 5)

    def test_setting_on_with_an_unmapped_pay_item_closes_the_batch_and_tells_each_xero_manager(self):
        self.company.xero_generate_on_close = True
        self.net_type.active = False  # basic salary, allowances, overtime and loan: mapped by no type
        batch = self._open_batch()
        batch.close_payslip_run()
        self.assertEqual(batch.state, "close")
        self.assertEqual(batch.xero_record_ids.mapped("type_id"), self.mpf_type)  # what is mapped goes
        self.assertIn('Pay item "Basic Salary"', batch.xero_close_problems)
        self.assertIn("is not mapped to a Xero account", batch.xero_close_problems)
        self.assertIn("not mapped", batch.message_ids[0].body)
        managers = group_users(self.env.ref("hr_payroll_xero.group_xero_manager")).filtered(
            lambda user: self.company in user.company_ids
        )
        self.assertIn(self.manager, managers)
        self.assertNotIn(self.other_manager, managers)
        activities = self._activities(batch)
        self.assertEqual(sorted(activities.user_id.ids), sorted(managers.ids))  # one per Xero manager
        self.assertEqual(len(activities), len(managers))
        self.assertIn("Basic Salary", str(activities[0].note))

    def test_setting_on_with_nothing_to_send_still_closes_the_batch_and_says_why(self):
        self.company.xero_generate_on_close = True
        (self.net_type | self.mpf_type).active = False
        batch = self._open_batch()
        batch.close_payslip_run()
        self.assertEqual(batch.state, "close")
        self.assertFalse(batch.xero_record_ids)
        self.assertIn("has no mapping type", batch.xero_close_problems)
        self.assertIn("were not generated", batch.message_ids[0].body)
        self.assertTrue(self._activities(batch).filtered(lambda a: a.user_id == self.manager))
