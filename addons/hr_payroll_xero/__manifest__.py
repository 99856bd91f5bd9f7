# Copyright 2026 hr_payroll_xero contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Payroll to Xero",
    "summary": "Post payslip batches to Xero as bills, exactly once",
    "version": "18.0.1.0.0",
    "license": "LGPL-3",
    "category": "Payroll",
    "author": "hr_payroll_xero contributors",
    "website": "https://github.com/hr-payroll-xero/hr_payroll_xero",
    "development_status": "Beta",
    "depends": ["payroll"],
    "external_dependencies": {"python": ["payroll-xero", "xero-python"]},
    "data": [
        "security/hr_payroll_xero_security.xml",
        "security/ir.model.access.csv",
        "data/ir_config_parameter.xml",
        "data/ir_cron.xml",
        "wizards/xero_tenant_select_views.xml",
        "views/xero_account_views.xml",
        "views/xero_connection_views.xml",
        "views/res_company_views.xml",
        "views/res_config_settings_views.xml",
        "views/oauth_templates.xml",
        "views/menus.xml",
    ],
    "demo": [
        "demo/hr_payroll_xero_demo.xml",
        "demo/xero_account_demo.xml",
    ],
}
