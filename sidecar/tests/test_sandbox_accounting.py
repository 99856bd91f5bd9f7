"""The sandbox's accounting API, driven through the real ``xero-python`` SDK (no mocks)."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from xero_python.accounting import (
    AccountingApi,
    Contact,
    Contacts,
    CreditNote,
    CreditNotes,
    CurrencyCode,
    Invoice,
    Invoices,
    LineAmountTypes,
    LineItem,
    LineItemTracking,
)
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token, TokenApi
from xero_python.exceptions import AccountingBadRequestException, NotFoundException
from xero_python.identity import IdentityApi

from payroll_xero.sandbox import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID, SECOND_TENANT_ID

T = DEMO_TENANT_ID


class Xero:
    """The SDK wired to the sandbox the way the project's client does it."""

    def __init__(self, sandbox, token):
        config = Configuration()  # the SDK caches its first Configuration: assign, don't pass arguments
        config.oauth2_token = OAuth2Token(client_id=DEMO_CLIENT_ID, client_secret=DEMO_CLIENT_SECRET)
        self.client = ApiClient(config, pool_threads=1)
        self.token = {
            **token,
            "scope": token["scope"].split(),
            "expires_at": time.time() + token["expires_in"],
        }
        self.client.oauth2_token_getter(lambda: self.token)
        self.client.oauth2_token_saver(self._save)
        self.client.rest_client.pool_manager.connection_pool_kw["retries"] = False
        self.accounting = AccountingApi(self.client, base_url=f"{sandbox.url}/api.xro/2.0")
        self.identity = IdentityApi(self.client, base_url=sandbox.url)

    def _save(self, token):
        self.token = token


@pytest.fixture
def xero(sandbox):
    return Xero(sandbox, sandbox.issue_tokens())


def contact(xero, name="Payroll Clearing", number=None):
    created = xero.accounting.create_contacts(
        T, Contacts(contacts=[Contact(name=name, contact_number=number)])
    )
    return created.contacts[0]


def bill(
    contact_id,
    number="PR-2025-01",
    amount="1000.00",
    account="477",
    status="DRAFT",
    currency=None,
    day=date(2025, 1, 31),
    due=date(2025, 2, 5),
    **line,
):
    return Invoice(
        type="ACCPAY",
        contact=Contact(contact_id=contact_id),
        date=day,
        due_date=due,
        status=status,
        line_amount_types=LineAmountTypes.NOTAX,
        invoice_number=number,
        url="https://odoo.example.com/run/7",
        currency_code=currency,
        line_items=[
            LineItem(
                description=line.get("description", "January wages"),
                quantity=Decimal("1"),
                unit_amount=Decimal(amount),
                account_code=account,
                tracking=[LineItemTracking(name="Department", option="Finance")],
            )
        ],
    )


def test_sdk_reads_organisation_currencies_accounts_and_tracking(sandbox, xero):
    (org,) = xero.accounting.get_organisations(T).organisations
    currencies = xero.accounting.get_currencies(T).currencies
    accounts = xero.accounting.get_accounts(T).accounts
    wages = xero.accounting.get_accounts(T, where='Code=="477"').accounts
    archived = xero.accounting.get_accounts(T, where='Status=="ARCHIVED"').accounts
    (department,) = xero.accounting.get_tracking_categories(T).tracking_categories

    assert org.name == "Harbour Payroll Demo Ltd" and org.organisation_id == T
    assert org.base_currency == CurrencyCode.HKD and org.country_code.value == "HK"
    assert [c.code for c in currencies] == [CurrencyCode.HKD, CurrencyCode.USD]
    assert {"090", "477", "478", "800", "814", "825"} <= {a.code for a in accounts}
    assert [(a.name, a.type.value, a.status) for a in wages] == [("Wages and Salaries", "EXPENSE", "ACTIVE")]
    assert {a.code for a in archived} == {"475", "476", "827"}
    assert [o.name for o in department.options] == [
        "Operations",
        "Finance",
        "Sales",
        "Engineering",
        "Human Resources",
    ]


