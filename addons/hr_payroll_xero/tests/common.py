# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Shared fixtures: the sidecar's Xero sandbox on a free port, and a connected company."""

from datetime import date
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from odoo.tests import TransactionCase, new_test_user

from payroll_xero.sandbox import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID, SECOND_TENANT_ID, Sandbox

from ..models.compat import (
    enter_registry_test_mode,
    request_timeout_as_number,
    running_contract,
    set_running_contract,
)

_SANDBOX = None


def sandbox():
    """One real sandbox HTTP server on 127.0.0.1 for the whole test run."""
    global _SANDBOX
    if _SANDBOX is None:
        _SANDBOX = Sandbox(host="127.0.0.1", port=0)
        _SANDBOX.start()
    return _SANDBOX


class XeroSandboxMixin:
    """Points the module at the sandbox; ``_xero_connect`` runs the real OAuth round trip."""

    DEMO_TENANT_ID = DEMO_TENANT_ID
    SECOND_TENANT_ID = SECOND_TENANT_ID

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        """Odoo's guard on the requests tests make (localhost only) with the sidecar's (connect, read) timeout."""
        return super()._request_handler(s, r, **request_timeout_as_number(kw))

    def _xero_user_elsewhere(self, login, groups, company_vals):
        """A new company and a user who belongs to it only: (company, user)."""
        company = self.env["res.company"].create(company_vals)
        user = new_test_user(
            self.env, login=login, groups=groups, company_id=company.id, company_ids=[(6, 0, company.ids)]
        )
        return company, user

    @classmethod
    def _xero_setup_sandbox(cls):
        cls.sandbox = sandbox()
        cls.sandbox.reset()
        params = cls.env["ir.config_parameter"].sudo()
        for key in ("login_url", "identity_url", "api_url"):
            params.set_param(f"hr_payroll_xero.{key}", cls.sandbox.url)
        params.set_param("web.base.url", "http://127.0.0.1:8069")

    @classmethod
    def _xero_new_connection(cls, company=None, **vals):
        company = company or cls.env.company
        return cls.env["xero.connection"].create(
            dict(
                {
                    "name": f"Xero {company.name}",
                    "company_id": company.id,
                    "client_id": DEMO_CLIENT_ID,
                    "client_secret": DEMO_CLIENT_SECRET,
                },
                **vals,
            )
        )

    @classmethod
    def _xero_consent(cls, connection, tenant_ids=None, user=None, without_scopes=()):
        """``user`` clicks Connect and consents in the sandbox; returns the callback's query (code, state).
        ``without_scopes``: consent as an older connection did, without asking for these scopes."""
        url = (connection.with_user(user) if user else connection).action_connect()["url"]
        if without_scopes:
            parts = urlsplit(url)
            query = {key: values[0] for key, values in parse_qs(parts.query).items()}
            query["scope"] = " ".join(s for s in query["scope"].split() if s not in without_scopes)
            url = urlunsplit(parts._replace(query=urlencode(query)))
        redirect = cls.sandbox.approve(url, tenant_ids=tenant_ids)
        return {key: values[0] for key, values in parse_qs(urlsplit(redirect).query).items()}

    @classmethod
    def _xero_connect(cls, connection, tenant_ids=(DEMO_TENANT_ID,), without_scopes=()):
        """Connect without the browser: consent, check the state, exchange the code."""
        query = cls._xero_consent(connection, list(tenant_ids), without_scopes=without_scopes)
        checked = cls.env["xero.connection"]._xero_check_state(query["state"])
        assert checked == connection, "the sandbox returned another state"
        connection._xero_complete_consent(query["code"])
        return connection


