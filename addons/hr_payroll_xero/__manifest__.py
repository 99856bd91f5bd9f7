# Copyright 2026 hr_payroll_xero contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Payroll to Xero",
    "summary": "Post payslip batches to Xero as bills, exactly once",
    # One tree for Odoo 18.0 and 19.0: a version without its series is read as the running series' own
    # (18.0.1.1.0 on Odoo 18.0, 19.0.1.1.0 on Odoo 19.0); what else differs is in models/compat.py.
    "version": "1.1.0",
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
        "data/ir_actions_server.xml",
        "wizards/xero_tenant_select_views.xml",
        "wizards/xero_bill_generate_views.xml",
        "views/xero_account_views.xml",
        "views/xero_connection_views.xml",
        "views/res_company_views.xml",
        "views/res_config_settings_views.xml",
        "views/xero_mapping_type_views.xml",
        "views/xero_bill_record_views.xml",
        "report/xero_bill_record_report.xml",
        "views/hr_payslip_run_views.xml",
        "views/hr_employee_views.xml",
        "views/oauth_templates.xml",
        "views/menus.xml",
    ],
    "uninstall_hook": "uninstall_hook",
    "demo": [
        "demo/hr_payroll_xero_demo.xml",
        "demo/xero_account_demo.xml",
        "demo/xero_mapping_demo.xml",
    ],
}
