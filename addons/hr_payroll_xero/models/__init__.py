from . import res_company
from . import res_config_settings
from . import xero_connection
from . import xero_connection_token
from . import xero_account
from . import xero_mapping_type
from . import xero_mapping_line
from . import xero_bill_record
from . import xero_bill_record_writer
from . import xero_bill_record_push
from . import xero_bill_record_sync
from . import xero_bill_record_cancel
from . import xero_bill_record_line
from . import hr_payslip_run
from . import hr_employee
from . import hr_salary_rule
from . import xero_mapping_coverage  # a SQL view over the models above: last
from . import xero_demo
