from . import res_company
from . import res_config_settings
from . import xero_connection
from . import xero_connection_token
from . import xero_account
from . import xero_demo
