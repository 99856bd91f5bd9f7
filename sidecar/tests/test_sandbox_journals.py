"""The sandbox's ManualJournals, driven through the real ``xero-python`` SDK: Xero's rules, scopes, faults."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import requests
from test_sandbox_accounting import Xero
from xero_python.accounting import LineAmountTypes, ManualJournal, ManualJournalLine, ManualJournals
from xero_python.accounting import TrackingCategory as Tracking
from xero_python.exceptions import AccountingBadRequestException, HTTPStatusException, NotFoundException

from payroll_xero.sandbox import DEMO_TENANT_ID

T = DEMO_TENANT_ID
D = Decimal


@pytest.fixture
def xero(sandbox):
    return Xero(sandbox, sandbox.issue_tokens())


def journal(
    *lines, narration="October 2026 - Payroll [PAY-2026-10/PJ]", status="DRAFT", day=date(2026, 10, 31)
):
    lines = lines or (("477", "1000.00", "Wages"), ("814", "-1000.00", "Net wages payable"))
    return ManualJournal(
        narration=narration,
        date=day,
        status=status,
        line_amount_types=LineAmountTypes.NOTAX,
        url="https://odoo.example.com/batch/7",
        has_attachments=None,
        journal_lines=[
            ManualJournalLine(
                account_code=code,
                line_amount=D(amount),
                description=description,
                tracking=[Tracking(name="Department", option=option) for option in extra],
            )
            for code, amount, description, *extra in lines
        ],
    )


def create(xero, *docs, **kw):
    kw.setdefault("summarize_errors", False)
    return xero.accounting.create_manual_journals(T, ManualJournals(manual_journals=list(docs)), **kw)


def errors_of(answer):
    return [e.message for e in answer.manual_journals[0].validation_errors or ()]


def test_a_balanced_journal_is_created_as_xero_answers_it(sandbox, xero):
    (made,) = create(
        xero, journal(("477", "1000.00", "Wages", "Finance"), ("814", "-1000.00", "Net"))
    ).manual_journals
    assert made.status_attribute_string == "OK" and made.status == "DRAFT"
    assert made.manual_journal_id and made.narration.endswith("[PAY-2026-10/PJ]")
    assert made.date == date(2026, 10, 31) and made.updated_date_utc is not None
    assert made.line_amount_types == LineAmountTypes.NOTAX and made.show_on_cash_basis_reports is True
    assert made.url == "https://odoo.example.com/batch/7"
    assert [(x.account_code, x.line_amount) for x in made.journal_lines] == [
        ("477", 1000.0),
        ("814", -1000.0),
    ]
    assert made.journal_lines[0].account_id and made.journal_lines[0].tracking[0].option == "Finance"
    (stored,) = sandbox.journals(T)
    assert stored["JournalLines"][1]["LineAmount"] == D("-1000.00")


def test_debits_must_equal_credits_to_the_cent(sandbox, xero):
    answer = create(xero, journal(("477", "100.00", "Wages"), ("814", "-99.99", "Net")))
    assert answer.manual_journals[0].status_attribute_string == "ERROR"
    assert errors_of(answer) == ["The total debits (100.00) must equal total credits (-99.99)"]
    with pytest.raises(AccountingBadRequestException) as refused:
        create(xero, journal(("477", "100.00", "Wages"), ("814", "-99.99", "Net")), summarize_errors=True)
    assert "must equal total credits" in str(refused.value.error_data)
    assert sandbox.journals(T) == []


def test_a_journal_needs_two_lines_and_a_narration(sandbox, xero):
    assert "at least two" in errors_of(create(xero, journal(("477", "0.00", "Nothing"))))[0]
    assert "The Narration field is mandatory" in errors_of(create(xero, journal(narration=" ")))


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("999", "Account code '999' does not match a recognised account."),
        ("475", "has been archived, or has been deleted"),
        ("090", "bank accounts cannot be journalled"),
        ("800", "system account, which takes no manual journals"),
    ],
)
def test_lines_need_an_active_account_that_takes_journals(sandbox, xero, code, message):
    errors = errors_of(create(xero, journal((code, "10.00", "Line"), ("814", "-10.00", "Net"))))
    assert any(message in error for error in errors), errors
    assert sandbox.journals(T) == []


def test_tracking_must_name_an_active_category_and_option(sandbox, xero):
    errors = errors_of(create(xero, journal(("477", "10.00", "Wages", "Moon"), ("814", "-10.00", "Net"))))
    assert errors == ["'Moon' is not a valid option for the tracking category 'Department'."]


def test_get_by_id_where_page_and_if_modified_since(sandbox, xero):
    first = create(xero, journal()).manual_journals[0]
    create(xero, journal(narration="November - Payroll [PAY-2026-11/PJ]"))
    (by_id,) = xero.accounting.get_manual_journal(T, first.manual_journal_id).manual_journals
    assert by_id.narration == first.narration and len(by_id.journal_lines) == 2
    found = xero.accounting.get_manual_journals(
        T, where='Narration.Contains("[PAY-2026-11/PJ]")'
    ).manual_journals
    assert [j.narration for j in found] == ["November - Payroll [PAY-2026-11/PJ]"]
    paged = xero.accounting.get_manual_journals(T, page=2, page_size=1)
    assert len(paged.manual_journals) == 1 and paged.pagination.item_count == 2
    future = datetime.now(timezone.utc) + timedelta(hours=1)
    assert xero.accounting.get_manual_journals(T, if_modified_since=future).manual_journals == []
    with pytest.raises(NotFoundException):
        xero.accounting.get_manual_journal(T, "0b5e3f66-4f66-4b55-9d3c-6c1a1d7c0f00")


def _update(xero, journal_id, body, **kw):
    body.manual_journal_id = journal_id
    return xero.accounting.update_manual_journal(T, journal_id, ManualJournals(manual_journals=[body]), **kw)


def test_a_draft_is_updated_posted_and_voided_and_a_posted_one_is_never_edited(sandbox, xero):
    made = create(xero, journal()).manual_journals[0]
    journal_id = made.manual_journal_id
    updated = _update(xero, journal_id, journal(("477", "1200.00", "Wages"), ("814", "-1200.00", "Net")))
    assert updated.manual_journals[0].journal_lines[0].line_amount == 1200.0
    posted = _update(xero, journal_id, ManualJournal(narration=made.narration, status="POSTED"))
    assert posted.manual_journals[0].status == "POSTED"
    with pytest.raises(AccountingBadRequestException) as refused:
        _update(xero, journal_id, journal(("477", "1.00", "Wages"), ("814", "-1.00", "Net"), status="POSTED"))
    assert "cannot be edited as it has a status of POSTED" in str(refused.value.error_data)
    with pytest.raises(AccountingBadRequestException):
        _update(xero, journal_id, ManualJournal(narration=made.narration, status="DELETED"))
    voided = _update(xero, journal_id, ManualJournal(narration=made.narration, status="VOIDED"))
    assert voided.manual_journals[0].status == "VOIDED"
    with pytest.raises(AccountingBadRequestException):
        _update(xero, journal_id, ManualJournal(narration=made.narration, status="POSTED"))


def test_a_draft_is_deleted_not_voided(sandbox, xero):
    journal_id = create(xero, journal()).manual_journals[0].manual_journal_id
    with pytest.raises(AccountingBadRequestException) as refused:
        _update(xero, journal_id, ManualJournal(narration="x", status="VOIDED"))
    assert "delete it instead" in str(refused.value.error_data)
    deleted = _update(xero, journal_id, ManualJournal(narration="x", status="DELETED"))
    assert deleted.manual_journals[0].status == "DELETED"
    assert sandbox.journals(T)[0]["Narration"].endswith("[PAY-2026-10/PJ]")


def test_the_lock_date_refuses_an_earlier_journal(sandbox, xero):
    sandbox.set_lock_date(T, "2026-10-31")
    assert "period lock date of 31/10/2026" in errors_of(create(xero, journal()))[0]


def test_the_idempotency_key_replays_the_first_journal(sandbox, xero):
    first = create(xero, journal(), idempotency_key="journal-try").manual_journals[0]
    again = create(xero, journal(), idempotency_key="journal-try").manual_journals[0]
    assert again.manual_journal_id == first.manual_journal_id and len(sandbox.journals(T)) == 1
    assert dict(xero.client.last_response.getheaders())["Idempotent-Replayed"] == "true"
    with pytest.raises(AccountingBadRequestException):
        create(xero, journal(narration="Other [K]"), idempotency_key="journal-try")


def test_faults_apply_to_manual_journals(sandbox, xero):
    sandbox.faults.fail_next(1, status=503, path="ManualJournals")
    with pytest.raises(HTTPStatusException) as failed:
        create(xero, journal())
    assert failed.value.status == 503 and sandbox.journals(T) == []
    create(xero, journal())
    assert len(sandbox.journals(T)) == 1


def test_a_token_without_the_journal_scope_is_refused_as_xero_does(sandbox):
    scope = "offline_access accounting.invoices accounting.contacts accounting.settings.read"
    token = sandbox.issue_tokens(scope=scope)
    headers = {"Authorization": f"Bearer {token['access_token']}", "xero-tenant-id": T}
    url = f"{sandbox.url}/api.xro/2.0/ManualJournals"
    refused = requests.get(url, headers=headers, timeout=5)
    assert refused.status_code == 401 and refused.json()["Detail"] == "AuthorizationUnsuccessful"
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    assert "accounting.manualjournals" in refused.headers["WWW-Authenticate"]
    assert requests.get(f"{sandbox.url}/api.xro/2.0/Invoices", headers=headers, timeout=5).status_code == 200
    reader = sandbox.issue_tokens(scope=f"{scope} accounting.manualjournals.read")
    headers["Authorization"] = f"Bearer {reader['access_token']}"
    assert requests.get(url, headers=headers, timeout=5).status_code == 200
    assert requests.put(url, json={"ManualJournals": []}, headers=headers, timeout=5).status_code == 401
    broad = sandbox.issue_tokens(scope="offline_access accounting.transactions")
    headers["Authorization"] = f"Bearer {broad['access_token']}"
    assert requests.get(url, headers=headers, timeout=5).status_code == 200


def test_a_person_posts_voids_deletes_and_edits_journals_through_the_admin_api(sandbox, xero):
    posted_id = create(xero, journal()).manual_journals[0].manual_journal_id
    assert sandbox.post_journal(T, posted_id)["Status"] == "POSTED"
    edited = sandbox.edit_journal(T, posted_id, line=0, move_amount="5.00", description="Wages (edited)")
    assert [x["LineAmount"] for x in edited["JournalLines"]] == [D("1005.00"), D("-1005.00")]
    assert sandbox.void_journal(T, posted_id)["Status"] == "VOIDED"
    draft_id = create(xero, journal()).manual_journals[0].manual_journal_id
    answer = requests.post(
        f"{sandbox.url}/_sandbox/delete_journal", json={"tenant_id": T, "journal_id": draft_id}, timeout=5
    )
    assert answer.json()["result"]["Status"] == "DELETED"
    with pytest.raises(ValueError, match="cannot be voided"):
        sandbox.void_journal(T, create(xero, journal()).manual_journals[0].manual_journal_id)


def test_the_home_page_lists_journals_with_their_buttons_escaped(sandbox, xero):
    journal_id = create(xero, journal(narration="<b>Oct</b> [K]")).manual_journals[0].manual_journal_id
    page = requests.get(f"{sandbox.url}/", timeout=5).text
    assert "Manual journals" in page and "&lt;b&gt;Oct&lt;/b&gt; [K]" in page and "<b>Oct" not in page
    assert f'data-action="post" data-tenant="{T}" data-id="{journal_id}" data-endpoint="post_journal"' in page
    assert "1,000.00" in page
