# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class HrSalaryRule(models.Model):
    _inherit = "hr.salary.rule"

    xero_ignore = fields.Boolean(
        string="Not Sent to Xero",
        help="Totals such as GROSS or NET that are deliberately kept out of Xero: "
        "they are not reported as unmapped pay items.",
    )
    xero_mapping_line_ids = fields.One2many("xero.mapping.line", "salary_rule_id", string="Xero Mapping")

    def _xero_pay_item_keys(self):
        """rule -> the pay item key the sidecar sees: the rule's code, made unique when two rules share it."""
        by_code = {}
        for rule in self:
            by_code.setdefault(rule.code or f"RULE{rule.id}", []).append(rule)
        keys = {}
        for code, rules in by_code.items():
            for rule in rules:
                keys[rule] = code if len(rules) == 1 else f"{code}#{rule.id}"
        return keys
