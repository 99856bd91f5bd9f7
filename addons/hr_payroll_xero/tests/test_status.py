# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from decimal import Decimal

from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import XeroPayrollCase

STATUS_LOGGER = "odoo.addons.hr_payroll_xero.models.xero_bill_record_status"


@tagged("post_install", "-at_install")
class TestStatusFromXero(XeroPayrollCase):
    """Statuses read back from Xero (the sandbox plays the person who approves, pays, voids or edits)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.net_type, cls.mpf_type = cls._xero_make_types()
        cls.net_type.active = False  # one MPF bill of 9,525.10
        cls.manager = new_test_user(
            cls.env,
            login="xero_status_manager",
            groups="base.group_user,hr_payroll_xero.group_xero_manager",
            company_id=cls.company.id,
            company_ids=[(6, 0, cls.company.ids)],
        )

    def _sent(self, status="DRAFT"):
        self.mpf_type.bill_status = status
        record = self.batch._xero_generate_bills()
        self.assertEqual(record.state, "sent", record.last_error)
        return record

    def _activities(self, record):
        return self.env["mail.activity"].search(
            [("res_model", "=", record._name), ("res_id", "=", record.id)]
        )

    def test_unchanged_bill_is_checked_and_not_flagged(self):
        record = self._sent()
        record.action_xero_refresh()
        self.assertEqual(record.xero_status, "DRAFT")
        self.assertTrue(record.xero_checked_at)
        self.assertFalse(record.xero_changed)
        self.assertEqual(record.xero_amount_due, 9525.10)
        self.assertFalse(self._activities(record))

    def test_paid_bill_shows_amounts_date_and_the_batch_is_all_paid(self):
        record = self._sent("AUTHORISED")
        self.assertFalse(self.batch.xero_all_paid)
        self.sandbox.pay_invoice(self.DEMO_TENANT_ID, record.xero_id, "9525.10")
        self.batch.action_xero_refresh_status()
        self.assertEqual(record.xero_status, "PAID")
        self.assertEqual(record.xero_amount_paid, 9525.10)
        self.assertEqual(record.xero_amount_due, 0.0)
        self.assertTrue(record.xero_fully_paid_on)
        self.assertTrue(self.batch.xero_all_paid)
        self.assertEqual(self.batch.xero_paid_count, 1)
        Record = self.env["xero.bill.record"]
        self.assertIn(record, Record.search([("xero_status", "=", "PAID")]))

    def test_voided_and_deleted_bills_are_not_drift(self):
        record = self._sent("AUTHORISED")
        self.sandbox.void_invoice(self.DEMO_TENANT_ID, record.xero_id)
        record.action_xero_refresh()
        self.assertEqual(record.xero_status, "VOIDED")
        self.assertFalse(record.xero_changed)

    def test_deleted_bill(self):
        record = self._sent()
        self.sandbox.delete_invoice(self.DEMO_TENANT_ID, record.xero_id)
        record.action_xero_refresh()
        self.assertEqual(record.xero_status, "DELETED")
        self.assertFalse(self.batch.xero_all_paid)

    def test_bill_edited_in_xero_is_flagged_with_the_difference_and_an_activity_once(self):
        record = self._sent()
        self.sandbox.edit_invoice(self.DEMO_TENANT_ID, record.xero_id, line=0, account_code="477")
        action = record.action_xero_refresh()
        self.assertIn("1 changed in Xero", action["params"]["message"])
        self.assertTrue(record.xero_changed)
        self.assertIn('"477" in Xero', record.xero_changes)
        activities = self._activities(record)
        self.assertIn(self.manager, activities.user_id)
        self.assertIn("changed in Xero", record.message_ids[0].body)
        self.assertIn(record, self.env["xero.bill.record"].search([("xero_changed", "=", True)]))
        record.action_xero_refresh()  # still changed: no second activity
        self.assertEqual(self._activities(record), activities)

    def test_regenerating_never_overwrites_a_bill_edited_in_xero(self):
        record = self._sent()
        self.sandbox.edit_invoice(self.DEMO_TENANT_ID, record.xero_id, line=0, unit_amount="100.00")
        record.action_xero_refresh()
        self.mpf_type.line_ids.filtered(lambda line: line.salary_rule_id == self.rule_mpf_ee).unlink()
        self.batch._xero_generate_bills()
        self.assertIn("changed in Xero", record.sync_note)
        self.assertFalse(record.pending_update)
        [invoice] = self.sandbox.invoices(self.DEMO_TENANT_ID)
        self.assertEqual(invoice["LineItems"][0]["UnitAmount"], Decimal("100.00"))

    def test_regenerating_never_overwrites_an_edit_in_xero_not_read_back_yet(self):
        record = self._sent()
        # sent an hour ago, edited in Xero now, and nobody has refreshed since
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE xero_bill_record SET sent_at = sent_at - interval '1 hour' WHERE id = %s", [record.id]
        )
        record.invalidate_recordset(["sent_at"])
        self.sandbox.edit_invoice(
            self.DEMO_TENANT_ID, record.xero_id, line=0, description="Edited by finance"
        )
        self.mpf_type.line_ids.filtered(lambda line: line.salary_rule_id == self.rule_mpf_ee).unlink()
        self.batch._xero_generate_bills()
        self.assertIn("after it was sent", record.sync_note)
        [invoice] = self.sandbox.invoices(self.DEMO_TENANT_ID)
        self.assertEqual(invoice["LineItems"][0]["Description"], "Edited by finance")
        self.assertEqual(invoice["Total"], Decimal("9525.10"))

    def test_nightly_cron_reads_what_changed_and_resumes_after_a_429(self):
        record = self._sent("AUTHORISED")
        self.sandbox.pay_invoice(self.DEMO_TENANT_ID, record.xero_id, "1000.00")
        # The bills' page is refused for an hour: the credit notes' page is saved, nothing else is lost.
        self.sandbox.faults.rate_limit_next(1, retry_after=3600, problem="day", path="Invoices")
        with mute_logger(STATUS_LOGGER, "payroll_xero.client"):
            self.env["xero.bill.record"]._cron_xero_refresh_status()
        self.assertFalse(record.xero_checked_at)  # the bill's page was not read
        self.assertEqual(record.xero_amount_paid, 0.0)
        watermark = self.connection.xero_checked_until
        self.assertTrue(watermark)
        self.assertLessEqual(watermark, record.sent_at)
        # The next night resumes and completes.
        self.env["xero.bill.record"]._cron_xero_refresh_status()
        self.assertEqual(record.xero_status, "AUTHORISED")
        self.assertEqual(record.xero_amount_paid, 1000.0)
        self.assertEqual(record.xero_amount_due, 8525.10)
        self.assertGreaterEqual(self.connection.xero_checked_until, watermark)

    def test_refresh_is_for_xero_users(self):
        record = self._sent()
        nobody = new_test_user(self.env, login="xero_status_nobody", groups="base.group_user")
        with self.assertRaises(Exception):
            record.with_user(nobody).action_xero_refresh()
