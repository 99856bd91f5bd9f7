# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models
from odoo.exceptions import AccessError

from .xero_bill_record import MAX_CONTACT_NUMBER


class HrEmployee(models.Model):
    _inherit = "hr.employee"

    # An employee belongs to one company in Odoo, so these plain fields are per company.
    xero_contact_number = fields.Char(
        copy=False,
        size=MAX_CONTACT_NUMBER,  # Xero's limit of a ContactNumber
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

    def write(self, vals):
        # The ContactID is Xero's answer to a push: a hand-set one would send the employee's bills to
        # another contact.
        if "xero_contact_id" in vals and not self.env.su:
            raise AccessError(
                self.env._("The Xero ContactID of an employee is set by the push to Xero only.")
            )
        return super().write(vals)

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
