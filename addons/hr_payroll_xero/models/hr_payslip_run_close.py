# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Closing a batch generates its Xero bills, when the company says so (``xero_generate_on_close``).

Closing does what *Generate Xero Bills* then *Confirm* do (``_xero_generate_bills(push=True)``), and the batch
is closed whatever that finds: what stops or spoils the generation (an unmapped pay item, no connection, a bill
Xero refused...) is kept on the batch, posted in its chatter and given to each Xero manager of its company as
an activity.
"""

import logging

from markupsafe import Markup

from odoo import fields, models
from odoo.exceptions import AccessError, UserError

from .compat import group_users

_logger = logging.getLogger(__name__)


class HrPayslipRunClose(models.Model):
    _inherit = "hr.payslip.run"  # pylint: disable=consider-merging-classes-inherited

    xero_close_problems = fields.Text(
        string="Xero Problems When Closed",
        readonly=True,
        copy=False,
        help="What generating the Xero bills found when the batch was closed.",
    )

    def close_payslip_run(self):
        result = super().close_payslip_run()
        for run in self.filtered(lambda r: r.company_id.xero_generate_on_close):
            run._xero_generate_on_close()
        return result

    def _xero_generate_on_close(self):
        """Generate and push the batch's bills; keep, post and hand out what went wrong. Never raises."""
        self.ensure_one()
        preparations = []
        stopped = None
        records = self.env["xero.bill.record"]
        try:
            with self.env.cr.savepoint():
                records = self._xero_generate_bills(push=True, preparations=preparations)
        except (UserError, AccessError) as exc:
            stopped = exc.args[0] if exc.args else str(exc)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            _logger.exception("Xero bills of batch %s: the generation on closing stopped", self.id)
            stopped = self.env._(
                "Generating the Xero bills stopped on an unexpected error (%s): generate them from the batch "
                "(Generate Xero Bills), or ask your administrator to look at the server log.",
                type(exc).__name__,
            )
        problems = self._xero_close_problem_lines(preparations, stopped, records)
        self.sudo().xero_close_problems = "\n".join(problems) or False
        if problems:
            self._xero_report_close_problems(problems, generated=stopped is None)
        return records

    def _xero_close_problem_lines(self, preparations, stopped, records):
        """Sentences: the errors that stopped the generation, its warnings, unmapped pay items, bills not sent."""
        problems = []
        for prep in preparations:
            problems.extend(prep.errors)
            problems.extend(prep.warnings)
            problems.extend(
                self.env._(
                    'Pay item "%(name)s" (%(code)s, total %(amount)s) is not mapped to a Xero account: it stays '
                    "out of Xero. Map it in Payroll > Xero > Mapping Types, or mark its salary rule Not Sent "
                    "to Xero, then generate the bills again.",
                    name=name,
                    code=code,
                    amount=total,
                )
                for code, name, total in self._xero_unmapped_totals(prep.unmapped)
            )
        if stopped and not any(prep.errors for prep in preparations):
            problems.append(stopped)
        problems.extend(
            self.env._("Bill %(number)s was not sent: %(error)s", number=r.invoice_number, error=r.last_error)
            for r in records.filtered(lambda r: r.state == "failed")
        )
        return list(dict.fromkeys(problems))

    @staticmethod
    def _xero_unmapped_totals(unmapped):
        """(code, name, total as text) of each unmapped pay item (formatted outside the translated call, which
        the translation extractor reads)."""
        return [(code, name, f"{amount:,.2f}") for code, name, amount in unmapped]

    def _xero_report_close_problems(self, problems, generated):
        """Post the problems on the batch and give each Xero manager of its company one activity."""
        if generated:
            title = self.env._("Batch %s was closed and its Xero bills generated, with problems:", self.name)
        else:
            title = self.env._("Batch %s was closed but its Xero bills were not generated:", self.name)
        body = Markup("%s<ul>%s</ul>") % (
            title,
            Markup().join(Markup("<li>%s</li>") % problem for problem in problems),
        )
        batch = self.sudo()
        batch.message_post(body=body)
        managers = group_users(self.env.ref("hr_payroll_xero.group_xero_manager")).filtered(
            lambda user: self.company_id in user.company_ids
        )
        for user in managers:
            batch.activity_schedule(
                "mail.mail_activity_data_todo",
                summary=self.env._("Xero bills of batch %s: problems when it was closed", self.name),
                note=body,
                user_id=user.id,
            )
