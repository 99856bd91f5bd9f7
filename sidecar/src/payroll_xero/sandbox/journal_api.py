"""The ``/api.xro/2.0/ManualJournals`` routes and the scopes they need.

A mixin of :class:`~payroll_xero.sandbox.app.App` beside :class:`~payroll_xero.sandbox.api.AccountingApi`
(whose paging and filters it uses); the rules of a journal are in :mod:`payroll_xero.sandbox.xero.journals`.

Scopes: since 2 March 2026 Xero's manual journals take the granular ``accounting.manualjournals`` (and
``accounting.manualjournals.read`` for reading), or the older broad ``accounting.transactions``
(``.read``). A token without one of them is answered as Xero answers it: 401, ``Detail:
AuthorizationUnsuccessful`` and ``WWW-Authenticate: Bearer error="insufficient_scope"``. Only the manual
journal routes check scopes in the sandbox.
"""

from __future__ import annotations

from .messages import Request, Response, json_response, not_found, problem_response
from .tokens import AccessToken
from .xero import Ledger, apply_journal, batch_items, envelope, present

JOURNAL_SCOPE = "accounting.manualjournals"
BROAD_SCOPE = "accounting.transactions"


def journal_scope_refusal(request: Request, token: AccessToken) -> Response | None:
    """The 401 Xero gives a manual journal call whose token lacks the scope, or None when it has it."""
    writes = request.method != "GET"
    wanted = (
        (JOURNAL_SCOPE, BROAD_SCOPE)
        if writes
        else (
            JOURNAL_SCOPE,
            f"{JOURNAL_SCOPE}.read",
            BROAD_SCOPE,
            f"{BROAD_SCOPE}.read",
        )
    )
    if any(scope in token.scope for scope in wanted):
        return None
    response = problem_response(401, "Unauthorized", "AuthorizationUnsuccessful")
    response.headers["WWW-Authenticate"] = (
        f'Bearer error="insufficient_scope", error_description="The access token lacks the scope '
        f'{JOURNAL_SCOPE}{"" if writes else " (or " + JOURNAL_SCOPE + ".read)"}"'
    )
    return response


class JournalsApi:
    """The manual journal routes of :class:`~payroll_xero.sandbox.app.App`."""

    def _get_journals(
        self, request: Request, ledger: Ledger, token: AccessToken, journal_id: str | None
    ) -> Response:
        if journal_id:
            found = ledger.journal(journal_id)
            if found is None:
                return not_found()
            return json_response(200, envelope("ManualJournals", [present(found)]))
        journals = self._filtered(request, ledger.journals())  # type: ignore[attr-defined]
        return self._page("ManualJournals", request, journals)  # type: ignore[attr-defined]

    def _save_journals(
        self, request: Request, ledger: Ledger, token: AccessToken, journal_id: str | None
    ) -> Response:
        items = batch_items(request.json(), "ManualJournals")
        summarize = request.flag("summarizeErrors", default=True)
        return self._batch(  # type: ignore[attr-defined]
            "ManualJournals",
            summarize,
            lambda: [
                apply_journal(
                    ledger, raw, method=request.method, client_id=token.client_id, path_id=journal_id
                )
                for raw in items
            ],
        )
