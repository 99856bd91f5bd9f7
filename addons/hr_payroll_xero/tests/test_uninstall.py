# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import TransactionCase, tagged

from ..hooks import uninstall_hook
from ..models.compat import unlink_employees


@tagged("post_install", "-at_install")
class TestUninstall(TransactionCase):
    def test_uninstall_hook_frees_the_demo_employees_and_leaves_other_payslips(self):
        demo_run = self.env.ref("hr_payroll_xero.payslip_run_harbour", raise_if_not_found=False)
        if not demo_run or not demo_run.slip_ids:
            self.skipTest("installed without demo data")
        self.env["ir.config_parameter"].sudo().set_param("hr_payroll_xero.api_url", "http://127.0.0.1:9")
        demo_run._xero_generate_bills(push=False)  # records that reference the batch
        others = self.env["hr.payslip"].search([("payslip_run_id", "!=", demo_run.id)])
        employees = self.env["hr.employee"].browse(
            self.env["ir.model.data"]
            .search([("module", "=", "hr_payroll_xero"), ("model", "=", "hr.employee")])
            .mapped("res_id")
        )
        uninstall_hook(self.env)
        self.env.invalidate_all()
        self.assertFalse(demo_run.slip_ids)
        self.assertEqual(self.env["hr.payslip"].search([("payslip_run_id", "!=", demo_run.id)]), others)
        # what Odoo deletes next, the demo batch, contracts and employees, can now go
        demo_run.unlink()
        unlink_employees(employees)
        self.assertFalse(employees.exists())
