# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Manual journals: a journal mapping type makes one journal per batch, through the bills' own record and
lifecycle (generate, push once, regenerate a draft, refuse to change a posted one, cancel, read back)."""

from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from payroll_xero.oauth import JOURNAL_SCOPE

from .common import XeroPayrollCase

# Debits of the October batch: gross pay (basic, housing, overtime) and the employer's MPF.
GROSS = Decimal("102000.50") + Decimal("8000") + Decimal("2501.00")
MPF_ER = Decimal("1500") + Decimal("1000") + Decimal("1500") + Decimal("762.55")
DEBITS = GROSS + MPF_ER


@tagged("post_install", "-at_install")
class TestJournal(XeroPayrollCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._xero_use_base_currency()
        cls.net_type, cls.mpf_type = cls._xero_make_types()
        cls.journal_type = cls._xero_make_journal_type()

    def _journals(self):
        return self.sandbox.journals(self.DEMO_TENANT_ID)

    def _generate(self):
        records = self.batch._xero_generate_bills()
        journal = records.filtered(lambda r: r.document == "journal")
        return records, journal

    def _only_the_journal(self):
        (self.net_type | self.mpf_type).active = False

    # ------------------------------------------------------------------ mapping type

    def test_a_journal_type_passes_its_document_status_and_rounding_account_to_the_sidecar(self):
        self.journal_type.write({"journal_status": "POSTED", "rounding_account_id": self.accounts["826"].id})
        keys = (self.rules | self.rule_net)._xero_pay_item_keys()
        mtype = self.journal_type._xero_sidecar_type(keys)
        self.assertEqual(
            (mtype.document, mtype.status, mtype.rounding_account, mtype.contact_name),
            ("journal", "POSTED", "826", None),
        )
        self.assertEqual(len(mtype.lines), 8)  # the employer's MPF on both sides
        self.assertEqual(self.net_type._xero_sidecar_type(keys).document, "bill")
        line = self.journal_type.line_ids.filtered(lambda line: line.sign == "-")[:1]
        self.assertEqual(line.journal_side, "-")
        line.journal_side = "+"
        self.assertEqual(line.sign, "+")
        with self.assertRaisesRegex(ValidationError, "one per batch"):
            self.journal_type.grouping = "employee"

    def test_a_bill_type_still_sends_a_pay_item_to_one_account(self):
        with self.assertRaisesRegex(ValidationError, "appears twice"):
            self.mpf_type.line_ids = [
                (
                    0,
                    0,
                    {
                        "salary_rule_id": self.rule_mpf_er.id,
                        "account_id": self.accounts["825"].id,
                        "sign": "-",
                    },
                )
            ]

    # ------------------------------------------------------------------ generate and push

    def test_a_batch_makes_its_bills_and_one_journal_through_the_same_record(self):
        records, journal = self._generate()
        self.assertEqual(len(records), 6)  # 4 net salaries, the MPF, the journal
        self.assertEqual(set(records.mapped("state")), {"sent"})
        key = f"{self.batch.xero_reference}/PJ"
        self.assertEqual(journal.invoice_number, key)
        self.assertEqual((journal.doc_type, journal.document), ("MANUALJOURNAL", "journal"))
        self.assertEqual(journal.date, self.batch.date_end)
        self.assertEqual(journal.xero_status, "DRAFT")
        self.assertAlmostEqual(journal.total, float(DEBITS), places=2)
        self.assertFalse(journal.contact_name or journal.due_date)
        self.assertEqual(len(journal.line_ids), 8)
        self.assertAlmostEqual(sum(journal.line_ids.mapped("amount")), 0.0, places=2)
        self.assertAlmostEqual(sum(journal.line_ids.mapped("debit")), float(DEBITS), places=2)
        self.assertAlmostEqual(sum(journal.line_ids.mapped("credit")), float(DEBITS), places=2)
        self.assertTrue(journal._xero_payload_intact())
        (stored,) = self._journals()
        self.assertEqual(stored["ManualJournalID"], journal.xero_id)
        self.assertEqual(stored["Narration"], f"October 2026 - Payroll Journal [{key}]")
        self.assertEqual(stored["Url"], journal.odoo_url)
        self.assertIn(journal.xero_id, journal.xero_url)
        self.assertEqual(len(self.sandbox.invoices(self.DEMO_TENANT_ID)), 5)
        # the batch summary, attached to the journal as to the bills (ManualJournals/{id}/Attachments)
        self.assertEqual(journal.xero_attachment_state, "attached")
        (summary,) = self.sandbox.attachments(self.DEMO_TENANT_ID, journal.xero_id, journal=True)
        self.assertIn(b"Narration ends with", summary["Content"])
        self.assertIn(b"Debit", summary["Content"])
        # generating again changes nothing, in Odoo or in Xero
        again = self.batch._xero_generate_bills()
        self.assertEqual(again, records)
        self.assertEqual(len(self._journals()), 1)

    def test_a_retry_after_a_lost_answer_or_a_double_push_never_creates_a_second_journal(self):
        self._only_the_journal()
        _records, journal = self._generate()
        xero_id = journal.xero_id
        # the answer was lost: Odoo does not know the journal's id, Xero has it
        journal.sudo().write({"xero_id": False, "state": "failed", "retryable": True})
        journal.action_push()
        self.assertEqual((journal.state, journal.xero_id), ("sent", xero_id))
        self.assertIn("already created", " ".join(journal.message_ids.mapped("body")))
        journal.sudo().write({"xero_id": False, "state": "queued"})
        self.env["xero.bill.record"]._cron_push_queued()
        self.assertEqual(journal.xero_id, xero_id)
        self.assertEqual(len(self._journals()), 1)
        with self.assertRaisesRegex(UserError, "nothing to push"):
            journal.action_push()

    def test_regenerating_updates_the_draft_journal_in_xero(self):
        self._only_the_journal()
        _records, journal = self._generate()
        line = self.journal_type.line_ids.filtered(lambda line: line.account_id.code == "814")
        line.description = "Net pay to employees"
        _records, again = self._generate()
        self.assertEqual(again, journal)
        self.assertEqual((journal.state, journal.pending_update), ("sent", False))
        bodies = " ".join(journal.message_ids.mapped("body"))
        self.assertIn("Updated in Xero", bodies)
        self.assertIn("replaced in Xero by the new one", bodies)  # its batch summary too
        (stored,) = self._journals()
        self.assertIn("Net pay to employees", [row["Description"] for row in stored["JournalLines"]])

    def test_a_posted_journal_is_never_changed_by_regenerating(self):
        self._only_the_journal()
        self.journal_type.journal_status = "POSTED"
        _records, journal = self._generate()
        self.assertEqual(journal.xero_status, "POSTED")
        self.journal_type.line_ids.filtered(
            lambda line: line.account_id.code == "814"
        ).description = "Changed"
        self._generate()
        self.assertFalse(journal.pending_update)
        self.assertIn("a posted journal is never changed", journal.sync_note)
        (stored,) = self._journals()
        self.assertNotIn("Changed", [row["Description"] for row in stored["JournalLines"]])
        preview = self.batch._xero_preview(self.batch)[0]["bills"]
        self.assertIn("Left as is: POSTED", next(row["what"] for row in preview))

    def test_a_draft_posted_in_xero_meanwhile_is_left_as_it_is_at_the_next_push(self):
        self._only_the_journal()
        _records, journal = self._generate()
        self.sandbox.post_journal(self.DEMO_TENANT_ID, journal.xero_id)
        self.journal_type.line_ids.filtered(
            lambda line: line.account_id.code == "814"
        ).description = "Changed"
        self._generate()
        self.assertEqual((journal.state, journal.xero_status), ("sent", "POSTED"))
        self.assertIn("POSTED", journal.sync_note)

    # ------------------------------------------------------------------ cancel

    def test_cancel_deletes_a_draft_journal_and_voids_a_posted_one(self):
        self._only_the_journal()
        _records, journal = self._generate()
        journal.action_cancel_in_xero()
        self.assertEqual((journal.state, journal.xero_status), ("cancelled", "DELETED"))
        self.journal_type.journal_status = "POSTED"
        _records, posted = self._generate()
        self.assertEqual(posted, journal)  # the same record, a new journal in Xero
        self.assertEqual(posted.xero_status, "POSTED")
        posted.action_cancel_in_xero()
        self.assertEqual((posted.state, posted.xero_status), ("cancelled", "VOIDED"))
        self.assertEqual(sorted(row["Status"] for row in self._journals()), ["DELETED", "VOIDED"])

    # ------------------------------------------------------------------ status

    def test_status_read_back_sees_a_journal_posted_changed_and_voided_in_xero(self):
        _records, journal = self._generate()
        self.sandbox.post_journal(self.DEMO_TENANT_ID, journal.xero_id)
        journal.action_xero_refresh()
        self.assertEqual((journal.xero_status, journal.xero_changed), ("POSTED", False))
        self.sandbox.edit_journal(self.DEMO_TENANT_ID, journal.xero_id, line=0, move_amount="10.00")
        self.env["xero.bill.record"]._cron_xero_refresh_status()
        self.assertTrue(journal.xero_changed)
        self.assertIn("line 1 (Basic salaries), amount", journal.xero_changes)
        self.assertTrue(self.connection.xero_journals_checked_until)
        self.sandbox.void_journal(self.DEMO_TENANT_ID, journal.xero_id)
        journal.action_xero_refresh()
        self.assertEqual(journal.xero_status, "VOIDED")
        self.assertFalse(self.batch.xero_all_paid)  # bills unpaid; a journal is never "paid"

    # ------------------------------------------------------------------ problems

    def test_an_unbalanced_journal_is_refused_naming_its_pay_items_and_the_difference(self):
        self.journal_type.line_ids.filtered(lambda line: line.salary_rule_id == self.rule_loan).unlink()
        prep = self.batch._xero_prepare()
        (error,) = [error for error in prep.errors if "does not balance" in error]
        self.assertIn("XNET", error)
        self.assertIn("differ by 2,000.00", error)
        with self.assertRaisesRegex(UserError, "does not balance"):
            self.batch._xero_generate_bills()
        self.assertEqual(self._journals(), [])

    def test_a_small_difference_goes_to_the_rounding_account_on_a_visible_line(self):
        self._only_the_journal()
        rules = self.env["hr.salary.rule"]
        for code, amount in (("XCENTA", 100.01), ("XCENTB", 100.00)):
            rules |= rules.create(
                {
                    "name": code,
                    "code": code,
                    "sequence": 300,
                    "category_id": self.rule_housing.category_id.id,
                    "condition_select": "none",
                    "company_id": self.company.id,
                    "amount_select": "fix",
                    "amount_fix": amount,
                }
            )
        self.structure.rule_ids = [(4, rule.id) for rule in rules]
        batch = self._xero_make_batch(self.bob, name="Rounding")
        self.journal_type.line_ids = [
            (5, 0, 0),
            (0, 0, {"salary_rule_id": rules[0].id, "account_id": self.accounts["477"].id, "sign": "+"}),
            (0, 0, {"salary_rule_id": rules[1].id, "account_id": self.accounts["825"].id, "sign": "-"}),
        ]
        self.assertTrue(batch._xero_prepare().errors)  # no rounding account: refused
        self.journal_type.rounding_account_id = self.accounts["826"]
        prep = batch._xero_prepare()
        self.assertFalse(prep.errors)
        self.assertTrue(any("ounding" in warning for warning in prep.warnings))
        journal = batch._xero_generate_bills().filtered(lambda r: r.document == "journal")
        rounding = journal.line_ids.filtered(lambda line: line.account_code == "826")
        self.assertEqual((rounding.description, rounding.amount), ("Rounding", -0.01))
        self.assertEqual(journal.state, "sent")
        (stored,) = self._journals()
        self.assertEqual(len(stored["JournalLines"]), 3)

    def test_a_journal_line_on_a_bank_account_is_refused_before_sending(self):
        self._only_the_journal()
        self.journal_type.line_ids.filtered(
            lambda line: line.account_id.code == "814"
        ).account_id = self.accounts["090"]
        self.assertTrue(any("bank account" in warning for warning in self.batch._xero_prepare().warnings))
        _records, journal = self._generate()
        self.assertEqual(journal.state, "failed")
        self.assertIn("090", journal.last_error)
        self.assertEqual(self._journals(), [])

    @mute_logger("payroll_xero.client")
    def test_a_connection_without_the_journal_scope_sends_its_bills_and_asks_to_reconnect(self):
        self._xero_connect(self.connection, without_scopes=(JOURNAL_SCOPE,))
        self.assertNotIn(JOURNAL_SCOPE, self.connection.scopes)
        self.assertFalse(self.connection.journals_allowed)
        records, journal = self._generate()
        self.assertEqual(set((records - journal).mapped("state")), {"sent"})
        self.assertEqual(journal.state, "failed")
        self.assertFalse(journal.retryable)
        self.assertIn("connect to Xero again to allow manual journals", journal.last_error)
        self.assertIn("Connect to Xero", journal.last_error)
        self.assertTrue(journal._xero_payload_intact())  # nothing lost
        self.assertEqual(self._journals(), [])
        # Connect to Xero asks for the scope again; the kept journal then goes
        self.assertIn(
            JOURNAL_SCOPE, parse_qs(urlsplit(self.connection.action_connect()["url"]).query)["scope"][0]
        )
        self._xero_connect(self.connection)
        self.assertTrue(self.connection.journals_allowed)
        journal.action_push()
        self.assertEqual(journal.state, "sent")
        self.assertEqual(len(self._journals()), 1)

    def test_a_journal_whose_narration_was_changed_in_xero_is_neither_updated_nor_cancelled(self):
        self._only_the_journal()
        _records, journal = self._generate()
        self.sandbox.edit_journal(self.DEMO_TENANT_ID, journal.xero_id, narration="Someone else's journal")
        with self.assertRaisesRegex(UserError, r"is not this journal .*end it with \["):
            journal.action_cancel_in_xero()
        self.assertEqual(journal.state, "sent")
        self.assertEqual(self._journals()[0]["Status"], "DRAFT")
