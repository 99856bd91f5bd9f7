# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The batch summary each bill carries in Xero (issue 20, item 1).

While Odoo runs tests it renders reports as HTML, not PDF (``ir.actions.report._render_qweb_pdf`` without
``force_report_rendering``): these tests read the uploaded summary as HTML and assert on what it says, and
``test_summary_is_a_pdf_when_wkhtmltopdf_is_installed`` renders the real PDF (skipped without the binary).
"""

from datetime import timedelta

from odoo import fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import XeroPayrollCase

REPORT = "hr_payroll_xero.action_report_xero_bill_record"


@tagged("post_install", "-at_install")
class TestAttachment(XeroPayrollCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.net_type, cls.mpf_type = cls._xero_make_types()
        cls.net_type.active = False  # the one MPF bill of the batch, unless a test says otherwise

    def _files(self, record, credit_note=False):
        return self.sandbox.attachments(self.DEMO_TENANT_ID, record.xero_id, credit_note=credit_note)

    def _uploads(self):
        return [c for c in self.sandbox.calls if c[0] in ("PUT", "POST") and "/Attachments/" in c[1]]

    def test_pushed_bill_carries_the_batch_summary_of_what_it_was_built_from(self):
        self.mpf_type.tracking_category = "Department"
        record = self.batch._xero_generate_bills()
        self.assertEqual(record.state, "sent", record.last_error)
        self.assertEqual(record.xero_attachment_state, "attached")
        [stored] = self._files(record)
        # PR<id>-202610/MPF, sanitized; .html because Odoo renders HTML while testing
        self.assertEqual(stored["FileName"], record.invoice_number.replace("/", "-") + ".html")
        self.assertEqual(record.xero_attachment_name, stored["FileName"])
        text = stored["Content"].decode()
        for expected in (
            "October 2026",  # the batch
            "10/01/2026",  # its period
            "10/31/2026",
            "MPF",  # the type
            "HSBC MPF Trustee",
            "MPF employee contributions",  # lines, with their pay items
            "MPF Employee",
            "XMPF_ER",
            "Department: Operations",
            f"{record.total:,.2f}",  # the total
            record.odoo_url,  # the link back to the record
        ):
            self.assertIn(expected, text)
        summary = record._xero_summary_lines()
        self.assertEqual(summary["employees"], 4)
        by_line = {(line["pay_item"], line["tracking"]): line["employees"] for line in summary["lines"]}
        self.assertEqual(by_line[("XMPF_ER", "Department: Operations")], 2)  # Alice and Bob
        self.assertEqual(by_line[("XMPF_ER", "Department: Finance")], 1)
        self.assertIn("o_xero_line_employees", text)
        self.assertIn("Created in Xero", record.message_ids[1].body)
        self.assertIn("was attached", record.message_ids[0].body)

    def test_per_employee_bills_count_one_employee_and_credit_notes_use_their_endpoint(self):
        self.net_type.active = True
        self.mpf_type.active = False
        refunds = self._xero_make_batch(self.alice | self.bob, credit_note=True, name="October refunds")
        records = refunds._xero_generate_bills()
        self.assertEqual(set(records.mapped("doc_type")), {"ACCPAYCREDIT"})
        self.assertEqual(set(records.mapped("xero_attachment_state")), {"attached"})
        for record in records:
            self.assertEqual(len(self._files(record, credit_note=True)), 1)
            self.assertEqual(record._xero_summary_lines()["employees"], 1)
            self.assertTrue(all(line["employees"] == 1 for line in record._xero_summary_lines()["lines"]))
        self.assertTrue(all("/CreditNotes/" in call[1] for call in self._uploads()))
        # just created: one upload per bill, without a look-up first
        self.assertEqual(len(self._uploads()), 2)
        self.assertFalse([c for c in self.sandbox.calls if c[0] == "GET" and "/Attachments" in c[1]])

    def test_retry_never_attaches_the_summary_twice(self):
        record = self.batch._xero_generate_bills()
        self.assertEqual(len(self._files(record)), 1)
        # the attachment was made but Odoo lost it (e.g. a rollback): the retry finds it in Xero
        record.sudo().write({"xero_attachment_state": "failed"})
        record.action_xero_attach_summary()
        self.assertEqual(record.xero_attachment_state, "attached")
        self.assertEqual(len(self._files(record)), 1)
        self.assertEqual(len(self._uploads()), 1)
        self.assertIn("already attached", record.message_ids[0].body)

    def test_failed_upload_leaves_the_bill_sent_and_the_cron_attaches_it_once(self):
        # an upload is never resent blindly: one 503 fails it, the look-up that follows finds nothing
        self.sandbox.faults.fail_next(1, status=503, path="/Attachments/", method="PUT")
        record = self.batch._xero_generate_bills()
        self.assertEqual(record.state, "sent")
        self.assertEqual(record.xero_status, "DRAFT")
        self.assertEqual(record.xero_attachment_state, "failed")
        self.assertIn("The cron tries again later", record.xero_attachment_error)
        self.assertTrue(record.xero_attachment_next_at)
        self.assertEqual(self._files(record), [])
        self.env["xero.bill.record"]._cron_push_queued()  # not due yet
        self.assertEqual(record.xero_attachment_state, "failed")
        record.sudo().xero_attachment_next_at = fields.Datetime.now() - timedelta(minutes=1)
        self.env["xero.bill.record"]._cron_push_queued()
        self.assertEqual(record.xero_attachment_state, "attached")
        self.assertEqual(record.state, "sent")
        self.assertEqual(len(self._files(record)), 1)
        self.assertEqual(len(self.sandbox.invoices(self.DEMO_TENANT_ID)), 1)

    def test_a_summary_xero_would_refuse_waits_for_a_person_and_the_bill_stays_sent(self):
        self.mpf_type.attach_summary = False
        record = self.batch._xero_generate_bills()
        client = self.connection._xero_client()
        for idx in range(10):  # someone in Xero attached ten files: the most a document holds
            client.attach(record.xero_id, f"receipt{idx}.pdf", f"%PDF-1.4 receipt {idx}".encode())
        self.mpf_type.attach_summary = True
        record.action_xero_attach_summary()
        self.assertEqual(record.state, "sent")
        self.assertEqual(record.xero_attachment_state, "failed")
        self.assertIn("10 attachments", record.xero_attachment_error)
        self.assertIn("Press Attach Summary", record.xero_attachment_error)
        self.assertFalse(record.xero_attachment_next_at)  # the cron leaves it
        self.assertEqual(len(self._files(record)), 10)

    def test_types_without_the_summary_attach_nothing(self):
        self.mpf_type.attach_summary = False
        record = self.batch._xero_generate_bills()
        self.assertEqual(record.state, "sent")
        self.assertFalse(record.xero_attachment_state)
        self.assertFalse(record.xero_attach_wanted)
        self.assertFalse([c for c in self.sandbox.calls if "/Attachments" in c[1]])

    def test_draft_updated_in_xero_gets_its_summary_replaced(self):
        record = self.batch._xero_generate_bills()
        before = self._files(record)[0]["Content"]
        self.mpf_type.line_ids.filtered(lambda line: line.salary_rule_id == self.rule_mpf_ee).unlink()
        self.batch._xero_generate_bills()
        self.assertEqual(record.state, "sent", record.last_error)
        self.assertEqual(record.xero_attachment_state, "attached")
        [after] = self._files(record)
        self.assertNotEqual(after["Content"], before)
        self.assertNotIn("MPF employee contributions", after["Content"].decode())
        self.assertTrue([c for c in self._uploads() if c[0] == "POST"])

    def test_summary_is_a_pdf_when_wkhtmltopdf_is_installed(self):
        if self.env["ir.actions.report"].get_wkhtmltopdf_state() != "ok":
            self.skipTest("wkhtmltopdf is not installed: Odoo cannot make PDFs here")
        self.mpf_type.attach_summary = False
        record = self.batch._xero_generate_bills()
        # assets from a port nobody listens on: the PDF is made without them, quickly
        self.env["ir.config_parameter"].sudo().set_param("report.url", "http://127.0.0.1:9")
        with mute_logger("odoo.addons.base.models.ir_actions_report"):  # Debian's wkhtmltopdf: unpatched Qt
            name, content = record.with_context(force_report_rendering=True)._xero_summary_file()
        self.assertEqual(name, record.invoice_number.replace("/", "-") + ".pdf")
        self.assertTrue(content.startswith(b"%PDF-"))
        result = self.connection._xero_client().attach(record.xero_id, name, content)
        self.assertTrue(result.uploaded)
        [stored] = self._files(record)
        self.assertEqual(stored["MimeType"], "application/pdf")
