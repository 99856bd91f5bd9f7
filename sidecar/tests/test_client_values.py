"""What the client decides from Xero's data alone: which accounts take bill lines (against the sandbox, which
refuses what Xero refuses)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from common import TokenStore, consent, make_bill, make_client

from payroll_xero.client import Account
from payroll_xero.jobs import preflight_problems

WAGES = Account(account_id="a-477", code="477", name="Wages and Salaries", type="EXPENSE", status="ACTIVE")


# --------------------------------------------------------------------------- postable accounts


@pytest.fixture
def store(sandbox):
    return TokenStore(consent(sandbox))


@pytest.fixture
def client(sandbox, store):
    return make_client(sandbox, store)


@pytest.mark.parametrize(
    ("change", "postable"),
    [
        ({}, True),
        ({"type": "CURRLIAB"}, True),
        ({"type": "BANK"}, False),
        ({"status": "ARCHIVED"}, False),
        ({"system_account": "CREDITORS"}, False),
        ({"code": None}, False),
    ],
)
def test_only_active_coded_accounts_that_are_neither_bank_nor_system_accounts_are_postable(change, postable):
    assert replace(WAGES, **change).is_postable is postable


def test_the_sandbox_bank_account_is_listed_but_not_postable(client):
    accounts = {account.code: account for account in client.accounts()}
    assert accounts["090"].type == "BANK" and accounts["090"].status == "ACTIVE"
    assert not accounts["090"].is_postable
    assert accounts["477"].is_postable


def test_preflight_names_the_bank_account_of_a_line_and_keeps_the_bill_from_xero(client):
    bill = make_bill(lines=(("090", "MPF employer contributions", "1500.00"),))
    problems = preflight_problems([bill], accounts=client.accounts(), currencies=["HKD"])
    [reason] = problems[bill.invoice_number]
    assert 'account 090 "Business Bank Account" is a bank account, which takes no bill lines' in reason
