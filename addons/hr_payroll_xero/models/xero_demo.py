# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from odoo import api, models

from .compat import employees_with_running_contract, set_running_contract

_logger = logging.getLogger(__name__)


class XeroDemo(models.AbstractModel):
    _name = "xero.demo"
    _description = "Xero Payroll Demo Data"

    @api.model
    def _xero_demo_contracts(self, structure_id, contracts):
        """Give each demo employee a running contract on ``structure_id``: ``contracts`` lists
        ``(employee xml id, start date, monthly wage)``. The contract takes the employee's company, department
        and working schedule, and the xml id ``contract_<name>`` (``employee_<name>``'s)."""
        structure = self.env["hr.payroll.structure"].browse(structure_id)
        for employee_xmlid, date_start, wage in contracts:
            contract_xmlid = "hr_payroll_xero." + employee_xmlid.replace("employee_", "contract_", 1)
            if self.env.ref(contract_xmlid, raise_if_not_found=False):
                continue
            employee = self.env.ref("hr_payroll_xero." + employee_xmlid)
            contract = set_running_contract(
                employee,
                name=f"{employee.name} - {employee.job_title}",
                structure=structure,
                wage=wage,
                date_start=date_start,
                company_id=employee.company_id.id,
                department_id=employee.department_id.id,
                resource_calendar_id=employee.resource_calendar_id.id,
            )
            self.env["ir.model.data"]._update_xmlids(
                [{"xml_id": contract_xmlid, "record": contract, "noupdate": True}]
            )
        return True

    @api.model
    def _xero_demo_compute_batch(self, run_id, overtime_hours=None):
        """Fill the demo batch ``run_id`` with a done payslip for every employee of its company who has a
        running contract, as *Generate Payslips* and *Confirm* would, and close it.

        ``overtime_hours`` maps an employee's xml id to the hours of its OT_HOURS payslip input.
        Does nothing when the batch already has payslips (a module update does not repeat it).
        """
        run = self.env["hr.payslip.run"].browse(run_id).exists()
        if not run or run.slip_ids:
            return False
        company = run.company_id
        overtime = {self.env.ref(xmlid).id: hours for xmlid, hours in (overtime_hours or {}).items() if hours}
        employees = employees_with_running_contract(self.env, company)
        Payslip = self.env["hr.payslip"].with_company(company)
        vals_list = []
        for employee in employees:
            slip = Payslip.get_payslip_vals(run.date_start, run.date_end, employee.id)["value"]
            vals_list.append(
                {
                    "employee_id": employee.id,
                    "contract_id": slip["contract_id"],
                    "struct_id": slip["struct_id"],
                    "payslip_run_id": run.id,
                    "date_from": run.date_start,
                    "date_to": run.date_end,
                    "credit_note": run.credit_note,
                    "company_id": company.id,
                    "worked_days_line_ids": [
                        (0, 0, line) for line in slip["worked_days_line_ids"] if isinstance(line, dict)
                    ],
                }
            )
        payslips = Payslip.create(vals_list)
        for payslip in payslips:
            # The inputs of the payslip's structure (what the form's onchange adds), with the demo's values.
            inputs = payslip.get_inputs(payslip._get_employee_contracts(), run.date_start, run.date_end)
            hours = overtime.get(payslip.employee_id.id, 0.0)
            payslip.input_line_ids = [
                (0, 0, dict(line, amount=hours if line["code"] == "OT_HOURS" else 0.0)) for line in inputs
            ]
        payslips._compute_name()
        payslips.compute_sheet()
        # OCA payroll 18.0's action_payslip_done() is not multi-record safe: confirm one payslip at a time.
        for payslip in payslips:
            payslip.action_payslip_done()
        run.close_payslip_run()
        _logger.info("Demo payslip batch %s: %s payslips done", run.name, len(payslips))
        return True
