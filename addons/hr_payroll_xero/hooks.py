# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).


def uninstall_hook(env):
    """Remove the payslips of this module's demo employees before Odoo deletes its data.

    The demo batch's payslips are confirmed and OCA payroll refuses to delete confirmed
    payslips, so without this the demo employees and contracts could not be removed. Only
    employees created by this module's demo data (they carry its XML ids) are concerned.
    """
    employee_ids = (
        env["ir.model.data"]
        .search([("module", "=", "hr_payroll_xero"), ("model", "=", "hr.employee")])
        .mapped("res_id")
    )
    if not employee_ids:
        return
    slips = env["hr.payslip"].with_context(active_test=False).search([("employee_id", "in", employee_ids)])
    if not slips:
        return
    runs = slips.payslip_run_id
    if runs:
        # The records' table goes with the module; its rows would block deleting the batch.
        env.cr.execute("DELETE FROM xero_bill_record WHERE payslip_run_id IN %s", [tuple(runs.ids)])
    slips.write({"state": "cancel"})
    slips.unlink()
