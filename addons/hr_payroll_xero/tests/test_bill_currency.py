# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Bills in the company's Xero currency (HKD) when its books are in another one (USD): records, lines and the
preview show the bill's currency, not the company's."""

from odoo.tests import tagged

from .common import XeroPayrollCase


@tagged("post_install", "-at_install")
class TestBillCurrency(XeroPayrollCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.net_type, cls.mpf_type = cls._xero_make_types()
        cls.hkd = cls.env.ref("base.HKD")
        # Odoo's data gives HKD the symbol "$", as USD: a distinct one tells here which currency is shown.
        cls.hkd.symbol = "HK$"
        cls.env["res.currency.rate"].create(
            {"currency_id": cls.hkd.id, "name": "2026-01-01", "rate": 7.8, "company_id": cls.company.id}
        )
        cls.company.xero_currency_code = "HKD"

    def test_the_company_keeps_its_books_in_another_currency_which_odoo_now_shows(self):
        self.assertNotEqual(self.company.currency_id, self.hkd)
        self.assertEqual(self.company.currency_id.symbol, "$")
        self.assertTrue(self.hkd.active, "the Xero currency is active: the web client knows its symbol")

    def test_records_and_their_lines_carry_the_bill_currency_not_the_company_currency(self):
        records = self.batch._xero_generate_bills()
        self.assertEqual(len(records), 5)
        self.assertEqual(set(records.mapped("currency_code")), {"HKD"})
        self.assertEqual(records.currency_id, self.hkd)
        self.assertEqual(records.line_ids.currency_id, self.hkd)
        for model, name in [
            ("xero.bill.record", "total"),
            ("xero.bill.record", "xero_amount_paid"),
            ("xero.bill.record", "xero_amount_due"),
            ("xero.bill.record.line", "amount"),
        ]:
            self.assertEqual(self.env[model]._fields[name].currency_field, "currency_id", f"{model}.{name}")
        mpf = records.filtered(lambda record: record.type_id == self.mpf_type)
        self.assertEqual(mpf.total, round(9525.10 * 7.8, 2), "the USD payslips converted at 7.8")
        self.assertEqual(mpf.currency_id.format(mpf.total), self.hkd.format(74295.78))
        self.assertTrue(mpf.currency_id.format(mpf.total).startswith("HK$"))

    def test_the_preview_shows_the_amounts_in_the_bill_currency(self):
        wizard = self.env["xero.bill.generate"].browse(self.batch.action_xero_generate_bills()["res_id"])
        html = str(wizard.preview_html)
        self.assertFalse(wizard.has_errors, html)
        self.assertIn(self.hkd.format(74295.78), html)  # the MPF bill's total, with HK$
        self.assertIn("HKD", html)

    def test_a_currency_odoo_does_not_know_shows_none_rather_than_the_company_currency(self):
        found = self.env["xero.bill.record"]._xero_currencies(["HKD", "QQQ", False])
        self.assertEqual(found, {"HKD": self.hkd})