class XeroCase(XeroSandboxMixin, TransactionCase):
    """A company connected to the sandbox's demo organisation, accounts synchronized."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Pushes run in the test, as without queue_job (tests of the queue jobs set it back to False).
        cls.env = cls.env(context=dict(cls.env.context, xero_push_now=True))
        # Token refreshes are committed on a cursor of their own (registry.cursor()); in test mode
        # that cursor shares the test transaction, as HttpCase does.
        enter_registry_test_mode(cls)
        cls._xero_setup_sandbox()
        cls.company = cls.env.company
        cls.connection = cls._xero_connect(cls._xero_new_connection(cls.company))
        cls.connection._xero_sync_accounts()

    def setUp(self):
        super().setUp()
        # The sandbox outlives the test transaction: start every test from its seeded state
        # (no bills, no faults, fresh limits) with a fresh consent.
        self.sandbox.reset()
        self._xero_connect(self.connection)


class XeroPayrollCase(XeroCase):
    """A Hong Kong-style payroll on the connected company, and its closed October batch.

    Four employees in three departments (the sandbox's Department options): basic salary, a fixed
    housing allowance, overtime for some, GROSS, MPF employee (-5 %, capped at 1,500) and employer
    (+5 %, capped at 1,500), a loan deduction and NET. Each test starts from a fresh sandbox
    (no bills, no contacts) and a fresh token.
    """

    PERIOD = (date(2026, 10, 1), date(2026, 10, 31))

    @classmethod
    def setUpClass(cls):
        # The suite sends more calls per minute than any payroll would: lift both rate limits
        # (the shared limiter's, a parameter of the test transaction, and the sandbox's); the limits
        # themselves are exercised with injected 429s and in test_rate_limit.
        server = sandbox()
        saved = server.limiter.minute_limit

        def restore():
            server.limiter.minute_limit = saved

        cls.addClassCleanup(restore)
        server.limiter.minute_limit = 100_000
        super().setUpClass()
        cls.env["ir.config_parameter"].sudo().set_param("hr_payroll_xero.calls_per_minute", 100_000)

        cls.company.xero_currency_code = cls.company.currency_id.name
        cls.accounts = {
            account.code: account
            for account in cls.env["xero.account"]
            .with_context(active_test=False)
            .search([("connection_id", "=", cls.connection.id)])
        }
        cls._xero_setup_payroll()
        cls.employees = cls.alice | cls.bob | cls.carol | cls.dan
        cls.batch = cls._xero_make_batch(cls.employees, overtime=cls.alice | cls.dan)

    def setUp(self):
        super().setUp()
        self.sandbox.reset()
        self._xero_connect(self.connection)

    # attribute, code, name, sequence, category, how the amount is computed
    _XERO_RULES = (
        (
            "rule_basic",
            "XBASIC",
            "Basic Salary",
            1,
            "BASIC",
            {"amount_python_compute": "result = contract.wage"},
        ),
        (
            "rule_housing",
            "XHOUSING",
            "Housing Allowance",
            5,
            "ALW",
            {"amount_select": "fix", "amount_fix": 2000.0},
        ),
        (
            "rule_overtime",
            "XOT",
            "Overtime",
            10,
            "ALW",
            {
                "condition_select": "python",
                "condition_python": "result = bool(inputs.XOT and inputs.XOT.amount)",
                "amount_python_compute": "result = inputs.XOT.amount",
            },
        ),
        (
            "rule_gross",
            "XGROSS",
            "Gross",
            100,
            "GROSS",
            {"amount_python_compute": "result = categories.XBASIC + categories.XALW"},
        ),
        (
            "rule_mpf_ee",
            "XMPF_EE",
            "MPF Employee",
            150,
            "DED",
            {"amount_python_compute": "result = -min(XGROSS * 0.05, 1500.0)"},
        ),
        ("rule_loan", "XLOAN", "Staff Loan", 160, "DED", {"amount_select": "fix", "amount_fix": -500.0}),
        (
            "rule_mpf_er",
            "XMPF_ER",
            "MPF Employer",
            170,
            "COMP",
            {"amount_python_compute": "result = min(XGROSS * 0.05, 1500.0)"},
        ),
        (
            "rule_net",
            "XNET",
            "Net",
            200,
            "NET",
            {"amount_python_compute": "result = categories.XBASIC + categories.XALW + categories.XDED"},
        ),
    )

    @classmethod
    def _xero_setup_rules(cls):
        """The salary rules of a small Hong Kong structure, as ``cls.rule_*`` and ``cls.rules``."""
        categories = {
            code: cls.env["hr.salary.rule.category"].create({"name": name, "code": f"X{code}"})
            for code, name in [
                ("BASIC", "Basic"),
                ("ALW", "Allowance"),
                ("GROSS", "Gross"),
                ("DED", "Deduction"),
                ("COMP", "Company Contribution"),
                ("NET", "Net"),
            ]
        }
        cls.rules = cls.env["hr.salary.rule"]
        for attribute, code, name, sequence, category, vals in cls._XERO_RULES:
            rule = cls.env["hr.salary.rule"].create(
                {
                    "name": name,
                    "code": code,
                    "sequence": sequence,
                    "category_id": categories[category].id,
                    "condition_select": "none",
                    "company_id": cls.company.id,
                    "amount_select": "code",
                    **vals,
                }
            )
            setattr(cls, attribute, rule)
            cls.rules |= rule
        cls.env["hr.rule.input"].create(
            {"name": "Overtime pay", "code": "XOT", "input_id": cls.rule_overtime.id}
        )

    @classmethod
    def _xero_setup_payroll(cls):
        env, company = cls.env, cls.company
        cls._xero_setup_rules()
        cls.structure = env["hr.payroll.structure"].create(
            {
                "name": "HK Monthly Staff",
                "code": "XHK",
                "company_id": company.id,
                "parent_id": False,
                "rule_ids": [(6, 0, cls.rules.ids)],
            }
        )
        Department = env["hr.department"]
        cls.dept_ops, cls.dept_fin, cls.dept_sales = (
            Department.create({"name": name, "company_id": company.id})
            for name in ("Operations", "Finance", "Sales")
        )
        cls.alice = cls._xero_make_employee("Alice Chan", cls.dept_ops, 30000.0)
        cls.bob = cls._xero_make_employee("Bob Lee", cls.dept_ops, 18000.0)
        cls.carol = cls._xero_make_employee("Carol Wong", cls.dept_fin, 42000.0)
        cls.dan = cls._xero_make_employee("Dan Ho", cls.dept_sales, 12000.5)

    @classmethod
    def _xero_make_employee(cls, name, department, wage):
        employee = cls.env["hr.employee"].create(
            {"name": name, "department_id": department.id, "company_id": cls.company.id}
        )
        set_running_contract(
            employee,
            name=f"Contract {name}",
            structure=cls.structure,
            wage=wage,
            date_start=date(2026, 1, 1),
            company_id=cls.company.id,
        )
        return employee

    @classmethod
    def _xero_make_employees(cls, count, department=None, wage=20000.0):
        return cls.env["hr.employee"].concat(
            *(
                cls._xero_make_employee(f"Staff {idx:03d}", department or cls.dept_ops, wage + idx)
                for idx in range(count)
            )
        )

    @classmethod
    def _xero_make_batch(cls, employees, overtime=None, credit_note=False, name="October 2026", close=True):
        """A closed batch (left open without ``close``) with one computed, done payslip per employee (refunds
        when ``credit_note``)."""
        date_from, date_to = cls.PERIOD
        run = cls.env["hr.payslip.run"].create(
            {
                "name": name,
                "company_id": cls.company.id,
                "date_start": date_from,
                "date_end": date_to,
                "credit_note": credit_note,
            }
        )
        slips = cls.env["hr.payslip"].create(
            [
                {
                    "name": f"{name} {employee.name}",
                    "employee_id": employee.id,
                    "contract_id": running_contract(employee).id,
                    "struct_id": cls.structure.id,
                    "date_from": date_from,
                    "date_to": date_to,
                    "payslip_run_id": run.id,
                    "credit_note": credit_note,
                    "company_id": cls.company.id,
                }
                for employee in employees
            ]
        )
        for slip in slips.filtered(lambda slip: slip.employee_id in (overtime or employees.browse())):
            cls.env["hr.payslip.input"].create(
                {
                    "name": "Overtime pay",
                    "code": "XOT",
                    "amount": 1250.5,
                    "payslip_id": slip.id,
                    "contract_id": slip.contract_id.id,
                }
            )
        slips.compute_sheet()
        for slip in slips:  # action_payslip_done() expects one payslip at a time
            slip.with_context(without_compute_sheet=True).action_payslip_done()
        if close:
            run.close_payslip_run()
        return run

    @classmethod
    def _xero_make_types(cls, company=None):
        """The two usual types: net salaries per employee, and the MPF to the trustee per batch."""
        acc = cls.accounts
        Type = cls.env["xero.mapping.type"]
        net = Type.create(
            {
                "name": "Net Salaries",
                "code": "NET",
                "grouping": "employee",
                "due_days": 0,
                "line_ids": [
                    (0, 0, {"salary_rule_id": cls.rule_basic.id, "account_id": acc["477"].id}),
                    (0, 0, {"salary_rule_id": cls.rule_housing.id, "account_id": acc["479"].id}),
                    (0, 0, {"salary_rule_id": cls.rule_overtime.id, "account_id": acc["480"].id}),
                    (0, 0, {"salary_rule_id": cls.rule_mpf_ee.id, "account_id": acc["825"].id}),
                    (0, 0, {"salary_rule_id": cls.rule_loan.id, "account_id": acc["826"].id}),
                ],
            }
        )
        mpf = Type.create(
            {
                "name": "MPF",
                "code": "MPF",
                "grouping": "run",
                "contact_name": "HSBC MPF Trustee",
                "due_days": 10,
                "line_ids": [
                    (
                        0,
                        0,
                        {
                            "salary_rule_id": cls.rule_mpf_ee.id,
                            "account_id": acc["825"].id,
                            "sign": "-",
                            "description": "MPF employee contributions",
                        },
                    ),
                    (
                        0,
                        0,
                        {
                            "salary_rule_id": cls.rule_mpf_er.id,
                            "account_id": acc["478"].id,
                            "description": "MPF employer contributions",
                        },
                    ),
                ],
            }
        )
        (cls.rule_gross | cls.rule_net).xero_ignore = True
        return net, mpf

    @classmethod
    def _xero_make_journal_type(cls, status="DRAFT", **vals):
        """The batch's payroll journal: gross pay and the employer's MPF debited to expenses, the MPF, loans
        and net salaries credited to liabilities (a pay item may be on both sides: the employer's MPF)."""
        acc = cls.accounts
        lines = [
            (cls.rule_basic, "477", "+", "Basic salaries"),
            (cls.rule_housing, "479", "+", "Housing allowances"),
            (cls.rule_overtime, "480", "+", "Overtime"),
            (cls.rule_mpf_er, "478", "+", "MPF employer contributions"),
            (cls.rule_mpf_er, "825", "-", "MPF payable: employer"),
            (cls.rule_mpf_ee, "825", "+", "MPF payable: employees"),
            (cls.rule_loan, "826", "+", "Staff loan repayments"),
            (cls.rule_net, "814", "-", "Net salaries payable"),
        ]
        return cls.env["xero.mapping.type"].create(
            dict(
                {
                    "name": "Payroll Journal",
                    "code": "PJ",
                    "document": "journal",
                    "journal_status": status,
                    "line_ids": [
                        (
                            0,
                            0,
                            {
                                "salary_rule_id": rule.id,
                                "account_id": acc[code].id,
                                "sign": sign,
                                "description": description,
                            },
                        )
                        for rule, code, sign, description in lines
                    ],
                },
                **vals,
            )
        )

    @classmethod
    def _xero_use_base_currency(cls):
        """Bills and journals in the organisation's base currency (HKD), at a rate of 1 to the company's: Xero
        posts manual journals in the base currency only, and the amounts stay those of the payslips."""
        hkd = cls.env.ref("base.HKD")
        cls.env["res.currency.rate"].create(
            {"currency_id": hkd.id, "name": "2026-01-01", "rate": 1.0, "company_id": cls.company.id}
        )
        cls.company.xero_currency_code = "HKD"
