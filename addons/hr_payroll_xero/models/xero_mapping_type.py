# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import re

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .compat import sql_constraints
from .const import DOCUMENTS, JOURNAL_STATUSES
from .xero_bill_record import MAX_CONTACT_NAME, MAX_TRACKING_NAME
from .xero_mapping_line import ACCOUNT_DOMAIN

GROUPINGS = [("run", "One bill per batch"), ("employee", "One bill per employee")]
BILL_STATUSES = [("DRAFT", "Draft"), ("SUBMITTED", "Submitted for approval"), ("AUTHORISED", "Approved")]
MAX_CODE = 20
MAX_DUE_DAYS = 3650  # ten years: anything longer is a typing error


def code_from_name(name):
    """ "Income Additions" -> "INCOME-ADDITIONS": a short key fit for bill numbers."""
    return re.sub(r"[^A-Z0-9]+", "-", (name or "").upper()).strip("-")[:MAX_CODE]


@sql_constraints(
    (
        "code_company_uniq",
        "unique(company_id, code)",
        "Each mapping type of a company needs its own code: it is part of the bill numbers.",
    ),
    (
        "due_days_positive",
        f"CHECK(due_days >= 0 AND due_days <= {MAX_DUE_DAYS})",
        "The due date is between the payment date and ten years after it.",
    ),
)
class XeroMappingType(models.Model):
    _name = "xero.mapping.type"
    _description = "Xero Mapping Type"
    _order = "company_id, sequence, id"

    name = fields.Char(
        required=True, translate=True, help='What the bill is for, e.g. "MPF" or "Net salaries".'
    )
    code = fields.Char(
        required=True,
        size=MAX_CODE,
        help="Short stable key used in the bill numbers (BATCH/CODE[/EMPLOYEE]). Changing it after bills "
        "were sent makes new bills.",
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    document = fields.Selection(
        DOCUMENTS,
        string="Makes",
        required=True,
        default="bill",
        help="Bills: bills (or supplier credit notes) to a contact, per batch or per employee, that are then "
        "paid. Manual journal: one balanced journal per batch that records the payroll in the ledger (e.g. "
        "wages expense against wages payable), with no contact and nothing to pay in Xero.",
    )
    journal_status = fields.Selection(
        JOURNAL_STATUSES,
        required=True,
        default="DRAFT",
        help="Status the manual journals are created with in Xero. A draft journal can still be updated "
        "(or deleted) from Odoo; a posted one is final (cancelling voids it).",
    )
    rounding_account_id = fields.Many2one(
        "xero.account",
        ondelete="restrict",
        domain=ACCOUNT_DOMAIN,
        help="When the journal's debits and credits differ by a few cents (at most 5 minor units of the "
        "currency) after each line is rounded, one visible line to this account takes the difference. "
        "Without it such a journal is refused; a larger difference is always refused.",
    )
    grouping = fields.Selection(
        GROUPINGS,
        required=True,
        default="run",
        help="One bill per batch to the contact below (e.g. the MPF trustee), or one bill per employee "
        "with the employee as the Xero contact.",
    )
    contact_name = fields.Char(
        string="Xero Contact",
        size=MAX_CONTACT_NAME,
        help="Name of the supplier in Xero the batch's bill is addressed to; created in Xero when missing.",
    )
    bill_status = fields.Selection(
        BILL_STATUSES,
        required=True,
        default="DRAFT",
        help="Status the bills are created with in Xero. Draft bills can still be updated from Odoo.",
    )
    due_days = fields.Integer(string="Due After (days)", help="Due date = payment date + this many days.")
    tracking_category = fields.Char(
        size=MAX_TRACKING_NAME,
        help='Name of a Xero tracking category (e.g. "Department"): the lines are then split by the '
        "employees' departments, each department's name being the tracking option.",
    )
    line_amount_type = fields.Selection(
        [("NoTax", "No tax")],
        required=True,
        default="NoTax",
        readonly=True,
        help="Payroll amounts carry no tax.",
    )
    attach_summary = fields.Boolean(
        string="Attach Batch Summary",
        default=True,
        help="Each bill (or manual journal) of this type carries a PDF of what it was built from (batch, period, lines with their "
        "pay items and employee counts, totals, the link to Odoo), attached in Xero once the bill is there. "
        "It costs one or two more Xero calls per bill: for per-employee bills of large batches, mind Xero's "
        "daily limit.",
    )
    line_ids = fields.One2many("xero.mapping.line", "type_id", string="Pay Items", copy=True)
    record_ids = fields.One2many("xero.bill.record", "type_id", string="Bills")
    record_count = fields.Integer(compute="_compute_record_count")

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if not vals.get("code"):
                vals["code"] = code_from_name(vals.get("name"))
        return super().create(vals_list)

    @api.onchange("name")
    def _onchange_name_code(self):
        if not self.code:
            self.code = code_from_name(self.name)

    def _compute_record_count(self):
        counts = dict(
            self.env["xero.bill.record"]._read_group([("type_id", "in", self.ids)], ["type_id"], ["__count"])
        )
        for mtype in self:
            mtype.record_count = counts.get(mtype, 0)

    @api.onchange("document")
    def _onchange_document(self):
        if self.document == "journal":
            self.grouping = "run"

    @api.constrains("document", "grouping")
    def _check_journal_grouping(self):
        for mtype in self:
            if mtype.document == "journal" and mtype.grouping != "run":
                raise ValidationError(
                    self.env._(
                        'Mapping type "%(name)s" makes a manual journal: it makes one per batch, never one per '
                        "employee.",
                        name=mtype.name,
                    )
                )

    @api.constrains("grouping", "contact_name", "document")
    def _check_contact_name(self):
        for mtype in self:
            if (
                mtype.document == "bill"
                and mtype.grouping == "run"
                and not (mtype.contact_name or "").strip()
            ):
                raise ValidationError(
                    self.env._(
                        'Mapping type "%(name)s" makes one bill per batch: enter the Xero contact it is '
                        "addressed to (e.g. the MPF trustee).",
                        name=mtype.name,
                    )
                )

    @api.constrains("due_days")
    def _check_due_days(self):
        for mtype in self:
            if not 0 <= mtype.due_days <= MAX_DUE_DAYS:
                raise ValidationError(
                    self.env._(
                        'Mapping type "%(name)s": the bills are due between 0 and %(max)s days after the payment '
                        "date, not %(days)s.",
                        name=mtype.name,
                        max=MAX_DUE_DAYS,
                        days=mtype.due_days,
                    )
                )

    @api.constrains("code")
    def _check_code(self):
        for mtype in self:
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", mtype.code or ""):
                raise ValidationError(
                    self.env._(
                        'Mapping type "%(name)s": the code "%(code)s" may only hold letters, digits, '
                        '"-", "_" and ".", as it is part of the bill numbers.',
                        name=mtype.name,
                        code=mtype.code,
                    )
                )

    def action_view_records(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("hr_payroll_xero.xero_bill_record_action")
        action["domain"] = [("type_id", "=", self.id)]
        return action

    def _xero_sidecar_type(self, pay_item_keys):
        """The sidecar's MappingType of this type; ``pay_item_keys`` maps rules to pay item keys."""
        self.ensure_one()
        from payroll_xero.model import MappingLine, MappingType

        journal = self.document == "journal"
        return MappingType(
            name=self.name,
            code=self.code,
            lines=tuple(
                MappingLine(
                    pay_item=pay_item_keys[line.salary_rule_id],
                    account_code=line.account_id.code or "",
                    sign=line.sign,
                    description=line.description or None,
                )
                for line in self.line_ids
            ),
            contact_name=None if journal else self.contact_name or None,
            grouping=self.grouping,
            status=self.journal_status if journal else self.bill_status,
            due_days=0 if journal else self.due_days,
            tracking_category=(self.tracking_category or "").strip() or None,
            document=self.document,
            rounding_account=(self.rounding_account_id.code or None) if journal else None,
        )
