"""A local Xero sandbox: login, identity and accounting API on one base URL, standard library only.

It speaks the HTTP API that the ``xero-python`` SDK and a ``requests`` OAuth2 client use, so both work against
it unchanged with their login, identity and API base URLs all set to :attr:`Sandbox.url`.

URLs
    ``GET /identity/connect/authorize``   consent page (tick organisations, Allow / Cancel)
    ``POST /connect/token``, ``POST /connect/revocation``   code and refresh grants, revocation
    ``GET /connections`` (also ``/Connections``), ``DELETE /connections/{id}``
    ``/api.xro/2.0/``   Organisation, Currencies, Accounts, TrackingCategories, Contacts, Invoices, CreditNotes
    ``GET /``   the bills and credit notes each organisation received, as HTML
    ``/_sandbox/``   admin: ``GET state``, ``POST reset``, ``GET|POST|DELETE faults`` (JSON
    ``{"kind": "fail"|"rate_limit"|"timeout"|"drop", "n": 1, ...}``) and ``POST archive_account``,
    ``add_account``, ``delete_account``, ``set_lock_date``, ``set_currencies``, ``pay_invoice``,
    ``expire_access_tokens``, ``expire_refresh_tokens`` with the keyword arguments of the Python methods as JSON.

Python: :class:`Sandbox` (start/stop or ``with``, ``approve``, ``issue_tokens``, ``faults``, ``invoices``...)
and :func:`serve` (the ``payroll-xero sandbox`` command).
"""

from .seed import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID, SECOND_TENANT_ID
from .server import Sandbox, serve

__all__ = ["DEMO_CLIENT_ID", "DEMO_CLIENT_SECRET", "DEMO_TENANT_ID", "SECOND_TENANT_ID", "Sandbox", "serve"]
