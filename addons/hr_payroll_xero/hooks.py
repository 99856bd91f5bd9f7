# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).


def uninstall_hook(env):
    """Remove this module's queue jobs, and the demo payslips (see _remove_demo_payslips)."""
    remove_queue_jobs(env)
    _remove_demo_payslips(env)


def remove_queue_jobs(env):
    """Delete the queue jobs of this module's models (queue_job is optional): after the uninstall a job left
    waiting would fail on a model that is gone, every time the runner took it up."""
    if "queue.job" not in env:
        return
    model_ids = (
        env["ir.model.data"]
        .search([("module", "=", "hr_payroll_xero"), ("model", "=", "ir.model")])
        .mapped("res_id")
    )
    names = env["ir.model"].browse(model_ids).exists().mapped("model")
    env["queue.job"].sudo().search([("model_name", "in", names)]).unlink()


def _remove_demo_payslips(env):
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
