# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""1.1.0: records made before payloads were signed no longer block a push or a retry.

The folder name is series-free, as the manifest's version: Odoo reads it as 18.0.1.1.0 on 18.0 and 19.0.1.1.0
on 19.0 (``convert_version`` in odoo/modules/migration.py) and runs it once, when a database's installed
version is below 1.1.0 of the series. Records whose payload still matches its hash get their signature
(``xero.bill.record._xero_sign_legacy_payloads``); the others stay refused until generated again.
"""

import logging

from odoo import SUPERUSER_ID, api

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    found = env["xero.bill.record"]._xero_sign_legacy_payloads()
    _logger.info(
        "hr_payroll_xero %s -> 1.1.0: payloads signed of %s record(s) never sent and %s sent record(s) "
        "(marked checked); %s record(s) left unsigned (payload does not match its hash: generate again)%s",
        version,
        len(found["resigned"]),
        len(found["checked"]),
        len(found["left"]),
        f": {found['left'][:50]}" if found["left"] else "",
    )
    if found["left"]:
        _logger.warning(
            "hr_payroll_xero: records %s keep an unsigned payload that does not match its hash; push refuses "
            "them until their batch's bills are generated again",
            found["left"][:50],
        )
