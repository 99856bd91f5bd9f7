# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .compat import sql_constraints
from .xero_account import POSTABLE_ACCOUNT_DOMAIN
from .xero_bill_record import MAX_DESCRIPTION

# The accounts a line may choose: the company's, of an active connection, that take bill lines.
_POSTABLE = ", ".join(repr(term) for term in POSTABLE_ACCOUNT_DOMAIN)
ACCOUNT_DOMAIN = f"[('company_id', '=', company_id), ('connection_id.active', '=', True), {_POSTABLE}]"


@sql_constraints(
    (
        "rule_type_uniq",
        "unique(type_id, salary_rule_id, account_id, sign)",
        "A pay item goes once to an account with a sign in a mapping type: edit its existing line instead.",
    ),
)
class XeroMappingLine(models.Model):
    _name = "xero.mapping.line"
    _description = "Xero Mapping Line"
    _order = "type_id, sequence, id"

    type_id = fields.Many2one("xero.mapping.type", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="type_id.company_id", store=True, index=True)
    sequence = fields.Integer(default=10)
    salary_rule_id = fields.Many2one(
        "hr.salary.rule",
        string="Pay Item",
        required=True,
        ondelete="cascade",
        index=True,
        domain="['|', ('company_id', '=', False), ('company_id', '=', company_id)]",
    )
    pay_item_code = fields.Char(related="salary_rule_id.code", string="Code")
    account_id = fields.Many2one(
        "xero.account",
        string="Xero Account",
        required=True,
        ondelete="restrict",
        domain=ACCOUNT_DOMAIN,
        help="Active accounts of the company's Xero organisation that take bill lines (no bank or system "
        "account); type the code or the name.",
    )
    account_code = fields.Char(related="account_id.code", string="Account Code")
    document = fields.Selection(related="type_id.document")
    sign = fields.Selection(
        [("+", "+"), ("-", "-")],
        required=True,
        default="+",
        help='"-" turns the pay item around, e.g. an employee deduction computed as a negative amount.',
    )
    journal_side = fields.Selection(
        [("+", "Debit"), ("-", "Credit")],
        string="Debit / Credit",
        compute="_compute_journal_side",
        inverse="_inverse_journal_side",
        help="On a manual journal: Debit puts the pay item's amount on the debit side, Credit on the credit "
        "side (a negative pay item, such as a deduction, goes to the other side). The sign of the line.",
    )
    description = fields.Char(
        size=MAX_DESCRIPTION, help="Text of the bill line; the pay item's name when empty."
    )

    @api.depends("sign")
    def _compute_journal_side(self):
        for line in self:
            line.journal_side = line.sign

    def _inverse_journal_side(self):
        for line in self:
            if line.journal_side:
                line.sign = line.journal_side

    @api.constrains("type_id", "salary_rule_id")
    def _check_pay_item_once_on_bills(self):
        """A bill type sends each pay item to one account; a journal type may debit and credit it."""
        for line in self.filtered(lambda line: line.type_id.document == "bill"):
            twins = line.type_id.line_ids.filtered(
                lambda other, line=line: other.salary_rule_id == line.salary_rule_id
            )
            if len(twins) > 1:
                raise ValidationError(
                    self.env._(
                        'Pay item "%(item)s" appears twice in mapping type "%(type)s", which makes bills: edit '
                        "its existing line instead of adding another.",
                        item=line.salary_rule_id.display_name,
                        type=line.type_id.name,
                    )
                )

    @api.depends("salary_rule_id", "type_id")
    def _compute_display_name(self):
        for line in self:
            line.display_name = (
                f"{line.type_id.name} / {line.salary_rule_id.code or line.salary_rule_id.name}"
            )