def test_accounts_if_modified_since_returns_only_changed_accounts(sandbox, xero):
    since = datetime.now(timezone.utc) - timedelta(seconds=5)
    sandbox.archive_account(T, "480")
    changed = xero.accounting.get_accounts(T, if_modified_since=since).accounts
    assert [(a.code, a.status) for a in changed] == [("480", "ARCHIVED")]


def test_identity_api_lists_connections_with_capital_c(sandbox, xero):
    connections = xero.identity.get_connections()
    assert {c.tenant_id for c in connections} == {DEMO_TENANT_ID, SECOND_TENANT_ID}
    assert all(c.tenant_type == "ORGANISATION" for c in connections)


def test_contacts_put_refuses_duplicate_name_and_post_upserts_by_number(sandbox, xero):
    created = contact(xero, "Employees - Payroll", number="EMP-1")
    with pytest.raises(AccountingBadRequestException) as refused:
        contact(xero, "employees - payroll")
    updated = xero.accounting.update_or_create_contacts(
        T, Contacts(contacts=[Contact(name="Employees (Payroll)", contact_number="EMP-1")])
    )
    found = xero.accounting.get_contacts(T, where='ContactNumber=="EMP-1"').contacts

    assert "already assigned to another contact" in refused.value.reason
    assert updated.contacts[0].contact_id == created.contact_id
    assert [(c.contact_id, c.name) for c in found] == [(created.contact_id, "Employees (Payroll)")]
    assert len(sandbox.contacts(T)) == 1


def test_bill_is_stored_with_xero_totals_dates_and_url(sandbox, xero):
    payee = contact(xero)
    answer = xero.accounting.create_invoices(
        T, Invoices(invoices=[bill(payee.contact_id)]), summarize_errors=False
    )

    (saved,) = answer.invoices
    assert saved.status_attribute_string == "OK"
    assert saved.invoice_id != "00000000-0000-0000-0000-000000000000"
    assert (saved.sub_total, saved.total_tax, saved.total, saved.amount_due) == (1000, 0, 1000, 1000)
    assert (saved.date, saved.due_date) == (date(2025, 1, 31), date(2025, 2, 5))
    assert saved.invoice_number == "PR-2025-01" and saved.url == "https://odoo.example.com/run/7"
    assert saved.line_items[0].tracking[0].option == "Finance"
    (stored,) = sandbox.invoices(T)
    assert stored["Total"] == Decimal("1000.00") and stored["Date"] == "2025-01-31"
    assert stored["Contact"]["Name"] == "Payroll Clearing"


def test_summarize_errors_false_reports_each_bill_and_keeps_the_good_ones(sandbox, xero):
    payee = contact(xero).contact_id
    sandbox.set_lock_date(T, date(2025, 1, 31))
    bills = [
        bill(payee, "OK-1", day=date(2025, 2, 28), due=date(2025, 3, 5)),
        bill(payee, "ARCH-1", account="475", day=date(2025, 2, 28)),
        bill(payee, "USD-1", currency=CurrencyCode.EUR, day=date(2025, 2, 28)),
        bill(payee, "LOCK-1", day=date(2025, 1, 31)),
        bill(payee, "BAD-1", account="999", day=date(2025, 2, 28)),
    ]
    answer = xero.accounting.create_invoices(T, Invoices(invoices=bills), summarize_errors=False)

    by_number = {i.invoice_number: i for i in answer.invoices}
    assert by_number["OK-1"].status_attribute_string == "OK"
    messages = {n: [e.message for e in (i.validation_errors or [])] for n, i in by_number.items()}
    assert messages["ARCH-1"] == [
        "The account code '475' has been archived, or has been deleted. Each line item "
        "must reference a valid account."
    ]
    assert messages["USD-1"] == ["Organisation is not subscribed to currency EUR"]
    assert messages["LOCK-1"] == ["The document date cannot be before the period lock date of 31/01/2025"]
    assert messages["BAD-1"] == ["Account code '999' is not a valid code for this document."]
    assert all(
        by_number[n].status_attribute_string == "ERROR" for n in ("ARCH-1", "USD-1", "LOCK-1", "BAD-1")
    )
    assert [i["InvoiceNumber"] for i in sandbox.invoices(T)] == ["OK-1"]


