# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The batch summary each bill carries in Xero: a PDF of what it was built from, attached once it exists.

The summary is the QWeb report ``hr_payroll_xero.action_report_xero_bill_record`` (batch, period, type, each
line with its pay item and employee count, totals, the link back to the record), uploaded through the
sidecar's ``XeroClient.attach``, which looks at the document's attachments first: a retry never attaches it
twice. A failed upload leaves the bill as it is (sent); the push cron tries again when the failure was
temporary. Mapping types say whether their bills carry it (``attach_summary``, on by default).
"""

import logging
import math
from datetime import timedelta

import psycopg2

from odoo import api, fields, models
from odoo.exceptions import UserError

from .const import MAX_ATTEMPTS
from .utils import notification

try:
    from payroll_xero.bills import ACCPAYCREDIT
    from payroll_xero.client import attachment_file_name
    from payroll_xero.errors import XeroError
except ImportError:  # pragma: no cover - checked by external_dependencies
    ACCPAYCREDIT = "ACCPAYCREDIT"
    attachment_file_name = None
    XeroError = Exception

_logger = logging.getLogger(__name__)

SUMMARY_REPORT = "hr_payroll_xero.action_report_xero_bill_record"


class XeroBillRecordAttachment(models.Model):
    _inherit = "xero.bill.record"  # pylint: disable=consider-merging-classes-inherited

    xero_attachment_state = fields.Selection(
        [("attached", "Attached"), ("outdated", "To Replace"), ("failed", "Failed")],
        string="Batch Summary in Xero",
        readonly=True,
        copy=False,
        index=True,
        help="Attached: the bill in Xero carries the batch summary (PDF). To replace: the bill was updated "
        "since, the next push replaces the summary. Failed: see the reason; temporary failures are retried "
        "by the push cron.",
    )
    xero_attachment_name = fields.Char(string="Summary File in Xero", readonly=True, copy=False)
    xero_attachment_error = fields.Text(string="Summary Not Attached", readonly=True, copy=False)
    xero_attachment_tries = fields.Integer(readonly=True, copy=False)
    xero_attachment_next_at = fields.Datetime(readonly=True, copy=False)
    xero_attach_wanted = fields.Boolean(compute="_compute_xero_attach_wanted")

    @api.depends("state", "xero_id", "type_id.attach_summary", "xero_attachment_state")
    def _compute_xero_attach_wanted(self):
        for record in self:
            record.xero_attach_wanted = record._xero_wants_summary()

    def _xero_wants_summary(self):
        """Whether this sent bill should get (or get again) its batch summary in Xero."""
        self.ensure_one()
        return bool(
            self.state == "sent"
            and self.xero_id
            and self.type_id.attach_summary
            and self.xero_attachment_state != "attached"
        )

    # ------------------------------------------------------------------ the summary

    def _xero_summary_file(self):
        """(file name, bytes) of this record's batch summary: a PDF, named after the bill number.

        Odoo renders reports as HTML instead of PDF while it runs tests (unless the context says
        ``force_report_rendering``): the file is then named ``.html``; that never happens in production,
        where a missing wkhtmltopdf is a UserError saying so.
        """
        self.ensure_one()
        content, kind = self.env["ir.actions.report"].sudo()._render_qweb_pdf(SUMMARY_REPORT, self.ids)
        if isinstance(content, str):
            content = content.encode()
        extension = ".pdf" if kind == "pdf" else f".{kind}"
        return attachment_file_name(self.invoice_number, extension), content

    def _xero_summary_lines(self):
        """What the summary shows: each line with its pay item and the number of employees it sums."""
        self.ensure_one()
        counts = self._xero_employee_counts()
        lines = []
        for line in self.line_ids.sorted("sequence"):
            option = (line.tracking or "").partition(": ")[2] or None
            employees = counts.get(line.salary_rule_id.id, {})
            if self.employee_id:
                number = int(self.employee_id.id in employees)
            else:
                number = sum(1 for dept in employees.values() if option is None or dept == option)
            lines.append(
                {
                    "account_code": line.account_code,
                    "account_name": line.account_id.name or "",
                    "description": line.description,
                    "pay_item": line.pay_item or "",
                    "pay_item_name": line.salary_rule_id.name or line.pay_item or "",
                    "tracking": line.tracking or "",
                    "employees": number,
                    "amount": f"{line.amount:,.2f}",
                    "debit": f"{line.debit:,.2f}" if line.debit else "",
                    "credit": f"{line.credit:,.2f}" if line.credit else "",
                }
            )
        everyone = {e for by_employee in counts.values() for e in by_employee}
        return {
            "lines": lines,
            "total": f"{self.total:,.2f}",
            "employees": 1 if self.employee_id else len(everyone),
        }

    def _xero_employee_counts(self):
        """{rule id: {employee id: department name}} of the batch's done payslip lines that are not zero."""
        rules = self.line_ids.salary_rule_id
        if not rules:
            return {}
        rows = (
            self.env["hr.payslip.line"]
            .sudo()
            ._read_group(
                [
                    ("slip_id.payslip_run_id", "=", self.payslip_run_id.id),
                    ("slip_id.state", "=", "done"),
                    ("salary_rule_id", "in", rules.ids),
                ],
                ["salary_rule_id", "employee_id"],
                ["total:sum"],
            )
        )
        counts = {}
        for rule, employee, total in rows:
            if total:
                counts.setdefault(rule.id, {})[employee.id] = employee.department_id.name or None
        return counts

    # ------------------------------------------------------------------ attaching

    def action_xero_attach_summary(self):
        """Attach (or attach again) the batch summary of the selected sent bills now."""
        self._xero_check_action_access()
        records = self.sudo().filtered(lambda r: r.state == "sent" and r.xero_id)
        if not records:
            raise UserError(
                self.env._("Only bills sent to Xero can carry their batch summary: push them first.")
            )
        for connection, group in records.grouped("connection_id").items():
            group._xero_attach_with(connection)
        failed = records.filtered(lambda r: r.xero_attachment_state == "failed")
        message = self.env._(
            "%(done)s summary(ies) attached in Xero, %(failed)s not: %(errors)s",
            done=len(records) - len(failed),
            failed=len(failed),
            errors=" | ".join(f"{r.invoice_number}: {r.xero_attachment_error}" for r in failed[:5]) or "-",
        )
        return notification(self.env._("Xero"), message, warning=bool(failed))

    def _xero_attach_with(self, connection):
        """Attach the summaries of ``self`` through ``connection``'s client (no client: each record says why)."""
        try:
            client = connection._xero_client()
        except UserError as exc:
            for record in self:
                record._xero_attachment_failed(exc)
            return
        self._xero_attach_summaries(client)

    def _xero_attach_summaries(self, client, created_numbers=()):
        """Attach the batch summary of each sent record of ``self`` that wants one; never raises for one
        record's failure. Bills created by this very push (``created_numbers``) have no attachment yet:
        their upload skips the look-up (one call instead of two)."""
        for record in self.filtered(lambda r: r._xero_wants_summary()):
            record._xero_attach_summary(client, check_existing=record.invoice_number not in created_numbers)

    def _xero_attach_summary(self, client, check_existing=True):
        self.ensure_one()
        replace = self.xero_attachment_state == "outdated"
        try:
            file_name, content = self._xero_summary_file()
            result = client.attach(
                self.xero_id,
                file_name,
                content,
                credit_note=self.doc_type == ACCPAYCREDIT,
                journal=self.document == "journal",
                replace=replace,
                check_existing=check_existing or replace,
            )
        except psycopg2.Error:
            raise  # the transaction is lost: the caller's savepoint deals with it
        except (XeroError, UserError) as exc:
            self._xero_attachment_failed(exc)
            return
        except Exception as exc:  # pylint: disable=broad-exception-caught
            _logger.warning(
                "Xero bill record %s: the batch summary failed unexpectedly", self.id, exc_info=True
            )
            self._xero_attachment_failed(exc, retryable=False)
            return
        self.write(
            {
                "xero_attachment_state": "attached",
                "xero_attachment_name": result.attachment.file_name,
                "xero_attachment_error": False,
                "xero_attachment_tries": 0,
                "xero_attachment_next_at": False,
            }
        )
        if result.already:
            body = self.env._("The batch summary %s was already attached in Xero.", file_name)
        elif result.replaced:
            body = self.env._("The batch summary %s was replaced in Xero by the new one.", file_name)
        else:
            body = self.env._("The batch summary %s was attached to the bill in Xero.", file_name)
        self.message_post(body=body)

    def _xero_attachment_failed(self, exc, retryable=None):
        """The bill stays as it is (sent); the summary waits, for the cron when the failure was temporary."""
        self.ensure_one()
        if retryable is None:
            retryable = not isinstance(exc, UserError) and getattr(exc, "retryable", False)
        tries = self.xero_attachment_tries + 1
        next_at = False
        if retryable and tries < MAX_ATTEMPTS:
            wait = getattr(exc, "retry_after", None)
            delay = (
                timedelta(seconds=math.ceil(wait))
                if wait is not None
                else timedelta(minutes=5 * 2 ** (tries - 1))
            )
            next_at = fields.Datetime.now() + delay
        if isinstance(exc, (XeroError, UserError)):
            text = str(exc.args[0] if isinstance(exc, UserError) and exc.args else exc)
        else:
            text = self.env._("unexpected error (%s)", type(exc).__name__)
        message = self.env._(
            "The batch summary could not be attached: %(error)s %(then)s",
            error=text,
            then=self.env._("The cron tries again later.")
            if next_at
            else self.env._("Press Attach Summary on the bill once the cause is fixed."),
        )
        self.write(
            {
                "xero_attachment_state": "failed",
                "xero_attachment_error": message,
                "xero_attachment_tries": tries,
                "xero_attachment_next_at": next_at,
            }
        )
        self.message_post(body=message)
        _logger.info("Xero bill record %s: summary not attached: %s", self.id, text)

    @api.model
    def _xero_attachments_due(self, limit):
        """Sent records whose summary waits for the cron: to replace, or failed and due again."""
        now = fields.Datetime.now()
        return self.sudo().search(
            [
                ("state", "=", "sent"),
                ("xero_id", "!=", False),
                ("type_id.attach_summary", "=", True),
                "|",
                ("xero_attachment_state", "=", "outdated"),
                "&",
                "&",
                ("xero_attachment_state", "=", "failed"),
                ("xero_attachment_next_at", "!=", False),
                ("xero_attachment_next_at", "<=", now),
            ],
            order="id",
            limit=limit,
        )
