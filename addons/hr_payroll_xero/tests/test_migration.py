# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The 1.1.0 migration: records made before payloads were signed do not block a retry (issue 20, item 6)."""

import importlib.util
import os

from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import XeroPayrollCase

SCRIPT = os.path.join(os.path.dirname(__file__), os.pardir, "migrations", "1.1.0", "post-migrate.py")
MIGRATION_LOGGER = "post-migrate"


def _migration():
    """The script as Odoo's MigrationManager loads it (``load_script``: a module named after the file)."""
    spec = importlib.util.spec_from_file_location("post-migrate", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@tagged("post_install", "-at_install")
class TestMigration(XeroPayrollCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.net_type, cls.mpf_type = cls._xero_make_types()
        cls.net_type.active = False

    def _as_before_signatures(self, records):
        """What a version before payload signatures left: the same payload and hash, no signature."""
        records.flush_recordset()
        self.env.cr.execute(
            "UPDATE xero_bill_record SET payload_signature = NULL WHERE id IN %s", [tuple(records.ids)]
        )
        records.invalidate_recordset(["payload_signature"])
        self.assertFalse(any(record._xero_payload_intact() for record in records))

    def _migrate(self, version="18.0.1.0.0"):
        with mute_logger(MIGRATION_LOGGER):
            _migration().migrate(self.env.cr, version)

    def test_never_sent_record_is_signed_and_its_retry_sends_it(self):
        record = self.batch._xero_generate_bills(push=False)
        self._as_before_signatures(record)
        record.action_push()  # what an old record meets today: refused as changed outside Odoo
        self.assertEqual(record.state, "failed")
        self.assertIn("changed outside Odoo", record.last_error)
        self._migrate()
        self.assertTrue(record._xero_payload_intact())
        self.assertEqual(record.payload_signed_at_upgrade, "resigned")
        record.action_retry()
        self.assertEqual(record.state, "sent", record.last_error)
        self.assertEqual(len(self.sandbox.invoices(self.DEMO_TENANT_ID)), 1)

    def test_sent_record_is_marked_checked_and_its_update_goes_through(self):
        record = self.batch._xero_generate_bills()
        self.assertEqual(record.state, "sent")
        # the batch changes and the update of the draft in Xero fails (Xero unavailable): a retry is due
        self.mpf_type.line_ids.filtered(lambda line: line.salary_rule_id == self.rule_mpf_ee).unlink()
        self.sandbox.faults.fail_next(3, status=503, path="/Invoices/", method="POST")
        with mute_logger("payroll_xero.client", "odoo.addons.hr_payroll_xero.models.xero_bill_record_push"):
            self.batch._xero_generate_bills()
        self.assertEqual(record.state, "failed")
        self.assertTrue(record.pending_update)
        self._as_before_signatures(record)
        self._migrate()
        self.assertEqual(record.payload_signed_at_upgrade, "checked")
        record.action_retry()
        self.assertEqual(record.state, "sent", record.last_error)
        [invoice] = self.sandbox.invoices(self.DEMO_TENANT_ID)
        self.assertEqual(str(invoice["Total"]), f"{record.total:.2f}")
        # generating again: nothing to change, and the record is as any other
        self.batch._xero_generate_bills()
        self.assertEqual(record.state, "sent")

    def test_payload_changed_before_the_upgrade_stays_refused(self):
        record = self.batch._xero_generate_bills(push=False)
        self._as_before_signatures(record)
        self.env.cr.execute(
            "UPDATE xero_bill_record SET payload = replace(payload, 'HSBC', 'HACK') WHERE id = %s",
            [record.id],
        )
        record.invalidate_recordset(["payload"])
        self._migrate()
        self.assertFalse(record.payload_signed_at_upgrade)
        self.assertFalse(record._xero_payload_intact())
        record.action_push()
        self.assertEqual(record.state, "failed")
        self.assertIn("changed outside Odoo", record.last_error)
        self.assertEqual(self.sandbox.invoices(self.DEMO_TENANT_ID), [])

    def test_a_new_install_and_signed_records_are_left_as_they_are(self):
        record = self.batch._xero_generate_bills(push=False)
        signature = record.payload_signature
        self._migrate(version=None)  # Odoo passes no version on a new install: nothing to do
        self._migrate()
        self.assertEqual(record.payload_signature, signature)
        self.assertFalse(record.payload_signed_at_upgrade)