def test_summarize_errors_default_rejects_the_whole_batch_with_400(sandbox, xero):
    payee = contact(xero).contact_id
    with pytest.raises(AccountingBadRequestException) as refused:
        xero.accounting.create_invoices(
            T, Invoices(invoices=[bill(payee, "A"), bill(payee, "B", account="475")])
        )
    data = refused.value.error_data
    assert refused.value.status == 400
    assert data["Type"] == "ValidationException" and data["ErrorNumber"] == 10
    assert "archived" in data["Elements"][0]["ValidationErrors"][0]["Message"]
    assert sandbox.invoices(T) == []


def test_approval_rules_negative_total_missing_due_date_and_description(sandbox, xero):
    payee = contact(xero).contact_id
    sandbox.set_currencies(T, ["HKD"])
    bills = [
        bill(payee, "NEG", amount="-5.00", status="AUTHORISED"),
        bill(payee, "NODUE", status="AUTHORISED", due=None),
        bill(payee, "NODESC", description=""),
        bill(payee, "USD", currency=CurrencyCode.USD),
        bill(payee, "NEG-DRAFT", amount="-5.00"),
    ]
    answer = xero.accounting.create_invoices(T, Invoices(invoices=bills), summarize_errors=False)
    errors = {
        i.invoice_number: " ".join(e.message for e in i.validation_errors or []) for i in answer.invoices
    }

    assert "cannot be negative" in errors["NEG"]
    assert "Due Date is required" in errors["NODUE"]
    assert "description field is mandatory" in errors["NODESC"]
    assert errors["USD"] == "Organisation is not subscribed to currency USD"
    assert errors["NEG-DRAFT"] == ""


def test_credit_note_for_a_negative_payable(sandbox, xero):
    payee = contact(xero).contact_id
    note = CreditNote(
        type="ACCPAYCREDIT",
        contact=Contact(contact_id=payee),
        date=date(2025, 1, 31),
        status="AUTHORISED",
        line_amount_types=LineAmountTypes.NOTAX,
        credit_note_number="PR-2025-01-CR",
        line_items=[
            LineItem(
                description="Recovered overpayment",
                quantity=Decimal(1),
                unit_amount=Decimal("250.50"),
                account_code="477",
            )
        ],
    )
    answer = xero.accounting.create_credit_notes(T, CreditNotes(credit_notes=[note]), summarize_errors=False)
    listed = xero.accounting.get_credit_notes(T).credit_notes

    assert answer.credit_notes[0].status_attribute_string == "OK"
    assert [(c.credit_note_number, c.total, c.status, c.type) for c in listed] == [
        ("PR-2025-01-CR", Decimal("250.5"), "AUTHORISED", "ACCPAYCREDIT")
    ]
    assert sandbox.credit_notes(T)[0]["RemainingCredit"] == Decimal("250.50")


def test_update_draft_then_approve_then_lines_are_locked(sandbox, xero):
    payee = contact(xero).contact_id
    (draft,) = xero.accounting.create_invoices(T, Invoices(invoices=[bill(payee)])).invoices

    changed = bill(payee, amount="1200.00")
    changed.invoice_id = draft.invoice_id
    updated = xero.accounting.update_or_create_invoices(T, Invoices(invoices=[changed])).invoices[0]
    approved = xero.accounting.update_invoice(
        T, draft.invoice_id, Invoices(invoices=[Invoice(status="AUTHORISED")])
    ).invoices[0]
    with pytest.raises(AccountingBadRequestException) as locked:
        xero.accounting.update_invoice(T, draft.invoice_id, Invoices(invoices=[bill(payee, amount="1.00")]))

    assert updated.invoice_id == draft.invoice_id and updated.total == 1200
    assert approved.status == "AUTHORISED" and approved.total == 1200
    assert "cannot be changed" in locked.value.reason or "cannot be edited" in locked.value.reason
    assert len(sandbox.invoices(T)) == 1 and sandbox.invoices(T)[0]["Total"] == Decimal("1200.00")


