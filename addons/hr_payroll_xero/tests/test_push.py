# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import dataclasses
import json
from datetime import timedelta
from decimal import Decimal
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from payroll_xero.bills import content_digest

from ..models.xero_bill_record_push import XeroBillRecordPush
from .common import XeroPayrollCase

RECORD_LOGGER = "odoo.addons.hr_payroll_xero.models.xero_bill_record_sync"


@tagged("post_install", "-at_install")
class TestPush(XeroPayrollCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.net_type, cls.mpf_type = cls._xero_make_types()
        cls.net_type.active = False  # most tests look at the one MPF bill

    def _invoices(self):
        return self.sandbox.invoices(self.DEMO_TENANT_ID)

    def _writes(self):
        """Writes of bills and contacts (the batch summaries attached to them are test_attachment's)."""
        return [
            call
            for call in self.sandbox.calls
            if call[0] in ("PUT", "POST") and "/api.xro/" in call[1] and "/Attachments" not in call[1]
        ]

    def _cron(self):
        self.env["xero.bill.record"]._cron_push_queued()

    # ------------------------------------------------------------------ refused before sending

    def test_archived_account_is_refused_before_sending_and_names_the_account_and_the_line(self):
        self.sandbox.archive_account(self.DEMO_TENANT_ID, "478")
        self.connection._xero_sync_accounts()
        preview = self.batch._xero_prepare()
        self.assertTrue(any("478" in warning and "archived" in warning for warning in preview.warnings))
        record = self.batch._xero_generate_bills()
        self.assertEqual(record.state, "failed")
        self.assertFalse(record.retryable)
        self.assertIn("478", record.last_error)
        self.assertIn("archived", record.last_error)
        self.assertIn('"MPF Employer" of mapping type "MPF"', record.last_error)
        self.assertTrue(record.payload)  # nothing lost: what would have been sent is kept
        self.assertEqual(json.loads(record.payload_display), json.loads(record.payload))
        self.assertIn('\n  "contact": {', record.payload_display)  # shown indented
        self.assertEqual(self._invoices(), [])
        self.assertEqual(self._writes(), [])

    def test_bank_account_is_refused_before_sending_and_names_the_account_and_the_line(self):
        bank = self.accounts["090"]
        self.assertEqual((bank.account_type, bank.active), ("BANK", True))
        employer = self.mpf_type.line_ids.filtered(lambda line: line.salary_rule_id == self.rule_mpf_er)
        employer.account_id = bank
        preview = self.batch._xero_prepare()
        self.assertIn(
            'Account 090 Business Bank Account (line "MPF employer contributions" of mapping type "MPF") is a '
            "BANK account in Xero, which cannot take bill lines",
            " ".join(preview.warnings),
        )
        record = self.batch._xero_generate_bills()
        self.assertEqual(record.state, "failed")
        self.assertFalse(record.retryable)
        self.assertIn("090 Business Bank Account", record.last_error)
        self.assertIn('"MPF Employer" of mapping type "MPF"', record.last_error)
        self.assertEqual(self._invoices(), [])
        self.assertEqual(self._writes(), [])

    def test_currency_not_enabled_in_the_organisation_is_refused_with_the_allowed_ones(self):
        self.company.xero_currency_code = "USD"
        self.sandbox.set_currencies(self.DEMO_TENANT_ID, [])  # HKD (base) only
        self.connection._xero_sync_accounts()
        record = self.batch._xero_generate_bills()
        self.assertEqual(record.state, "failed")
        self.assertIn("not subscribed to USD", record.last_error)
        self.assertIn("HKD", record.last_error)
        self.assertEqual(self._invoices(), [])

    def test_company_without_connection_keeps_the_bill_with_a_reason(self):
        self.connection.action_disconnect()
        record = self.batch._xero_generate_bills()
        self.assertEqual(record.state, "failed")
        self.assertIn("no connected Xero organisation", record.last_error)
        self.assertEqual(self._invoices(), [])

    # ------------------------------------------------------------------ regenerating

    def test_generating_twice_gives_one_bill(self):
        first = self.batch._xero_generate_bills()
        second = self.batch._xero_generate_bills()
        self.assertEqual(first, second)
        self.assertEqual(len(self._invoices()), 1)
        self.assertEqual(self.batch.xero_record_count, 1)

    def test_regenerating_an_unchanged_batch_sends_nothing(self):
        record = self.batch._xero_generate_bills()
        writes = len(self._writes())
        calls = len(self.sandbox.calls)
        self.batch._xero_generate_bills()
        self.assertEqual(len(self.sandbox.calls), calls)
        self.assertEqual(len(self._writes()), writes)
        self.assertEqual(record.state, "sent")

    def test_regenerating_a_changed_draft_bill_updates_it_in_place(self):
        record = self.batch._xero_generate_bills()
        old_hash = record.content_hash
        self.mpf_type.line_ids.filtered(lambda line: line.salary_rule_id == self.rule_mpf_ee).unlink()
        self.batch._xero_generate_bills()
        self.assertEqual(record.state, "sent", record.last_error)
        self.assertNotEqual(record.content_hash, old_hash)
        self.assertFalse(record.pending_update)
        [invoice] = self._invoices()
        self.assertEqual(invoice["InvoiceID"], record.xero_id)
        self.assertEqual(invoice["Total"], Decimal("4762.55"))

    def test_regenerating_a_changed_approved_bill_leaves_it_and_says_so(self):
        self.mpf_type.bill_status = "AUTHORISED"
        record = self.batch._xero_generate_bills()
        self.assertEqual(record.xero_status, "AUTHORISED")
        payload = record.payload
        self.mpf_type.line_ids.filtered(lambda line: line.salary_rule_id == self.rule_mpf_ee).unlink()
        self.batch._xero_generate_bills()
        self.assertEqual(record.payload, payload)
        self.assertIn("Cancel it in Xero", record.sync_note)
        [invoice] = self._invoices()
        self.assertEqual(invoice["Total"], Decimal("9525.10"))
        # after cancelling it in Xero, generating again makes the new bill
        record.action_cancel_in_xero()
        self.batch._xero_generate_bills()
        self.assertEqual(record.state, "sent")
        self.assertFalse(record.sync_note)
        live = [i for i in self._invoices() if i["Status"] != "VOIDED"]
        self.assertEqual([i["Total"] for i in live], [Decimal("4762.55")])

    # ------------------------------------------------------------------ failures and the cron

    def test_rate_limited_push_waits_for_retry_after_then_the_cron_sends_it(self):
        self.sandbox.faults.rate_limit_next(1, retry_after=3600, problem="day")
        record = self.batch._xero_generate_bills()
        self.assertEqual(record.state, "failed")
        self.assertTrue(record.retryable)
        self.assertIn("rate limit", record.last_error)
        self.assertGreater(record.next_attempt_at, fields.Datetime.now() + timedelta(minutes=50))
        self._cron()  # too early: nothing happens
        self.assertEqual(record.state, "failed")
        self.assertEqual(self._invoices(), [])
        record.next_attempt_at = fields.Datetime.now() - timedelta(seconds=1)
        self._cron()
        self.assertEqual(record.state, "sent", record.last_error)
        self.assertEqual(len(self._invoices()), 1)

    def test_server_errors_leave_the_bill_retryable_and_the_cron_sends_it_once(self):
        self.sandbox.faults.fail_next(3, status=503)
        record = self.batch._xero_generate_bills()
        self.assertEqual(record.state, "failed")
        self.assertTrue(record.retryable)
        self.assertEqual(record.attempts, 1)
        record.next_attempt_at = fields.Datetime.now() - timedelta(seconds=1)
        self._cron()
        self.assertEqual(record.state, "sent", record.last_error)
        self.assertEqual(record.attempts, 2)
        self.assertEqual(len(self._invoices()), 1)
        self._cron()
        self.assertEqual(len(self._invoices()), 1)

    def test_cron_gives_up_after_five_attempts(self):
        record = self.batch._xero_generate_bills(push=False)
        record.write({"state": "failed", "retryable": True, "attempts": 4})
        self.sandbox.faults.fail_next(3, status=503)
        self._cron()
        self.assertEqual(record.attempts, 5)
        self.assertFalse(record.retryable)
        self.assertIn("Gave up after 5 attempts", record.last_error)

    def test_answer_dropped_after_xero_created_the_bill_leaves_exactly_one_bill(self):
        self.sandbox.faults.drop_after_commit_next(1, path="/Invoices", method="PUT")
        record = self.batch._xero_generate_bills()
        self.assertEqual(record.state, "sent", record.last_error)
        [invoice] = self._invoices()
        self.assertEqual(record.xero_id, invoice["InvoiceID"])

    def _push_after_lost_answer(self, record, older):
        """Create ``older`` in Xero (an earlier push whose answer was lost), push ``record``: it updates
        that bill. Returns the bill as Xero holds it then."""
        [created] = self.connection._xero_client().create_bills([older])
        self.assertTrue(created.ok)
        record._xero_push()
        self.assertEqual(record.state, "sent", record.last_error)
        self.assertEqual(record.xero_id, created.xero_id)
        self.assertFalse(record.pending_update)
        [invoice] = self._invoices()
        return invoice

    def test_bill_found_in_xero_with_an_older_content_is_updated_to_the_records(self):
        record = self.batch._xero_generate_bills(push=False)
        # An earlier push created the bill but its answer was lost; then the batch changed.
        bill = record._xero_bill()
        older = dataclasses.replace(
            bill, lines=tuple(dataclasses.replace(line, amount=line.amount + 100) for line in bill.lines)
        )
        invoice = self._push_after_lost_answer(record, older)
        self.assertEqual(invoice["Total"], bill.total)

    def test_bill_found_in_xero_with_the_same_total_but_other_lines_is_updated_to_the_records(self):
        record = self.batch._xero_generate_bills(push=False)
        bill = record._xero_bill()
        # An earlier push, with an older mapping (another account and text on a line, same amounts),
        # created the bill but its answer was lost.
        first, *rest = bill.lines
        older = dataclasses.replace(
            bill,
            lines=(dataclasses.replace(first, account_code="477", description="Wages (old mapping)"), *rest),
        )
        self.assertEqual(older.total, bill.total)
        invoice = self._push_after_lost_answer(record, older)
        self.assertEqual(
            sorted((line["AccountCode"], line["Description"]) for line in invoice["LineItems"]),
            sorted((line.account_code, line.description) for line in bill.lines),
        )
        found = record.message_ids.filtered(lambda m: "with another content" in (m.body or ""))
        self.assertTrue(found, record.message_ids.mapped("body"))

    def test_bill_found_in_xero_with_the_same_content_is_left_alone(self):
        record = self.batch._xero_generate_bills(push=False)
        [created] = self.connection._xero_client().create_bills([record._xero_bill()])
        writes = len(self._writes())
        record._xero_push()
        self.assertEqual(record.state, "sent", record.last_error)
        self.assertEqual(record.xero_id, created.xero_id)
        self.assertFalse(record.pending_update)
        self.assertEqual(len(self._writes()), writes)  # no update sent

    def _force_contact_number(self, record, number):
        """Give ``record`` a payload with ``number`` as ContactNumber, signed as Odoo's own."""
        content = json.loads(record.payload)
        content["contact"]["number"] = number
        payload = json.dumps(content, sort_keys=True, separators=(",", ":"))
        record.sudo().write(
            {
                "payload": payload,
                "content_hash": content_digest(payload),
                "payload_signature": record._xero_payload_signature(record.id, payload),
            }
        )

    def test_cron_fails_a_bill_over_xero_limits_alone_and_sends_the_others(self):
        self.net_type.active = True
        records = self.batch._xero_generate_bills(push=False)
        records.sudo().write({"state": "queued"})
        alice = records.filtered(lambda r: r.employee_id == self.alice)
        self._force_contact_number(alice, "X" * 60)  # Xero takes 50 characters at most
        self._cron()
        self.assertEqual(alice.state, "failed")
        self.assertFalse(alice.retryable)
        self.assertTrue(alice.last_error)
        others = records - alice
        self.assertEqual(set(others.mapped("state")), {"sent"}, others.mapped("last_error"))
        self.assertEqual(len(self._invoices()), 4)
        calls = len(self.sandbox.calls)
        self._cron()  # not retried: it waits for a person
        self.assertEqual(len(self.sandbox.calls), calls)
        self.assertEqual(alice.state, "failed")

    def test_cron_goes_on_with_the_other_connections_when_one_stops_on_an_unexpected_error(self):
        self.net_type.active = True
        records = self.batch._xero_generate_bills(push=False).sorted("id")
        records.sudo().write({"state": "queued"})
        broken = records[0]
        broken.sudo().connection_id = False  # its own group, processed first
        original = XeroBillRecordPush._xero_local_problems

        def crash_without_connection(self_):
            if self_.filtered(lambda r: not r.connection_id):
                raise RuntimeError("database hiccup")
            return original(self_)

        with (
            patch.object(XeroBillRecordPush, "_xero_local_problems", crash_without_connection),
            mute_logger(RECORD_LOGGER),
        ):
            self._cron()
        self.assertEqual(broken.state, "failed")
        self.assertTrue(broken.retryable)
        self.assertEqual(broken.attempts, 1)
        self.assertIn("unexpected error", broken.last_error)
        self.assertEqual(set((records - broken).mapped("state")), {"sent"})
        self.assertEqual(len(self._invoices()), 4)

    def test_one_create_call_for_all_bills_of_a_connection(self):
        self.net_type.active = True
        records = self.batch._xero_generate_bills()
        self.assertEqual(len(records), 5)
        creations = [
            call
            for call in self.sandbox.calls
            if call[0] == "PUT" and "/Invoices" in call[1] and "/Attachments" not in call[1]
        ]
        self.assertEqual(len(creations), 1)

    def test_link_opens_the_bill_or_credit_note_in_xero(self):
        record = self.batch._xero_generate_bills()
        self.assertTrue(record.xero_url.startswith(self.sandbox.url))
        self.env["ir.config_parameter"].sudo().set_param("hr_payroll_xero.api_url", "https://api.xero.com")
        record.invalidate_recordset(["xero_url"])
        self.assertEqual(
            record.xero_url, f"https://go.xero.com/AccountsPayable/View.aspx?InvoiceID={record.xero_id}"
        )
        record.doc_type = "ACCPAYCREDIT"
        self.assertEqual(
            record.xero_url,
            f"https://go.xero.com/AccountsPayable/ViewCreditNote.aspx?creditNoteID={record.xero_id}",
        )

    # ------------------------------------------------------------------ cancel

    def test_cancelling_a_draft_bill_deletes_it_in_xero(self):
        record = self.batch._xero_generate_bills()
        record.action_cancel_in_xero()
        self.assertEqual(record.state, "cancelled")
        self.assertEqual(record.xero_status, "DELETED")
        self.assertEqual([i["Status"] for i in self._invoices()], ["DELETED"])
        self.assertEqual(self.batch.xero_state, "none")

    def test_cancelling_a_bill_whose_push_answer_was_lost_finds_and_deletes_it_in_xero(self):
        record = self.batch._xero_generate_bills(push=False)
        # The push reached Xero but its answer, and the bill's id, were lost.
        [created] = self.connection._xero_client().create_bills([record._xero_bill()])
        record.write({"state": "failed", "attempts": 1, "retryable": True})
        record.action_cancel_in_xero()
        self.assertEqual(record.state, "cancelled")
        self.assertEqual(record.xero_id, created.xero_id)
        self.assertEqual([i["Status"] for i in self._invoices()], ["DELETED"])

    def test_cancelling_a_bill_never_pushed_stays_in_odoo(self):
        record = self.batch._xero_generate_bills(push=False)
        calls = len(self.sandbox.calls)
        record.action_cancel_in_xero()
        self.assertEqual(record.state, "cancelled")
        self.assertEqual(len(self.sandbox.calls), calls)

    def test_cancelling_an_approved_bill_voids_it(self):
        self.mpf_type.bill_status = "AUTHORISED"
        record = self.batch._xero_generate_bills()
        record.action_cancel_in_xero()
        self.assertEqual(record.xero_status, "VOIDED")
        self.assertEqual([i["Status"] for i in self._invoices()], ["VOIDED"])

    def test_cancelling_a_paid_bill_is_refused_with_a_clear_message(self):
        self.mpf_type.bill_status = "AUTHORISED"
        record = self.batch._xero_generate_bills()
        self.sandbox.pay_invoice(self.DEMO_TENANT_ID, record.xero_id, "9525.10")
        with self.assertRaisesRegex(UserError, "credit note"):
            record.action_cancel_in_xero()
        self.assertEqual(record.state, "sent")
        self.assertEqual([i["Status"] for i in self._invoices()], ["PAID"])

    def test_setting_the_batch_back_to_draft_proposes_to_cancel_its_bills(self):
        record = self.batch._xero_generate_bills()
        action = self.batch.draft_payslip_run()
        self.assertEqual(action["res_model"], "xero.bill.cancel")
        wizard = self.env["xero.bill.cancel"].browse(action["res_id"])
        self.assertEqual(wizard.record_ids, record)
        wizard.action_confirm()
        self.assertEqual(record.state, "cancelled")
        self.assertEqual([i["Status"] for i in self._invoices()], ["DELETED"])
