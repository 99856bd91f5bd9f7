from . import xero_tenant_select
