"""What the client decides from Xero's data alone: which accounts take bill lines, and how a namesake contact
is named within Xero's limits (against the sandbox, which refuses what Xero refuses)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from common import TokenStore, consent, make_bill, make_client

from payroll_xero.bills import MAX_CONTACT_NAME
from payroll_xero.client import Account, XeroBill, XeroBillLine, bill_differences, namesake_contact_name
from payroll_xero.jobs import preflight_problems
from payroll_xero.sandbox import DEMO_TENANT_ID

# A 255-character employee name: the longest Xero takes for a contact.
LONG_NAME = ("Chan Tai Man Long Name " * 12)[:MAX_CONTACT_NAME]

WAGES = Account(account_id="a-477", code="477", name="Wages and Salaries", type="EXPENSE", status="ACTIVE")


@pytest.fixture
def store(sandbox):
    return TokenStore(consent(sandbox))


@pytest.fixture
def client(sandbox, store):
    return make_client(sandbox, store)


# --------------------------------------------------------------------------- postable accounts


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


# --------------------------------------------------------------------------- namesake contacts


def test_a_namesake_name_keeps_the_number_and_cuts_the_name_to_xeros_limit():
    name = namesake_contact_name(LONG_NAME, "E0043")
    assert len(name) == MAX_CONTACT_NAME
    assert name.endswith(" (E0043)")
    assert name == LONG_NAME[: MAX_CONTACT_NAME - len(" (E0043)")].rstrip() + " (E0043)"
    assert namesake_contact_name("Jane Doe", "E0043") == "Jane Doe (E0043)"  # short names are whole


def test_a_namesake_of_a_255_character_employee_gets_a_contact_xero_accepts(sandbox, store, client):
    first = client.ensure_contact(LONG_NAME, "E0042")
    namesake = make_client(sandbox, store).ensure_contact(LONG_NAME, "E0043")
    assert namesake != first
    names = {c.get("ContactNumber"): c["Name"] for c in sandbox.contacts(DEMO_TENANT_ID)}
    assert names["E0042"] == LONG_NAME
    assert len(names["E0043"]) == MAX_CONTACT_NAME
    assert names["E0043"].endswith(" (E0043)") and names["E0043"].startswith(LONG_NAME[:200])


def test_a_bill_to_the_cut_namesake_contact_is_the_same_contact():
    bill = make_bill("PAY/NET/E0043", contact=LONG_NAME, contact_number="E0043")
    found = XeroBill(
        xero_id="x",
        number=bill.invoice_number,
        status="DRAFT",
        total=bill.total,
        contact_id="c",
        contact_name=namesake_contact_name(LONG_NAME, "E0043"),
        date=bill.date,
        due_date=bill.due_date,
        currency="HKD",
        lines=tuple(
            XeroBillLine(ln.account_code, ln.description, ln.amount, ln.tracking) for ln in bill.lines
        ),
    )
    assert bill_differences(bill, found) == ()


def test_a_journal_push_result_reads_like_a_bill_result():
    from payroll_xero.client import JournalPushResult

    result = JournalPushResult(key="PR1/PJ", ok=True, xero_id="x")
    assert (result.invoice_number, result.contact_id, result.is_credit_note) == ("PR1/PJ", None, False)
