from . import xero_tenant_select
from . import xero_bill_generate
from . import xero_bill_cancel
