# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Generating the Xero bills of a payslip batch.

The batch's done payslip lines are summed per employee and salary rule with grouped reads,
turned into the sidecar's ``PayRun`` and ``Mapping`` and handed to ``build_documents``: the bill
and journal arithmetic lives in the sidecar only. The resulting bills, and the manual journal of each
journal mapping type, are stored as ``xero.bill.record`` (one per bill number or journal key, never
duplicated) and pushed.
"""

import dataclasses
import logging
from decimal import Decimal

import psycopg2

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from .compat import payslip_line_currency
from .const import EDITABLE_STATUSES, USABLE_CONNECTION_STATES
from .utils import window_action

try:
    from payroll_xero.journals import build_documents
    from payroll_xero.model import Mapping, PayLine, PayRun, Payslip
except ImportError:  # pragma: no cover - checked by external_dependencies
    build_documents = Mapping = PayLine = PayRun = Payslip = None

_logger = logging.getLogger(__name__)


@dataclasses.dataclass
class XeroPreparation:
    """What generating a batch's bills would do: the bills and everything worth telling first."""

    run: models.Model
    connection: models.Model
    bills: list = dataclasses.field(default_factory=list)  # sidecar Bills, then Journals
    errors: list = dataclasses.field(default_factory=list)  # block the generation
    warnings: list = dataclasses.field(default_factory=list)  # bills concerned are refused at push
    unmapped: list = dataclasses.field(default_factory=list)  # (code, name, amount)
    type_by_number: dict = dataclasses.field(default_factory=dict)
    employee_by_key: dict = dataclasses.field(default_factory=dict)
    rule_ids_by_key: dict = dataclasses.field(default_factory=dict)


