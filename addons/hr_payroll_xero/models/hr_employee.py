# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class HrEmployee(models.Model):
    _inherit = "hr.employee"

    # An employee belongs to one company in Odoo, so these plain fields are per company.
    xero_contact_number = fields.Char(
        copy=False,
        groups="hr_payroll_xero.group_xero_user",
        help="The employee's key in Xero (ContactNumber) and in the numbers of per-employee bills. "
        "Set to EMP<id> the first time bills are generated for this employee: an id never changes, "
        "whereas badges and identification numbers are edited or missing. Changing it makes later "
        "per-employee bills new bills in Xero.",
    )
    xero_contact_id = fields.Char(
        string="Xero ContactID",
        copy=False,
        readonly=True,
        groups="hr_payroll_xero.group_xero_user",
        help="The ContactID of this employee in the company's Xero organisation, remembered after a push.",
    )

    def _xero_contact_keys(self):
        """employee -> its stable Xero contact number, assigned (EMP<id>) when it has none yet."""
        sudo = self.sudo()
        numbers = [employee.xero_contact_number for employee in sudo]
        if not all(numbers):
            # One statement whatever the number of employees (generation runs a fixed number of queries).
            self.env.flush_all()
            self.env.cr.execute(
                "UPDATE hr_employee SET xero_contact_number = 'EMP' || id "
                "WHERE id IN %s AND (xero_contact_number IS NULL OR xero_contact_number = '')",
                [tuple(self.ids)],
            )
            sudo.invalidate_recordset(["xero_contact_number"])
            numbers = [employee.xero_contact_number for employee in sudo]
        return dict(zip(self, numbers, strict=True))
