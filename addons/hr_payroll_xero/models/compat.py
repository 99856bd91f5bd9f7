# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What differs between Odoo 18.0 and 19.0 for this addon, in one place.

Each helper is named after what differs; nothing else in the addon asks which series it runs on.
Checked against the 19.0 source (odoo/orm, addons/base, addons/hr) and OCA payroll 19.0.1.0.2.1:

- SQL constraints: ``_sql_constraints`` (18) became ``models.Constraint`` class attributes (19, where the old
  attribute is ignored with a warning). The database names stay ``<table>_<name>`` on both.
- Group members: ``res.groups.users`` (18) became ``all_user_ids`` (19; ``user_ids`` holds only the explicit ones).
- Where groups are shown: ``res.groups.category_id`` (18) became ``privilege_id``, a ``res.groups.privilege`` of
  a category (19); ``groups_id`` of actions became ``group_ids``. XML data cannot say either without failing on
  the other series, so ``xero.compat._xero_setup_access`` sets them (called from the security data).
- Contracts: ``hr.contract`` with ``state``/``date_start`` (18) became the employee's ``hr.version``
  (``contract_date_start``; OCA payroll 19 adds ``struct_id`` to it).
- Payslip lines: OCA payroll 18 lines carry ``currency_id`` (their contract's); 19 lines have plain amounts, in
  the currency of the payslip's company.
- Tests: ``registry.enter_test_mode(cr)`` (18) became ``registry_enter_test_mode_cls()`` (19); 19's guard on
  outgoing requests in tests compares ``timeout`` with a number, where ``requests`` also takes
  ``(connect, read)``.
"""

from odoo import api, models

HAS_CONSTRAINT_OBJECTS = hasattr(models, "Constraint")


def sql_constraints(*constraints):
    """Class decorator declaring ``(name, definition, message)`` SQL constraints on a model definition."""

    def declare(cls):
        if not HAS_CONSTRAINT_OBJECTS:
            cls._sql_constraints = list(constraints)
            return cls
        for name, definition, message in constraints:
            constraint = models.Constraint(definition, message)
            setattr(cls, f"_{name}", constraint)
            # the metaclass has run already: register it as the class body would have
            constraint.__set_name__(cls, f"_{name}")
        return cls

    return declare


def group_users(group):
    """The users of ``group``, through implied groups too."""
    return group.all_user_ids if "all_user_ids" in group._fields else group.users


def group_category(group):
    """The ``ir.module.category`` under which ``group`` is shown (through its privilege on 19.0)."""
    return group.privilege_id.category_id if "privilege_id" in group._fields else group.category_id


def groups_field(model):
    """The name of the many2many of groups on actions and menus of ``model`` (e.g. ``ir.actions.server``)."""
    return "group_ids" if "group_ids" in model._fields else "groups_id"


def contract_model(env):
    """The model holding employees' contracts: ``hr.contract`` (18) or ``hr.version`` (19)."""
    return env["hr.contract"] if "hr.contract" in env else env["hr.version"]


def set_running_contract(employee, *, name, structure, wage, date_start, **vals):
    """Give ``employee`` a running contract from ``date_start``; extra ``vals`` are contract fields
    (department_id, resource_calendar_id, company_id...). Returns the contract record."""
    if "hr.contract" in employee.env:
        return employee.env["hr.contract"].create(
            {
                "name": name,
                "employee_id": employee.id,
                "struct_id": structure.id,
                "wage": wage,
                "date_start": date_start,
                "state": "open",
                **vals,
            }
        )
    version = employee.version_id
    vals.pop("company_id", None)  # a version has its employee's company
    # the first version is dated on the day the employee was created: move it to the contract start
    version.write({"date_version": date_start, "contract_date_start": date_start})
    version.write({"name": name, "struct_id": structure.id, "wage": wage, **vals})
    return version


def running_contract(employee):
    """The contract payslips of ``employee`` use today (one employee)."""
    if "contract_id" in employee._fields:
        return employee.contract_id
    return employee.version_id if employee.version_id.contract_date_start else employee.version_id.browse()


def employees_with_running_contract(env, company):
    """The employees of ``company`` whose contract runs today."""
    if "hr.contract" in env:
        domain = [("company_id", "=", company.id), ("contract_id.state", "=", "open")]
    else:
        domain = [("company_id", "=", company.id), ("version_id.contract_date_start", "!=", False)]
    return env["hr.employee"].search(domain, order="name")


def unlink_employees(employees):
    """Delete ``employees`` and their contracts (18: records of their own, deleted first; 19: their versions,
    deleted with them)."""
    if "contract_ids" in employees._fields:
        employees.with_context(active_test=False).contract_ids.unlink()
    employees.unlink()


def payslip_line_currency(lines):
    """The ``_read_group`` groupby spec of the currency of ``hr.payslip.line`` amounts."""
    return "currency_id" if "currency_id" in lines._fields else "slip_id.company_id.currency_id"


def request_timeout_as_number(kwargs):
    """For the test guard of 19.0: a ``(connect, read)`` timeout of a request becomes its larger number."""
    if isinstance(kwargs.get("timeout"), tuple):
        kwargs["timeout"] = max(kwargs["timeout"])
    return kwargs


def enter_registry_test_mode(case_cls):
    """Make the registry's new cursors share the test transaction of ``case_cls`` for the whole class."""
    if hasattr(case_cls, "registry_enter_test_mode_cls"):
        case_cls.registry_enter_test_mode_cls()
        return
    case_cls.registry.enter_test_mode(case_cls.cr)
    case_cls.addClassCleanup(case_cls.registry.leave_test_mode)


class XeroCompat(models.AbstractModel):
    _name = "xero.compat"
    _description = "Xero: data that differs between Odoo series"

    @api.model
    def _xero_setup_access(self):
        """Show the module's groups under its category and restrict the batch action to Xero users."""
        category = self.env.ref("hr_payroll_xero.module_category_payroll_xero")
        groups = self.env.ref("hr_payroll_xero.group_xero_user") | self.env.ref(
            "hr_payroll_xero.group_xero_manager"
        )
        if "privilege_id" in groups._fields:
            privilege = self.env["res.groups.privilege"]._load_records(
                [
                    {
                        "xml_id": "hr_payroll_xero.res_groups_privilege_payroll_xero",
                        "values": {"name": category.name, "category_id": category.id, "sequence": 17},
                        "noupdate": False,
                    }
                ]
            )
            groups.write({"privilege_id": privilege.id})
        else:
            groups.write({"category_id": category.id})
        action = self.env.ref("hr_payroll_xero.hr_payslip_run_action_xero_generate")
        action.write({groups_field(action): [(6, 0, self.env.ref("hr_payroll_xero.group_xero_user").ids)]})
        return True


# --- OCA queue_job, optional (not in the manifest): what its versions differ in, and whether it is there.
# queue_job 18.0.4 and later configure a channel's capacity from its record; 18.0.1 and 19.0 only from the
# server's configuration ([queue_job] channels = root:4,root.xero:2...). Unknown channel names run in the
# closest configured parent on both (the job runner's parent fallback).


def queue_job_installed(env):
    """Whether OCA ``queue_job`` is installed in this database (its models are loaded)."""
    return "queue.job" in env and hasattr(env["base"], "with_delay")


def retryable_job_error(message, seconds):
    """queue_job's ``RetryableJobError``: the job's transaction is rolled back and it runs again after ``seconds``."""
    from odoo.addons.queue_job.exception import RetryableJobError

    return RetryableJobError(message, seconds=seconds)


def queue_channel_values(channel_model, capacity):
    """Values of a ``queue.job.channel`` that runs at most ``capacity`` jobs at once, where records say so."""
    return {"capacity": capacity} if "capacity" in channel_model._fields else {}
