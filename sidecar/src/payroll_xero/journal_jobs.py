"""Manual journals before and while they are sent: the organisation checks, the push, its report lines.

:func:`journal_preflight_problems` is what the organisation would refuse, known before anything is sent
(the addon's preview can call it with the accounts and currency it has synchronised):

* Xero posts manual journals in the organisation's base currency only: a pay run in another currency
  makes no journal (convert it first, or use bills);
* each line's account exists, is ACTIVE, and is neither a bank account nor the accounts payable /
  receivable system account (bank lines are bank transactions; payables and receivables need a contact);
* each line's tracking category exists and is active, with the option.

:func:`push_journals` is ``payroll-xero push``'s second half, after the bills.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from .client import Account, JournalPushResult, TrackingCategory, XeroClient
from .errors import XeroError
from .journal_values import Journal

REFUSED_SYSTEM_ACCOUNTS = ("CREDITORS", "DEBTORS")


def unjournalable_reason(account: Account) -> str:
    """Why Xero refuses journal lines on ``account`` ("is archived in Xero"), or "" when it takes them."""
    if account.status != "ACTIVE":
        status = (account.status or "not active").lower()
        return "is archived in Xero" if status == "archived" else f"is {status} in Xero"
    if account.type == "BANK":
        return "is a bank account, which takes no manual journal lines (use a bank transaction)"
    if account.system_account in REFUSED_SYSTEM_ACCOUNTS:
        return f"is a Xero system account ({account.system_account}), which takes no manual journals"
    return ""


def _line_reasons(
    journal: Journal, by_code: dict[str, Account], categories: dict[str, TrackingCategory] | None
) -> list[str]:
    reasons: list[str] = []
    for line in journal.lines:
        where = f'line {line.pay_item or "rounding"} ("{line.description}")'
        account = by_code.get(line.account_code)
        if account is None:
            reasons.append(
                f"{where}: account {line.account_code} does not exist in the organisation's chart of "
                "accounts: add it in Xero or map the pay item to another account"
            )
        elif why := unjournalable_reason(account):
            restore = "restore it in Xero or " if account.status != "ACTIVE" else ""
            reasons.append(
                f'{where}: account {account.code} "{account.name}" {why}: {restore}map it to another account'
            )
        if categories is None:
            continue  # tracking unchecked
        for name, option in line.tracking:
            category = categories.get(name.casefold())
            if category is None or category.status not in (None, "ACTIVE"):
                state = "does not exist" if category is None else "is archived"
                reasons.append(f'{where}: the tracking category "{name}" {state} in Xero')
            elif option.casefold() not in {o.casefold() for o in category.options}:
                reasons.append(
                    f'{where}: the tracking category "{category.name}" has no active option "{option}"'
                )
    return reasons


def journal_preflight_problems(
    journals: Sequence[Journal],
    *,
    accounts: Sequence[Account],
    base_currency: str,
    tracking_categories: Sequence[TrackingCategory] | None = (),
) -> dict[str, tuple[str, ...]]:
    """journal key -> why the organisation would refuse that journal, for the journals it cannot take.

    Each reason names the line (its pay item and description) and what to fix; account codes are compared
    exactly, tracking names ignoring case, as Xero does. ``tracking_categories=None`` leaves tracking
    unchecked (a caller that has only the accounts and the currency, as the addon's synchronised copy).
    """
    by_code = {account.code: account for account in accounts if account.code}
    categories = None if tracking_categories is None else {c.name.casefold(): c for c in tracking_categories}
    refused: dict[str, tuple[str, ...]] = {}
    for journal in journals:
        reasons: list[str] = []
        if journal.currency != base_currency:
            reasons.append(
                f"the pay run is in {journal.currency} and Xero posts manual journals in the organisation's "
                f"base currency ({base_currency}) only: pay the run in {base_currency}, or use bills"
            )
        reasons += _line_reasons(journal, by_code, categories)
        if reasons:
            refused[journal.key] = tuple(dict.fromkeys(reasons))
    return refused


def journal_preflight(client: XeroClient, journals: Sequence[Journal]) -> dict[str, tuple[str, ...]]:
    """:func:`journal_preflight_problems` against the client's organisation (three or four reads)."""
    organisation = client.organisation()
    tracked = any(line.tracking for journal in journals for line in journal.lines)
    return journal_preflight_problems(
        journals,
        accounts=client.accounts(),
        base_currency=organisation.base_currency,
        tracking_categories=client.tracking_categories() if tracked else (),
    )


def format_journal_result(result: JournalPushResult) -> str:
    if not result.ok:
        return f"{result.key}: ERROR (journal): " + " | ".join(result.errors)
    what = "already in Xero" if result.already_existed else "created"
    debits = f", debits {result.debits:,.2f}" if result.debits is not None else ""
    line = f"{result.key}: {what} (journal {result.xero_id}, {result.status}{debits})"
    if result.differences:
        line += "\n  changed in Xero: " + "; ".join(result.differences)
    return line


def push_journals(journals: Sequence[Journal], client: XeroClient, out: TextIO) -> int:
    """Check and send ``journals``, one line each and a summary; returns how many were refused, or -1 when
    Xero failed (the error printed)."""
    try:
        refused = journal_preflight(client, journals)
    except XeroError as exc:
        print(f"error: the organisation could not be checked, no journal was sent: {exc}", file=out)
        return -1
    for journal in journals:
        if journal.key in refused:
            print(f"{journal.key}: ERROR (journal), not sent:", file=out)
            for reason in refused[journal.key]:
                print(f"  - {reason}", file=out)
    to_send = [j for j in journals if j.key not in refused]
    try:
        results = client.create_journals(to_send) if to_send else []
    except XeroError as exc:
        for result in exc.partial_results:
            print(format_journal_result(result), file=out)
        print(f"error: {exc}", file=out)
        return -1
    for result in results:
        print(format_journal_result(result), file=out)
    created = sum(r.ok and r.created for r in results)
    existing = sum(r.ok and r.already_existed for r in results)
    failed = sum(not r.ok for r in results) + len(refused)
    print(f"journals: {created} created, {existing} already in Xero, {failed} refused.", file=out)
    return failed
