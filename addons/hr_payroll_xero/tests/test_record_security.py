# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Who may do what on bill records: read them, act through their buttons, never rewrite them."""

import dataclasses
import json
from decimal import Decimal

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from payroll_xero.bills import content_digest

from .common import XeroPayrollCase


@tagged("post_install", "-at_install")
class TestRecordSecurity(XeroPayrollCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.net_type, cls.mpf_type = cls._xero_make_types()
        cls.net_type.active = False  # the one MPF bill
        # Payroll Officer implies Xero: User; Payroll Manager implies Xero: Manager. Neither is an admin.
        cls.officer = new_test_user(
            cls.env, login="xero_officer", groups="base.group_user,payroll.group_payroll_user"
        )
        cls.manager = new_test_user(
            cls.env, login="xero_payroll_manager", groups="base.group_user,payroll.group_payroll_manager"
        )

    def _invoices(self):
        return self.sandbox.invoices(self.DEMO_TENANT_ID)

    def _sql_set(self, record, **values):
        """Change the record's row behind the ORM, as someone with database access would."""
        self.env.flush_all()
        columns = ", ".join(f"{name} = %s" for name in values)
        self.env.cr.execute(
            f"UPDATE xero_bill_record SET {columns} WHERE id = %s",  # noqa: S608 - column names of this test
            [*values.values(), record.id],
        )
        record.invalidate_recordset()

    # ------------------------------------------------------------------ no direct writes

    def test_users_and_managers_cannot_write_records_or_their_lines(self):
        self.assertFalse(self.manager.has_group("base.group_system"))
        self.assertTrue(self.officer.has_group("hr_payroll_xero.group_xero_user"))
        self.assertTrue(self.manager.has_group("hr_payroll_xero.group_xero_manager"))
        record = self.batch._xero_generate_bills(push=False)
        line = record.line_ids[0]
        for user in (self.officer, self.manager):
            as_user = record.with_user(user)
            self.assertEqual(as_user.invoice_number, record.invoice_number)  # they read it
            for vals in (
                {"payload": record.payload.replace("4762.55", "9999.99")},
                {"payload": "{}", "content_hash": content_digest("{}")},
                {"xero_id": "00000000-0000-0000-0000-000000000000"},
                {"state": "sent"},
                {"connection_id": False},
                {"contact_name": "Someone Else"},
            ):
                with self.assertRaises(AccessError, msg=f"{user.login} wrote {vals}"):
                    as_user.write(vals)
            with self.assertRaises(AccessError):
                line.with_user(user).write({"amount": 1.0, "account_code": "200"})
            with self.assertRaises(AccessError):
                self.env["xero.bill.record.line"].with_user(user).create(
                    {"record_id": record.id, "account_code": "200", "amount": 1.0}
                )
            with self.assertRaises(AccessError):
                self.env["xero.bill.record"].with_user(user).create(
                    {
                        "invoice_number": "FORGED/1",
                        "payslip_run_id": self.batch.id,
                        "company_id": self.company.id,
                        "doc_type": "ACCPAY",
                        "payload": record.payload,
                    }
                )
            # nor through the batch's one2many
            with self.assertRaises(AccessError):
                self.batch.with_user(user).write({"xero_record_ids": [(1, record.id, {"payload": "{}"})]})
            with self.assertRaises(AccessError):
                self.batch.with_user(user).write(
                    {"xero_record_ids": [(0, 0, {"invoice_number": "FORGED/2"})]}
                )
        self.env.invalidate_all()
        self.assertEqual(record.state, "draft")
        self.assertIn("4762.55", record.payload)

    def test_readers_can_log_notes_on_a_record(self):
        record = self.batch._xero_generate_bills(push=False)
        record.with_user(self.officer).message_post(body="Checked with the accountant.")
        self.assertIn("Checked with the accountant.", record.message_ids[0].body)

    def test_the_xero_contact_of_an_employee_is_set_by_the_push_only(self):
        hr_officer = new_test_user(
            self.env,
            login="xero_hr_officer",
            groups="base.group_user,hr.group_hr_user,payroll.group_payroll_user",
        )
        with self.assertRaises(AccessError):
            self.alice.with_user(hr_officer).write({"xero_contact_id": "another-contact"})
        self.alice.with_user(hr_officer).write({"xero_contact_number": "E-0042"})
        self.assertEqual(self.alice.xero_contact_number, "E-0042")

    def test_managers_delete_only_bills_that_never_reached_xero(self):
        record = self.batch._xero_generate_bills(push=False)
        with self.assertRaises(AccessError):
            record.with_user(self.officer).unlink()
        record.with_user(self.manager).unlink()
        self.assertFalse(record.exists())
        sent = self.batch._xero_generate_bills()
        self.assertEqual(sent.state, "sent", sent.last_error)
        with self.assertRaisesRegex(UserError, "cancel it in Xero"):
            sent.with_user(self.manager).unlink()
        sent.with_user(self.manager).action_cancel_in_xero()
        sent.with_user(self.manager).unlink()
        self.assertFalse(sent.exists())

    # ------------------------------------------------------------------ the flows, as the users who run them

    def test_payroll_manager_generates_from_the_batch_then_sets_it_back_to_draft_and_cancels(self):
        batch = self.batch.with_user(self.manager)
        wizard = (
            self.env["xero.bill.generate"]
            .with_user(self.manager)
            .browse(batch.action_xero_generate_bills()["res_id"])
        )
        self.assertFalse(wizard.has_errors)
        wizard.action_confirm()
        record = batch.xero_record_ids
        self.assertEqual(record.state, "sent", record.last_error)
        self.assertEqual(record.generated_by_id, self.manager)
        self.assertEqual(len(self._invoices()), 1)
        # The batch changes (another mapping): generating again updates the draft bill in Xero.
        self.mpf_type.line_ids.filtered(lambda line: line.salary_rule_id == self.rule_mpf_ee).unlink()
        batch._xero_generate_bills()
        self.assertEqual(record.state, "sent", record.last_error)
        self.assertEqual(self._invoices()[0]["Total"], Decimal("4762.55"))
        action = batch.draft_payslip_run()
        cancel = self.env["xero.bill.cancel"].with_user(self.manager).browse(action["res_id"])
        cancel.action_confirm()
        self.assertEqual(record.state, "cancelled")
        self.assertEqual([i["Status"] for i in self._invoices()], ["DELETED"])

    def test_officer_pushes_retries_and_cancels_through_the_buttons(self):
        record = self.batch._xero_generate_bills(push=False).with_user(self.officer)
        self.sandbox.faults.fail_next(3, status=503)
        record.action_push()
        self.assertEqual(record.state, "failed")
        self.assertTrue(record.retryable)
        record.action_retry()
        self.assertEqual(record.state, "sent", record.last_error)
        self.assertEqual(len(self._invoices()), 1)
        record.action_cancel_in_xero()
        self.assertEqual(record.state, "cancelled")
        self.assertEqual([i["Status"] for i in self._invoices()], ["DELETED"])

    def test_users_without_xero_rights_or_of_another_company_cannot_push_or_cancel(self):
        record = self.batch._xero_generate_bills(push=False)
        employee_only = new_test_user(self.env, login="xero_nobody", groups="base.group_user")
        _other, foreign = self._xero_user_elsewhere(
            "xero_kowloon_officer",
            "base.group_user,payroll.group_payroll_user",
            {"name": "Kowloon Trading Ltd"},
        )
        for user in (employee_only, foreign):
            with self.assertRaises(AccessError):
                record.with_user(user).action_push()
            with self.assertRaises(AccessError):
                record.with_user(user).action_cancel_in_xero()
        self.assertEqual(record.state, "draft")
        self.assertEqual(self._invoices(), [])

    # ------------------------------------------------------------------ the payload is signed

    def test_a_payload_changed_in_the_database_is_not_pushed(self):
        record = self.batch._xero_generate_bills(push=False)
        self.assertTrue(record.payload_signature)
        content = json.loads(record.payload)
        content["contact"]["name"] = "Someone Else Ltd"
        for line in content["lines"]:
            line["amount"] = "99999.00"
        forged = json.dumps(content, sort_keys=True, separators=(",", ":"))
        # Whoever changed it also recomputed the (public) content hash: only the signature tells.
        self._sql_set(record, payload=forged, content_hash=content_digest(forged))
        record.action_push()
        self.assertEqual(record.state, "failed")
        self.assertFalse(record.retryable)
        self.assertIn("changed outside Odoo: generate again", record.last_error)
        self.assertEqual(self._invoices(), [])
        self.assertEqual(self.sandbox.contacts(self.DEMO_TENANT_ID), [])
        # Generating again restores the batch's bill, which is then sent.
        self.batch._xero_generate_bills()
        self.assertEqual(record.state, "sent", record.last_error)
        [invoice] = self._invoices()
        self.assertEqual(invoice["Total"], Decimal("9525.10"))
        self.assertEqual(invoice["Contact"]["Name"], "HSBC MPF Trustee")

    def test_a_payload_copied_from_another_record_is_not_pushed(self):
        self.net_type.active = True
        records = self.batch._xero_generate_bills(push=False)
        alice, bob = (records.filtered(lambda r, e=e: r.employee_id == e) for e in (self.alice, self.bob))
        # Bob's payload and signature on Alice's record: the signature binds the payload to its record.
        self._sql_set(
            alice, payload=bob.payload, content_hash=bob.content_hash, payload_signature=bob.payload_signature
        )
        alice.action_push()
        self.assertEqual(alice.state, "failed")
        self.assertIn("changed outside Odoo", alice.last_error)
        self.assertEqual(self._invoices(), [])

    # ------------------------------------------------------------------ the Xero id is checked in Xero

    def test_a_xero_id_of_another_document_is_neither_updated_nor_cancelled(self):
        record = self.batch._xero_generate_bills()
        self.assertEqual(record.state, "sent", record.last_error)
        own_id = record.xero_id
        bill = record._xero_bill()
        [other] = self.connection._xero_client().create_bills(
            [dataclasses.replace(bill, invoice_number="SUPPLIER-INV-7781")]
        )
        self.assertTrue(other.ok)
        # The record now points at the other document and has a change to send.
        self._sql_set(record, xero_id=other.xero_id)
        self.mpf_type.line_ids.filtered(lambda line: line.salary_rule_id == self.rule_mpf_ee).unlink()
        self.batch._xero_generate_bills()
        self.assertEqual(record.state, "failed")
        self.assertIn("is not this bill", record.last_error)
        self.assertIn("SUPPLIER-INV-7781", record.last_error)
        self.assertFalse(record.retryable)  # ours to fix: the cron does not try again
        self.assertFalse(record.next_attempt_at)
        invoices = {i["InvoiceID"]: i for i in self._invoices()}
        self.assertEqual(invoices[other.xero_id]["InvoiceNumber"], "SUPPLIER-INV-7781")
        self.assertEqual(invoices[other.xero_id]["Total"], Decimal("9525.10"))  # not overwritten
        with self.assertRaisesRegex(UserError, "is not this bill"):
            record.with_user(self.officer).action_cancel_in_xero()
        self.assertEqual(
            {xero_id: i["Status"] for xero_id, i in ((i["InvoiceID"], i) for i in self._invoices())},
            {own_id: "DRAFT", other.xero_id: "DRAFT"},
        )

    def test_a_xero_id_of_a_document_of_another_contact_is_not_cancelled(self):
        self.net_type.active = True
        records = self.batch._xero_generate_bills()
        self.assertEqual(set(records.mapped("state")), {"sent"}, records.mapped("last_error"))
        alice, bob = (records.filtered(lambda r, e=e: r.employee_id == e) for e in (self.alice, self.bob))
        # A document with Alice's bill number but Bob as the contact.
        [other] = self.connection._xero_client().create_bills(
            [
                dataclasses.replace(
                    alice._xero_bill(), contact_name="Bob Lee", contact_number=bob.contact_number
                )
            ]
        )
        self.assertTrue(other.ok, other.errors)
        self._sql_set(alice, xero_id=other.xero_id)
        with self.assertRaisesRegex(UserError, "its contact is not Alice Chan"):
            alice.action_cancel_in_xero()
        statuses = {i["InvoiceID"]: i["Status"] for i in self._invoices()}
        self.assertEqual(statuses[other.xero_id], "DRAFT")
