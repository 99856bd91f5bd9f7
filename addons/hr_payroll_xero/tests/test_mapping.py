# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from psycopg2 import IntegrityError

from odoo.exceptions import ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger
from odoo.tools.safe_eval import safe_eval

from .common import XeroPayrollCase


@tagged("post_install", "-at_install")
class TestMapping(XeroPayrollCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.net_type, cls.mpf_type = cls._xero_make_types()

    def test_the_same_pay_item_twice_in_a_bill_type_is_refused(self):
        with self.assertRaisesRegex(ValidationError, "appears twice"):
            self.mpf_type.write(
                {
                    "line_ids": [
                        (0, 0, {"salary_rule_id": self.rule_mpf_er.id, "account_id": self.accounts["477"].id})
                    ]
                }
            )

    def test_the_same_line_twice_in_a_journal_type_is_refused(self):
        self.mpf_type.document = "journal"
        line = {"salary_rule_id": self.rule_mpf_er.id, "account_id": self.accounts["825"].id, "sign": "-"}
        self.mpf_type.line_ids = [(0, 0, line)]  # the employer's MPF credited too: allowed on a journal
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            self.mpf_type.line_ids = [(0, 0, line)]
            self.env.flush_all()

    def test_code_defaults_from_the_name_and_is_unique_per_company(self):
        mtype = self.env["xero.mapping.type"].create({"name": "Income Additions", "contact_name": "Staff"})
        self.assertEqual(mtype.code, "INCOME-ADDITIONS")
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            self.env["xero.mapping.type"].create({"name": "Other", "code": "MPF", "contact_name": "X"})
            self.env.flush_all()

    def test_a_type_with_one_bill_per_batch_needs_a_xero_contact(self):
        with self.assertRaisesRegex(ValidationError, "enter the Xero contact"):
            self.env["xero.mapping.type"].create({"name": "Bonus", "grouping": "run"})

    def test_only_active_accounts_of_the_company_can_be_chosen(self):
        field = self.env["xero.mapping.line"]._fields["account_id"]
        self.assertIn("company_id", field.domain)
        archived = self.accounts["475"]
        self.assertFalse(archived.active)
        ours = [("connection_id", "=", self.connection.id)]
        names = [name for _id, name in self.env["xero.account"].name_search("Old Wages", ours)]
        self.assertEqual(names, [])
        self.assertEqual(self.env["xero.account"].name_search("477", ours)[0][0], self.accounts["477"].id)

    def test_bank_and_system_accounts_are_not_offered_on_a_mapping_line(self):
        field = self.env["xero.mapping.line"]._fields["account_id"]
        domain = safe_eval(field.domain, {"company_id": self.company.id})  # as the form evaluates it
        ours = [*domain, ("connection_id", "=", self.connection.id)]
        offered = self.env["xero.account"].search(ours)
        bank, payable = self.accounts["090"], self.accounts["800"]
        self.assertEqual((bank.account_type, bank.active), ("BANK", True))
        self.assertEqual((payable.system_account, payable.active), ("CREDITORS", True))
        self.assertNotIn(bank, offered)
        self.assertNotIn(payable, offered)
        self.assertIn(self.accounts["477"], offered)
        self.assertEqual(self.env["xero.account"].name_search("Business Bank", ours), [])
        self.assertEqual(self.env["xero.account"].name_search("090", ours), [])

    def test_coverage_lists_mapped_ignored_and_unmapped_rules(self):
        self.net_type.line_ids.filtered(lambda line: line.salary_rule_id == self.rule_housing).unlink()
        self.env.flush_all()
        rows = self.env["xero.mapping.coverage"].search(
            [("company_id", "=", self.company.id), ("salary_rule_id", "in", self.rules.ids)]
        )
        status = {}
        for row in rows:
            status.setdefault(row.rule_code, set()).add((row.status, row.type_id.code or False))
        self.assertEqual(status["XHOUSING"], {("unmapped", False)})
        self.assertEqual(status["XGROSS"], {("ignored", False)})
        self.assertEqual(status["XMPF_EE"], {("mapped", "NET"), ("mapped", "MPF")})
        self.assertEqual(status["XBASIC"], {("mapped", "NET")})

    def test_bills_are_due_within_ten_years_of_the_payment_date(self):
        self.mpf_type.due_days = 3650
        for days in (-1, 3651, 3_000_000):
            with self.assertRaisesRegex(ValidationError, "between 0 and 3650 days"):
                self.mpf_type.due_days = days

    def test_fields_sent_to_xero_hold_no_more_than_xero_takes(self):
        sizes = {
            ("xero.bill.record", "contact_number"): 50,
            ("xero.bill.record", "contact_name"): 255,
            ("xero.bill.record", "invoice_number"): 255,
            ("xero.bill.record.line", "description"): 4000,
            ("xero.mapping.line", "description"): 4000,
            ("xero.mapping.type", "contact_name"): 255,
            ("xero.mapping.type", "tracking_category"): 100,
            ("hr.employee", "xero_contact_number"): 50,
        }
        for (model, name), size in sizes.items():
            self.assertEqual(self.env[model]._fields[name].size, size, f"{model}.{name}")
