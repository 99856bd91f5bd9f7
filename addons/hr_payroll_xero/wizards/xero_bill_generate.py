# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import UserError

from ..models.utils import notification


class XeroBillGenerate(models.TransientModel):
    _name = "xero.bill.generate"
    _description = "Generate Xero Bills"

    run_ids = fields.Many2many("hr.payslip.run", string="Payslip Batches", required=True, readonly=True)
    preview_html = fields.Html(compute="_compute_preview", sanitize=False, string="Preview")
    has_errors = fields.Boolean(compute="_compute_preview")
    bill_count = fields.Integer(compute="_compute_preview")

    @api.depends("run_ids")
    def _compute_preview(self):
        Type = self.env["xero.mapping.type"]
        status_labels = dict(
            Type._fields["journal_status"]._description_selection(self.env)
            + Type._fields["bill_status"]._description_selection(self.env)
        )
        for wizard in self:
            runs = wizard.run_ids.filtered("xero_can_generate")
            previews = self.env["hr.payslip.run"]._xero_preview(runs)
            skipped = wizard.run_ids - runs
            errors = [
                self.env._(
                    "Batch %(batch)s is not closed and has no done payslip: close it first.", batch=run.name
                )
                for run in skipped
            ]
            for preview in previews:
                errors.extend(preview["prep"].errors)
            wizard.has_errors = bool(errors)
            wizard.bill_count = sum(len(preview["bills"]) for preview in previews)
            wizard.preview_html = self.env["ir.qweb"]._render(
                "hr_payroll_xero.xero_bill_generate_preview",
                {
                    "previews": previews,
                    "errors": errors,
                    "format_amount": self._xero_amount_formatter(previews),
                    "status_labels": status_labels,
                },
            )

    @api.model
    def _xero_amount_formatter(self, previews):
        """``format_amount(amount, code)`` for the preview: ``amount`` in the currency of ``code`` (the bill's,
        not the company's), with its symbol, position and decimals as Odoo shows them."""
        codes = [bill["bill"].currency for preview in previews for bill in preview["bills"]]
        codes += [preview["run"].company_id.xero_currency_code for preview in previews]
        currencies = self.env["xero.bill.record"]._xero_currencies(codes)

        def format_amount(amount, code):
            currency = currencies.get(code)
            return currency.format(float(amount)) if currency else f"{amount:,.2f}"

        return format_amount

    def action_confirm(self):
        """Create the records, push them and show the batches' records."""
        self.ensure_one()
        if self.has_errors:
            raise UserError(self.env._("Fix the problems listed in the preview first."))
        records = self.run_ids._xero_generate_bills(push=True)
        action = self.run_ids.action_xero_view_records()
        if len(records) == 1:
            action.update({"view_mode": "form", "views": [(False, "form")], "res_id": records.id})
        queued = (
            records.sudo().filtered("job_uuid").filtered(lambda r: r.push_progress in ("queued", "sending"))
        )
        if queued:
            return notification(
                self.env._("Xero"),
                self.env._(
                    "%s bill(s) or journal(s) queued for Xero: the batch shows their progress, and you are notified there "
                    "when they are pushed.",
                    len(queued),
                ),
                reload=False,
                next=action,
            )
        return action
