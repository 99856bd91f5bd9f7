# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models, tools


class XeroMappingCoverage(models.Model):
    """Which salary rules of a company's structures go to Xero, where, and which do not."""

    _name = "xero.mapping.coverage"
    _description = "Xero Mapping Coverage"
    _auto = False
    _order = "company_id, status desc, rule_code"

    company_id = fields.Many2one("res.company", readonly=True)
    salary_rule_id = fields.Many2one("hr.salary.rule", string="Pay Item", readonly=True)
    rule_code = fields.Char(string="Code", readonly=True)
    category_id = fields.Many2one("hr.salary.rule.category", readonly=True)
    type_id = fields.Many2one("xero.mapping.type", string="Mapping Type", readonly=True)
    account_id = fields.Many2one("xero.account", string="Xero Account", readonly=True)
    sign = fields.Char(readonly=True)
    status = fields.Selection(
        [("mapped", "Mapped"), ("ignored", "Not sent (ignored)"), ("unmapped", "Unmapped")], readonly=True
    )

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            """
            CREATE OR REPLACE VIEW xero_mapping_coverage AS (
                WITH RECURSIVE company_rule(company_id, rule_id) AS (
                    SELECT s.company_id, rel.rule_id
                      FROM hr_structure_salary_rule_rel rel
                      JOIN hr_payroll_structure s ON s.id = rel.struct_id
                    UNION
                    SELECT cr.company_id, child.id
                      FROM company_rule cr
                      JOIN hr_salary_rule child ON child.parent_rule_id = cr.rule_id
                )
                SELECT row_number() OVER (ORDER BY cr.company_id, cr.rule_id, l.id) AS id,
                       cr.company_id,
                       cr.rule_id AS salary_rule_id,
                       r.code AS rule_code,
                       r.category_id,
                       l.type_id,
                       l.account_id,
                       l.sign,
                       CASE WHEN l.id IS NOT NULL THEN 'mapped'
                            WHEN r.xero_ignore THEN 'ignored'
                            ELSE 'unmapped' END AS status
                  FROM company_rule cr
                  JOIN hr_salary_rule r ON r.id = cr.rule_id
             LEFT JOIN (
                        SELECT ml.id, ml.type_id, ml.account_id, ml.sign, ml.salary_rule_id, t.company_id
                          FROM xero_mapping_line ml
                          JOIN xero_mapping_type t ON t.id = ml.type_id AND t.active
                       ) l ON l.salary_rule_id = cr.rule_id AND l.company_id = cr.company_id
                 WHERE r.active
            )
            """
        )
