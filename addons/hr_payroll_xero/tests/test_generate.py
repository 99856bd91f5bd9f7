# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from decimal import Decimal

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import XeroPayrollCase


@tagged("post_install", "-at_install")
class TestGenerate(XeroPayrollCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.net_type, cls.mpf_type = cls._xero_make_types()

    def _records(self, run=None):
        return self.env["xero.bill.record"].search([("payslip_run_id", "=", (run or self.batch).id)])

    def test_preview_shows_bills_unmapped_items_and_writes_nothing(self):
        self.rule_housing.xero_ignore = False
        self.net_type.line_ids.filtered(lambda line: line.salary_rule_id == self.rule_housing).unlink()
        action = self.batch.action_xero_generate_bills()
        wizard = self.env["xero.bill.generate"].browse(action["res_id"])
        html = str(wizard.preview_html)
        self.assertFalse(wizard.has_errors)
        self.assertEqual(wizard.bill_count, 5)  # 4 employees + the MPF bill
        self.assertIn("HSBC MPF Trustee", html)
        self.assertIn("9,525.10", html)  # the MPF bill's total
        self.assertIn("XHOUSING", html)  # unmapped, with its total
        self.assertIn("8,000.00", html)
        self.assertNotIn("XGROSS", html)  # deliberately ignored
        self.assertFalse(self._records())
        self.assertEqual(self.sandbox.invoices(self.DEMO_TENANT_ID), [])

    def test_confirm_in_the_wizard_sends_the_bills_and_opens_the_batch_records(self):
        wizard = self.env["xero.bill.generate"].browse(self.batch.action_xero_generate_bills()["res_id"])
        action = wizard.action_confirm()
        self.assertEqual(action["res_model"], "xero.bill.record")
        self.assertEqual(set(self._records().mapped("state")), {"sent"})
        self.assertEqual(len(self.sandbox.invoices(self.DEMO_TENANT_ID)), 5)
        self.assertEqual(self.batch.xero_state, "sent")
        self.assertEqual(self.batch.xero_record_count, 5)

    def test_list_action_previews_several_batches_at_once(self):
        other = self._xero_make_batch(self.alice, name="October 2026 bonus run")
        action = (
            self.env.ref("hr_payroll_xero.hr_payslip_run_action_xero_generate")
            .with_context(active_model="hr.payslip.run", active_ids=(self.batch | other).ids)
            .run()
        )
        wizard = self.env["xero.bill.generate"].browse(action["res_id"])
        self.assertEqual(wizard.run_ids, self.batch | other)
        self.assertEqual(wizard.bill_count, 5 + 2)

    def test_a_batch_without_done_payslips_cannot_be_sent(self):
        draft = self.env["hr.payslip.run"].create({"name": "Empty", "company_id": self.company.id})
        self.assertFalse(draft.xero_can_generate)
        wizard = self.env["xero.bill.generate"].create({"run_ids": [(6, 0, draft.ids)]})
        self.assertTrue(wizard.has_errors)
        self.assertIn("close it first", str(wizard.preview_html))
        with self.assertRaisesRegex(UserError, "no done payslip"):
            draft._xero_generate_bills()

    def test_run_type_makes_one_mpf_bill_with_capped_contributions(self):
        self.net_type.active = False
        records = self.batch._xero_generate_bills()
        self.assertEqual(len(records), 1)
        self.assertEqual(records.state, "sent", records.last_error)
        [invoice] = self.sandbox.invoices(self.DEMO_TENANT_ID)
        self.assertEqual(invoice["Type"], "ACCPAY")
        self.assertEqual(invoice["Contact"]["Name"], "HSBC MPF Trustee")
        self.assertEqual(invoice["InvoiceNumber"], records.invoice_number)
        # employee 1500 (capped) + 1000 + 1500 (capped) + 762.55, twice (employee and employer parts)
        self.assertEqual(invoice["Total"], Decimal("9525.10"))
        self.assertEqual(
            sorted((line["AccountCode"], line["LineAmount"]) for line in invoice["LineItems"]),
            [("478", Decimal("4762.55")), ("825", Decimal("4762.55"))],
        )
        self.assertEqual(invoice["DueDate"], "2026-11-10")
        self.assertEqual(invoice["Url"], records.odoo_url)
        self.assertTrue(records.odoo_url.endswith(f"/odoo/xero.bill.record/{records.id}"))
        self.assertEqual(records.xero_id, invoice["InvoiceID"])
        self.assertIn(invoice["InvoiceID"], records.xero_url)
        self.assertEqual(records.line_ids.salary_rule_id, self.rule_mpf_ee | self.rule_mpf_er)

    def test_employee_type_makes_one_bill_per_employee_with_the_employee_as_contact(self):
        self.mpf_type.active = False
        records = self.batch._xero_generate_bills()
        self.assertEqual(records.employee_id, self.employees)
        self.assertEqual(set(records.mapped("state")), {"sent"})
        invoices = {i["Contact"]["Name"]: i for i in self.sandbox.invoices(self.DEMO_TENANT_ID)}
        self.assertEqual(set(invoices), {"Alice Chan", "Bob Lee", "Carol Wong", "Dan Ho"})
        self.assertEqual(invoices["Alice Chan"]["Total"], Decimal("31250.50"))
        self.assertEqual(invoices["Dan Ho"]["Total"], Decimal("13988.45"))
        contacts = {c["Name"]: c for c in self.sandbox.contacts(self.DEMO_TENANT_ID)}
        self.assertEqual(contacts["Alice Chan"]["ContactNumber"], f"EMP{self.alice.id}")
        self.assertEqual(self.alice.xero_contact_number, f"EMP{self.alice.id}")
        self.assertEqual(self.alice.xero_contact_id, contacts["Alice Chan"]["ContactID"])

    def test_tracking_category_splits_the_lines_by_department(self):
        self.net_type.active = False
        self.mpf_type.tracking_category = "Department"
        records = self.batch._xero_generate_bills()
        self.assertEqual(records.state, "sent", records.last_error)
        [invoice] = self.sandbox.invoices(self.DEMO_TENANT_ID)
        employer = {
            line["Tracking"][0]["Option"]: line["LineAmount"]
            for line in invoice["LineItems"]
            if line["AccountCode"] == "478"
        }
        self.assertEqual(
            employer,
            {"Operations": Decimal("2500.00"), "Finance": Decimal("1500.00"), "Sales": Decimal("762.55")},
        )
        self.assertEqual(invoice["Total"], Decimal("9525.10"))

    def test_refund_batch_gives_supplier_credit_notes(self):
        refund = self._xero_make_batch(self.alice | self.bob, credit_note=True, name="Refund October 2026")
        records = refund._xero_generate_bills()
        self.assertEqual(set(records.mapped("doc_type")), {"ACCPAYCREDIT"})
        self.assertEqual(set(records.mapped("state")), {"sent"}, records.mapped("last_error"))
        self.assertEqual(self.sandbox.invoices(self.DEMO_TENANT_ID), [])
        notes = {n["Contact"]["Name"]: n for n in self.sandbox.credit_notes(self.DEMO_TENANT_ID)}
        self.assertEqual(notes["HSBC MPF Trustee"]["Total"], Decimal("5000.00"))
        self.assertEqual(notes["Alice Chan"]["Total"], Decimal("30000.00"))  # no overtime refunded
        mpf = records.filtered(lambda r: r.type_id == self.mpf_type)
        self.assertIn(mpf.xero_id, mpf.xero_url)

    def test_unmapped_pay_items_are_reported_and_ignored_rules_are_not(self):
        self.mpf_type.line_ids.filtered(lambda line: line.salary_rule_id == self.rule_mpf_er).unlink()
        prep = self.batch._xero_prepare()
        unmapped = {code: amount for code, _name, amount in prep.unmapped}
        self.assertEqual(unmapped, {"XMPF_ER": Decimal("4762.55")})
        self.rule_mpf_er.xero_ignore = True
        self.assertEqual(self.batch._xero_prepare().unmapped, [])

    def test_payslips_in_another_currency_are_converted_at_the_payment_date(self):
        other = "HKD" if self.company.currency_id.name == "USD" else "USD"
        target = self.env["res.currency"].with_context(active_test=False).search([("name", "=", other)])
        target.active = True
        self.env["res.currency.rate"].search(
            [("currency_id", "in", (target | self.company.currency_id).ids)]
        ).unlink()
        self.env["res.currency.rate"].create(
            {"currency_id": target.id, "name": "2026-10-31", "rate": 2.0, "company_id": self.company.id}
        )
        self.env["res.currency.rate"].create(
            {"currency_id": target.id, "name": "2026-11-30", "rate": 9.0, "company_id": self.company.id}
        )
        self.company.xero_currency_code = other
        self.net_type.active = False
        records = self.batch._xero_generate_bills()
        self.assertEqual(records.state, "sent", records.last_error)
        [invoice] = self.sandbox.invoices(self.DEMO_TENANT_ID)
        self.assertEqual(invoice["CurrencyCode"], other)
        self.assertEqual(invoice["Total"], Decimal("19050.20"))  # 9525.10 at the rate of 31 October

    def test_amounts_beyond_what_xero_stores_are_refused_naming_the_bill(self):
        tycoon = self._xero_make_employee("Tycoon Lau", self.dept_ops, 2e13)
        run = self._xero_make_batch(tycoon, name="October 2026 tycoon")
        prep = run._xero_prepare()
        self.assertTrue(prep.errors)
        self.assertRegex("\n".join(prep.errors), f"NET/EMP{tycoon.id}|Tycoon Lau")
        with self.assertRaises(UserError) as caught:
            run._xero_generate_bills()
        self.assertRegex(str(caught.exception), f"NET/EMP{tycoon.id}|Tycoon Lau")
        self.assertFalse(self._records(run))
        self.assertEqual(self.sandbox.invoices(self.DEMO_TENANT_ID), [])

    def test_nothing_mapped_is_refused_with_a_clear_message(self):
        (self.net_type | self.mpf_type).active = False
        with self.assertRaisesRegex(UserError, "no mapping type"):
            self.batch._xero_generate_bills()

    def test_generation_runs_as_many_queries_for_20_payslips_as_for_5(self):
        self.net_type.active = False
        self.mpf_type.tracking_category = "Department"
        warm_up = self._xero_make_batch(self._xero_make_employees(2), name="Warm-up")
        small = self._xero_make_batch(self._xero_make_employees(5), name="Small")
        large = self._xero_make_batch(self._xero_make_employees(20), name="Large")

        def count(run):
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            run._xero_generate_bills(push=False)
            self.env.flush_all()
            return self.env.cr.sql_log_count - before

        count(warm_up)  # first calls fill caches (parameters, views of the registry)
        self.assertEqual(count(small), count(large))
        self.assertEqual(len(self._records(large)), 1)
        self.assertEqual(self._records(large).state, "draft")

    def test_payroll_manager_of_another_company_cannot_generate_or_see_the_bills(self):
        records = self.batch._xero_generate_bills(push=False)
        _other, user = self._xero_user_elsewhere(
            "payroll_kowloon",
            "payroll.group_payroll_manager",
            {"name": "Kowloon Trading Ltd", "currency_id": self.company.currency_id.id},
        )
        with self.assertRaises(AccessError):
            self.batch.with_user(user)._xero_generate_bills()
        self.assertFalse(self.env["xero.bill.record"].with_user(user).search([("id", "in", records.ids)]))
        self.assertFalse(
            self.env["xero.mapping.type"].with_user(user).search([("id", "in", self.mpf_type.ids)])
        )