def test_delete_draft_void_authorised_and_paid_bill_cannot_be_voided(sandbox, xero):
    payee = contact(xero).contact_id
    draft, approved, paid = xero.accounting.create_invoices(
        T,
        Invoices(
            invoices=[
                bill(payee, "D"),
                bill(payee, "A", status="AUTHORISED"),
                bill(payee, "P", status="AUTHORISED"),
            ]
        ),
    ).invoices
    sandbox.pay_invoice(T, paid.invoice_id, "100.00")

    deleted = xero.accounting.update_invoice(
        T, draft.invoice_id, Invoices(invoices=[Invoice(status="DELETED")])
    )
    voided = xero.accounting.update_invoice(
        T, approved.invoice_id, Invoices(invoices=[Invoice(status="VOIDED")])
    )
    with pytest.raises(AccountingBadRequestException) as refused:
        xero.accounting.update_invoice(T, paid.invoice_id, Invoices(invoices=[Invoice(status="VOIDED")]))
    with pytest.raises(AccountingBadRequestException):
        xero.accounting.update_invoice(
            T, voided.invoices[0].invoice_id, Invoices(invoices=[Invoice(status="DELETED")])
        )

    assert deleted.invoices[0].status == "DELETED"
    assert voided.invoices[0].status == "VOIDED"
    assert "payments" in refused.value.reason
    assert {i["InvoiceNumber"]: i["Status"] for i in sandbox.invoices(T)} == {
        "D": "DELETED",
        "A": "VOIDED",
        "P": "AUTHORISED",
    }
    assert sandbox.invoices(T)[2]["AmountDue"] == Decimal("900.00")


def test_get_invoices_filters_by_number_contact_status_and_my_app(sandbox, xero):
    payee, other = contact(xero).contact_id, contact(xero, "Other Payee").contact_id
    xero.accounting.create_invoices(
        T,
        Invoices(
            invoices=[bill(payee, "PR-1"), bill(payee, "PR-2", status="AUTHORISED"), bill(other, "PR-1")]
        ),
    )

    mine = xero.accounting.get_invoices(
        T, invoice_numbers=["PR-1"], contact_i_ds=[payee], created_by_my_app=True
    )
    approved = xero.accounting.get_invoices(T, statuses=["AUTHORISED"])
    where = xero.accounting.get_invoices(T, where=f'Contact.ContactID==Guid("{other}") AND Status=="DRAFT"')
    (one,) = mine.invoices
    fetched = xero.accounting.get_invoice(T, one.invoice_id).invoices[0]
    with pytest.raises(NotFoundException):
        xero.accounting.get_invoice(T, "9b0c8a4e-0000-4000-8000-000000000000")

    assert (one.invoice_number, one.contact.contact_id) == ("PR-1", payee)
    assert [i.invoice_number for i in approved.invoices] == ["PR-2"]
    assert [i.contact.name for i in where.invoices] == ["Other Payee"]
    assert fetched.line_items[0].description == "January wages"


def test_second_organisation_is_separate(sandbox, xero):
    other = xero.accounting.create_contacts(
        SECOND_TENANT_ID, Contacts(contacts=[Contact(name="Kowloon Staff")])
    )
    answer = xero.accounting.create_invoices(
        SECOND_TENANT_ID,
        Invoices(invoices=[bill(other.contacts[0].contact_id, currency=CurrencyCode.USD)]),
        summarize_errors=False,
    )
    assert answer.invoices[0].validation_errors[0].message == "Organisation is not subscribed to currency USD"
    assert sandbox.invoices(T) == [] and sandbox.contacts(T) == []


def test_sdk_refreshes_an_expired_access_token_through_the_sandbox(sandbox, xero, monkeypatch):
    monkeypatch.setattr(TokenApi, "refresh_token_url", f"{sandbox.url}/connect/token")
    old_refresh = xero.token["refresh_token"]
    sandbox.expire_access_tokens()
    xero.token["expires_at"] = time.time() - 1

    (org,) = xero.accounting.get_organisations(T).organisations

    assert org.name == "Harbour Payroll Demo Ltd"
    assert xero.token["refresh_token"] != old_refresh
    assert ("POST", "/connect/token", 200) in sandbox.calls
