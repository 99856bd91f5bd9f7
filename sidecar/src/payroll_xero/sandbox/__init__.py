"""A local Xero sandbox: login, identity and accounting API on one base URL, standard library only.

It speaks the HTTP API that the ``xero-python`` SDK and a ``requests`` OAuth2 client use, so both work against
it unchanged with their login, identity and API base URLs all set to :attr:`Sandbox.url`.

LOCAL ONLY. It is a test double for one machine: its demo app's credentials are public, its admin
endpoints (``/_sandbox/``) need no login, and it keeps what it receives in memory or a plain SQLite file.
So it listens on a loopback address (127.0.0.1, localhost, ::1) and refuses any other unless told
otherwise (``allow_remote=True``, ``--allow-remote`` on the command line, or
``PAYROLL_XERO_SANDBOX_ALLOW_REMOTE=1``), which is only for a private network such as a container whose
port is published on the host's loopback. Its admin endpoints take JSON bodies only (415 otherwise) and
refuse requests from another site's page (``Origin``) or through a foreign host name (403), so no web page
can drive them. The demo app accepts only registered redirect URIs (:meth:`Sandbox.register_redirect_uri`,
``redirect_uris=``, ``POST /_sandbox/register_redirect_uri``) and any http(s) URI on a loopback host. Codes
issued with a PKCE ``code_challenge`` (S256) are exchanged only with the matching ``code_verifier``. A request
whose ``Content-Length`` is not a number, or announces more than arrives, is answered 400.

URLs
    ``GET /identity/connect/authorize``   consent page (tick organisations, Allow / Cancel)
    ``POST /connect/token``, ``POST /connect/revocation``   code and refresh grants, revocation
    ``GET /connections`` (also ``/Connections``), ``DELETE /connections/{id}``
    ``/api.xro/2.0/``   Organisation, Currencies, Accounts, TrackingCategories, Contacts, Invoices, CreditNotes,
    ManualJournals (which need the scope ``accounting.manualjournals`` or ``accounting.transactions``)
    ``GET /``   the bills, credit notes and manual journals each organisation received, as HTML
    ``/_sandbox/``   admin: ``GET state``, ``POST reset``, ``GET|POST|DELETE faults`` (JSON
    ``{"kind": "fail"|"rate_limit"|"timeout"|"drop"|"redirect", "n": 1, ...}``) and ``POST archive_account``,
    ``add_account``, ``delete_account``, ``set_lock_date``, ``set_currencies``, ``pay_invoice``,
    ``post_journal``, ``void_journal``, ``delete_journal``, ``edit_journal``, ``expire_access_tokens``, ``expire_refresh_tokens``, ``register_redirect_uri`` with the keyword
    arguments of the Python methods as JSON (``Content-Type: application/json``).

Python: :class:`Sandbox` (start/stop or ``with``, ``approve``, ``issue_tokens``, ``faults``, ``invoices``...)
and :func:`serve` (the ``payroll-xero sandbox`` command). The product code imports this package only from
its command line (:mod:`payroll_xero.cli`, the ``sandbox`` and ``demo`` commands).

Layout
    ``server.py``   :class:`Sandbox` and :func:`serve`: the HTTP server, lifecycle, Python API
    ``app.py``      ``App``: state, dispatch, injected faults, the login and identity routes
    ``messages.py`` requests and answers;  ``pages.py`` the HTML pages
    ``identity.py`` consent, apps, redirect URIs, connections;  ``tokens.py`` tokens and their checks
    ``api.py``      the ``/api.xro/2.0/`` routes: limits, idempotency, reads and batched writes
    ``journal_api.py`` the ManualJournals routes and the scope they need
    ``xero/``       Xero's accounting rules, one module per section (documents, lines, contacts, ...)
    ``admin.py``    the ``/_sandbox/`` admin section: one method and one ``ADMIN_ACTIONS`` name per action
    ``limits.py``   rate limits and faults;  ``store.py`` the store;  ``seed.py`` the seeded organisations
"""

from .seed import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID, SECOND_TENANT_ID
from .server import Sandbox, serve

__all__ = ["DEMO_CLIENT_ID", "DEMO_CLIENT_SECRET", "DEMO_TENANT_ID", "SECOND_TENANT_ID", "Sandbox", "serve"]
