"""A local Xero sandbox: login, identity and accounting API on one base URL, standard library only.

It speaks the HTTP API the ``xero-python`` SDK and a ``requests`` OAuth2 client use, so both work against it
unchanged with their base URLs pointed at :attr:`Sandbox.url`. See :class:`Sandbox` and :func:`serve`.
"""

from .seed import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID, SECOND_TENANT_ID
from .server import Sandbox, serve

__all__ = ["DEMO_CLIENT_ID", "DEMO_CLIENT_SECRET", "DEMO_TENANT_ID", "SECOND_TENANT_ID", "Sandbox", "serve"]
