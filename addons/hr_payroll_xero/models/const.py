# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The addon's constants in one place, as ``payment_stripe/const.py`` does: states, Xero statuses, limits."""

try:
    from payroll_xero.bills import (
        MAX_CONTACT_NAME,
        MAX_CONTACT_NUMBER,
        MAX_DESCRIPTION,
        MAX_INVOICE_NUMBER,
        MAX_TRACKING_NAME,
    )
    from payroll_xero.client import UNPOSTABLE_ACCOUNT_TYPES
    from payroll_xero.model import MAX_DUE_DAYS
except ImportError:  # pragma: no cover - checked by external_dependencies
    MAX_INVOICE_NUMBER = MAX_CONTACT_NAME = 255
    MAX_CONTACT_NUMBER = 50
    MAX_DESCRIPTION = 4000
    MAX_TRACKING_NAME = 100
    MAX_DUE_DAYS = 3650
    UNPOSTABLE_ACCOUNT_TYPES = frozenset({"BANK"})

# --- connections
# States of a connection in which it can talk to Xero (an error is a failed sync, not a lost consent).
USABLE_CONNECTION_STATES = ("connected", "error")
CALLBACK_PATH = "/hr_payroll_xero/oauth/callback"
STATE_SCOPE = "hr_payroll_xero.oauth_state"  # HMAC scope of the signed OAuth state
SESSION_SCOPE = "hr_payroll_xero.oauth_session"  # HMAC scope of the browser session digest in the state
STATE_LIFETIME = 600  # seconds the admin has to consent in Xero
REFRESH_MARGIN = 120  # refresh an access token that expires within 2 minutes
LOCK_WAIT = 15  # seconds a worker waits for another one's refresh
# What only the module's flows set on a connection (Connect to Xero, the callback, Choose the organisation,
# Synchronize, the token refresh, Disconnect): never written directly, not even by a system administrator.
FLOW_CONNECTION_FIELDS = (
    "state",
    "tenant_id",
    "tenant_name",
    "pending_tenants",
    "token_ids",
    "oauth_nonce",
    "oauth_code_verifier",
)
# Xero's limits per organisation (ir.config_parameter hr_payroll_xero.calls_per_minute / .concurrent_calls)
RATE_PER_MINUTE = 60
RATE_CONCURRENT = 5
JOB_CHANNEL = "root.xero"  # queue_job: the channel of push jobs, one sub-channel per organisation

# --- bill records
# Xero statuses of a bill that can still be edited or deleted (approved ones are voided, paid ones are final).
EDITABLE_STATUSES = ("DRAFT", "SUBMITTED")
MAX_ATTEMPTS = 5  # automatic attempts of the cron before a record waits for a person
CRON_CHUNK = 200  # records per cron run and connection; the cron re-triggers itself when more are left
XERO_WEB = "https://go.xero.com"
PAYLOAD_SCOPE = "hr_payroll_xero.bill_payload"  # HMAC scope of each stored payload's signature

# --- mapping types
GROUPINGS = [("run", "One bill per batch"), ("employee", "One bill per employee")]
BILL_STATUSES = [("DRAFT", "Draft"), ("SUBMITTED", "Submitted for approval"), ("AUTHORISED", "Approved")]
# What a type makes (the sidecar's MappingType.document), and the statuses a manual journal is created with.
DOCUMENTS = [("bill", "Bills"), ("journal", "Manual journal")]
JOURNAL_STATUSES = [("DRAFT", "Draft"), ("POSTED", "Posted")]
MAX_CODE = 20

# --- statuses read back from Xero
XERO_STATUSES = [
    ("DRAFT", "Draft"),
    ("SUBMITTED", "Awaiting approval"),
    ("AUTHORISED", "Awaiting payment"),
    ("PAID", "Paid"),
    ("POSTED", "Posted"),
    ("VOIDED", "Voided"),
    ("DELETED", "Deleted"),
]