class HrPayslipRun(models.Model):
    _inherit = "hr.payslip.run"

    xero_reference = fields.Char(
        copy=False,
        readonly=True,
        help="Start of the numbers of this batch's bills, fixed at the first generation.",
    )
    xero_record_ids = fields.One2many("xero.bill.record", "payslip_run_id", string="Xero Bills")
    xero_record_count = fields.Integer(compute="_compute_xero_state")
    xero_state = fields.Selection(
        [("none", "Not sent"), ("partial", "Partly sent"), ("sent", "Sent"), ("failed", "Failed")],
        string="Xero Status",
        compute="_compute_xero_state",
    )
    xero_can_generate = fields.Boolean(compute="_compute_xero_can_generate")

    def _compute_xero_state(self):
        counts = {}
        for run, state, count in self.env["xero.bill.record"]._read_group(
            [("payslip_run_id", "in", self.ids)], ["payslip_run_id", "state"], ["__count"]
        ):
            counts.setdefault(run.id, {})[state] = count
        for run in self:
            by_state = counts.get(run.id, {})
            run.xero_record_count = sum(by_state.values())
            live = {state: n for state, n in by_state.items() if state != "cancelled"}
            if not live:
                run.xero_state = "none"
            elif live.get("failed"):
                run.xero_state = "failed"
            elif live.get("sent") == sum(live.values()):
                run.xero_state = "sent"
            elif live.get("sent"):
                run.xero_state = "partial"
            else:
                run.xero_state = "none"

    def _compute_xero_can_generate(self):
        done = dict(
            self.env["hr.payslip"]._read_group(
                [("payslip_run_id", "in", self.ids), ("state", "=", "done")], ["payslip_run_id"], ["__count"]
            )
        )
        for run in self:
            run.xero_can_generate = run.state == "close" or bool(done.get(run))

    # ------------------------------------------------------------------ actions

    def action_xero_generate_bills(self):
        """Open the preview of the bills of the selected batches."""
        self._xero_check_access()
        wizard = self.env["xero.bill.generate"].create({"run_ids": [(6, 0, self.ids)]})
        # the preview is a wide table (lines and totals): the default dialog wraps the bill numbers
        return window_action(
            self.env._("Generate Xero Bills"),
            "xero.bill.generate",
            wizard.id,
            context={"dialog_size": "extra-large"},
        )

    def action_xero_view_records(self):
        action = self.env["ir.actions.act_window"]._for_xml_id("hr_payroll_xero.xero_bill_record_action")
        action["domain"] = [("payslip_run_id", "in", self.ids)]
        action["context"] = {"search_default_group_by_type": 1}
        return action

    def draft_payslip_run(self):
        """Setting a batch back to draft (OCA payroll's "cancel") proposes to cancel its bills in Xero."""
        result = super().draft_payslip_run()
        live = self.xero_record_ids.filtered(lambda r: r.xero_id and r.state != "cancelled")
        if live:
            return self.env["xero.bill.cancel"]._xero_open(self, live)
        return result

    # ------------------------------------------------------------------ generation

    def _xero_check_access(self):
        if self.env.su:
            return
        if not self.env.user.has_group("hr_payroll_xero.group_xero_user"):
            raise AccessError(self.env._("Only Xero users may generate Xero bills."))
        foreign = self.filtered(lambda run: run.company_id not in self.env.user.company_ids)
        if foreign:
            raise AccessError(
                self.env._(
                    "You may not generate Xero bills of %(batches)s: they belong to a company you have no "
                    "access to.",
                    batches=", ".join(foreign.mapped("name")),
                )
            )

    def _xero_lock_for_generation(self):
        """Serialize generations of the same batch (a double click runs them one after the other)."""
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    "SELECT id FROM hr_payslip_run WHERE id IN %s FOR UPDATE NOWAIT", [tuple(self.ids)]
                )
        except psycopg2.errors.LockNotAvailable:
            raise UserError(
                self.env._(
                    "The Xero bills of these batches are being generated right now: try again in a minute."
                )
            ) from None

    def _xero_generate_bills(self, push=True, preparations=None):
        """Create or update the Xero bill records of the batches and (with ``push``) send them.

        Returns the records of the bills the batches produce now. Never duplicates: a bill
        number exists once; unchanged bills are left alone. Records are written only here and by
        their own actions: after the access check, as superuser. Each batch's ``XeroPreparation``
        (its warnings, unmapped pay items) is appended to ``preparations`` when a list is given.
        """
        self._xero_check_access()
        if not self:
            return self.env["xero.bill.record"]
        self._xero_lock_for_generation()
        records = self.env["xero.bill.record"].sudo()
        for run in self:
            preparation = run._xero_prepare()
            if preparations is not None:
                preparations.append(preparation)
            if preparation.errors:
                raise UserError("\n".join(preparation.errors))
            records |= run._xero_sync_records(preparation, push=push)
        if push:
            # With queue_job: enqueued on the organisation's channel, the request returns at once.
            records.filtered(lambda r: r.state == "queued")._xero_push_or_enqueue()
        return records.with_env(self.env)

    def _xero_payment_date(self):
        self.ensure_one()
        return self.date_end

    def _xero_default_reference(self):
        self.ensure_one()
        return f"PR{self.id}-{self.date_end:%Y%m}"

    def _xero_collect(self):
        """[(employee id, rule id, currency id, Decimal total)] of the done payslips, refunds negative.

        Two grouped reads (per rule and currency) whatever the size of the batch. Ids, not records:
        5,000 payslips give 150,000 employee/rule totals, and a record per cell would cost more than
        building the bills.
        """
        self.ensure_one()
        Line = self.env["hr.payslip.line"]
        base = [("slip_id.payslip_run_id", "=", self.id), ("slip_id.state", "=", "done")]
        totals = {}
        for credit in (False, True):
            sign = -1 if credit else 1
            for rule, currency, employee_ids, line_totals in Line._read_group(
                [*base, ("slip_id.credit_note", "=", credit)],
                ["salary_rule_id", payslip_line_currency(Line)],
                ["employee_id:array_agg", "total:array_agg"],
            ):
                rule_id, currency_id = rule.id, currency.id
                for employee_id, total in zip(employee_ids, line_totals, strict=True):
                    key = (employee_id, rule_id, currency_id)
                    totals[key] = totals.get(key, 0) + sign * Decimal(str(total or 0))
        return [(*key, total) for key, total in totals.items()]

    def _xero_prepare(self):
        """Build the batch's bills with the sidecar, without writing anything."""
        self.ensure_one()
        company = self.company_id
        prep = XeroPreparation(run=self, connection=self.env["xero.connection"]._xero_for_company(company))
        types = self.env["xero.mapping.type"].search([("company_id", "=", company.id)])
        rows = self._xero_collect()
        error = self._xero_missing_input(rows, types)
        if error:
            prep.errors.append(error)
            return prep
        employees = self.env["hr.employee"].browse(sorted({row[0] for row in rows}))
        contact_keys = employees._xero_contact_keys()
        rules = self.env["hr.salary.rule"].browse({row[1] for row in rows}) | types.line_ids.salary_rule_id
        pay_item_keys = rules._xero_pay_item_keys()
        prep.rule_ids_by_key = {key: rule.id for rule, key in pay_item_keys.items()}
        prep.employee_by_key = {key: employee for employee, key in contact_keys.items()}
        currencies = self.env["res.currency"].browse({row[2] for row in rows})
        rates, unknown = self._xero_rates(currencies, company.xero_currency_code)
        if unknown:
            prep.errors.append(self._xero_unknown_currency_error(unknown))
            return prep
        pay_run = self._xero_pay_run(rows, contact_keys, pay_item_keys, rates)
        mapping = Mapping(
            types=tuple(mtype._xero_sidecar_type(pay_item_keys) for mtype in types),
            ignore=frozenset(pay_item_keys[rule] for rule in rules if rule.xero_ignore),
        )
        result = build_documents(pay_run, mapping)
        self._xero_read_problems(prep, result.problems, rules)
        prep.bills = [*result.bills, *result.journals]
        type_by_code = {mtype.code: mtype for mtype in types}
        prep.type_by_number = {
            bill.invoice_number: type_by_code[bill.type_key]
            for bill in prep.bills
            if bill.type_key in type_by_code
        }
        if not prep.bills and not prep.errors:
            prep.errors.append(
                self.env._(
                    "Batch %(batch)s gives nothing to send: none of its pay items is mapped to a Xero account "
                    "(or they all sum to zero).",
                    batch=self.name,
                )
            )
        prep.warnings.extend(self._xero_connection_problems(prep))
        return prep

    def _xero_missing_input(self, rows, types):
        """The error when the batch has no totals or its company no mapping type, else None."""
        if not rows:
            return self.env._(
                "Batch %(batch)s has no done payslip with lines: confirm its payslips first.", batch=self.name
            )
        if not types:
            return self.env._(
                "%(company)s has no mapping type: create them in Payroll > Xero > Mapping Types.",
                company=self.company_id.name,
            )
        return None

    def _xero_unknown_currency_error(self, unknown):
        return self.env._(
            "Batch %(batch)s has payslips in %(codes)s and bills go out in %(code)s, which Odoo does not "
            "know: activate %(code)s in Accounting > Currencies (with its rates).",
            batch=self.name,
            codes=", ".join(sorted(unknown)),
            code=self.company_id.xero_currency_code,
        )

    def _xero_pay_run(self, rows, contact_keys, pay_item_keys, rates):
        """The sidecar's PayRun of the totals ``rows``, converted to the company's Xero currency."""
        # Plain dicts by id in the loop over the totals (150,000 of them for 5,000 payslips).
        rate_by_id = {currency.id: rate for currency, rate in rates.items()}
        item_by_rule_id = {rule.id: (key, rule.name) for rule, key in pay_item_keys.items()}
        lines_by_employee = {}
        for employee_id, rule_id, currency_id, amount in rows:
            rate = rate_by_id.get(currency_id)
            if rate is not None:
                amount = amount * rate
            key, name = item_by_rule_id[rule_id]
            lines_by_employee.setdefault(employee_id, []).append(PayLine(key, name, amount))
        payslips = tuple(
            Payslip(
                employee_key=contact_keys[employee],
                employee_name=employee.name,
                lines=tuple(lines_by_employee[employee.id]),
                department=employee.department_id.name or None,
            )
            for employee in sorted(contact_keys, key=lambda employee: contact_keys[employee])
        )
        return PayRun(
            reference=self.xero_reference or self._xero_default_reference(),
            period_start=self.date_start,
            period_end=self.date_end,
            payment_date=self._xero_payment_date(),
            currency=self.company_id.xero_currency_code,
            payslips=payslips,
            name=self.name,
        )

    def _xero_read_problems(self, prep, problems, rules):
        """Sort the sidecar's problems into ``prep``: unmapped pay items, errors and warnings."""
        for problem in problems:
            if problem.code == "unmapped_pay_item":
                rule = rules.browse(prep.rule_ids_by_key.get(problem.pay_item))
                prep.unmapped.append((problem.pay_item, rule.name or problem.pay_item, problem.amount))
            elif problem.code == "nothing_to_send":
                continue  # said by _xero_prepare as an error: generating nothing is refused
            elif problem.is_error:
                prep.errors.append(
                    self.env._("Batch %(batch)s: %(problem)s", batch=self.name, problem=problem.message)
                )
            else:
                prep.warnings.append(problem.message)

    def _xero_rates(self, currencies, currency_code):
        """({payslip currency: Decimal rate to the Xero currency}, {codes without a target in Odoo})."""
        foreign = [currency for currency in currencies if currency.name != currency_code]
        if not foreign:
            return {}, set()
        target = (
            self.env["res.currency"]
            .with_context(active_test=False)
            .search([("name", "=", currency_code)], limit=1)
        )
        if not target:
            return {}, {currency.name for currency in foreign}
        day = self._xero_payment_date()
        return {
            currency: Decimal(str(currency._get_conversion_rate(currency, target, self.company_id, day)))
            for currency in foreign
        }, set()

    def _xero_connection_problems(self, prep):
        """Sentences about what the push will refuse: no connection, currency, archived or unknown accounts."""
        problems = prep.connection._xero_bill_problems(prep.bills, self.company_id)
        general = problems.pop(None)
        if prep.connection.state not in USABLE_CONNECTION_STATES:
            return [
                self.env._(
                    "%(problem)s: the bills will wait until you connect it (Payroll > Xero > Connections) and "
                    "push them.",
                    problem=sentence,
                )
                for sentence in general
            ]
        sentences = [
            self.env._(
                "%(problem)s. The bills will be refused: change the company's Xero currency first.",
                problem=sentence,
            )
            for sentence in general
        ]
        for bill_sentences in problems.values():
            sentences.extend(
                self.env._("%(problem)s: the bill will be refused.", problem=sentence)
                for sentence in bill_sentences
            )
        return list(dict.fromkeys(sentences))

    @api.model
    def _xero_preview(self, runs):
        """Preview values of ``runs`` for the generate wizard's template."""
        previews = []
        for run in runs:
            prep = run._xero_prepare()
            existing = {
                record.invoice_number: record
                for record in self.env["xero.bill.record"].search(
                    [("company_id", "=", run.company_id.id), ("payslip_run_id", "=", run.id)]
                )
            }
            bills = []
            for bill in prep.bills:
                record = existing.get(bill.invoice_number)
                bills.append(
                    {
                        "bill": bill,
                        "type": prep.type_by_number.get(bill.invoice_number),
                        "what": run._xero_preview_status(bill, record),
                    }
                )
            previews.append({"run": run, "prep": prep, "bills": bills})
        return previews

    def _xero_preview_status(self, bill, record):
        if not record:
            return self.env._("New")
        if record.state == "cancelled":
            return self.env._("New (the previous one was cancelled)")
        if record.content_hash == dataclasses.replace(bill, url=record._xero_odoo_url()).content_hash():
            return self.env._("Unchanged")
        if not record.xero_id:
            return self.env._("Replaced (not in Xero yet)")
        if record.xero_status in EDITABLE_STATUSES and record.doc_type == bill.doc_type:
            return self.env._("Updated in Xero")
        return self.env._("Left as is: %s in Xero, cancel it first", record.xero_status)
