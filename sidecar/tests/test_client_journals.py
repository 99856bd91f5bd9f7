"""XeroClient's manual journals over real HTTP against the sandbox, with the real SDK (nothing mocked)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from common import TokenStore, calls_to, consent, make_bill, make_client
from freezegun import freeze_time

from payroll_xero import oauth
from payroll_xero.client import journal_web_url
from payroll_xero.errors import NotEditable, OutcomeUnknown, ReconnectNeeded, ScopeMissing, ValidationFailed
from payroll_xero.journals import Journal, JournalLine, journal_key, journal_narration
from payroll_xero.oauth import XeroEndpoints
from payroll_xero.sandbox import DEMO_TENANT_ID

T = DEMO_TENANT_ID
D = Decimal


def make_journal(
    lines=(("477", "Wages", "31000.00", "BASIC"), ("814", "Net wages payable", "-31000.00", "NET")),
    *,
    type_code="PJ",
    status="DRAFT",
    reference="PAY-2026-10",
) -> Journal:
    key = journal_key(reference, type_code)
    return Journal(
        key=key,
        narration=journal_narration("October 2026", "Payroll journal", key),
        type_name="Payroll journal",
        date=date(2026, 10, 31),
        currency="HKD",
        status=status,
        lines=tuple(JournalLine(code, text, D(amount), item) for code, text, amount, item in lines),
        url="https://erp.example.com/odoo/hr.payslip.run/7",
        type_key=type_code,
    )


@pytest.fixture
def client(sandbox):
    return make_client(sandbox)


def test_create_journals_posts_a_signed_balanced_journal_with_its_key_and_url(sandbox, client):
    [result] = client.create_journals([make_journal()])
    assert result.ok and result.created and not result.already_existed
    assert (result.key, result.status, result.debits) == ("PAY-2026-10/PJ", "DRAFT", D("31000.00"))
    [stored] = sandbox.journals(T)
    assert stored["ManualJournalID"] == result.xero_id
    assert stored["Narration"] == "October 2026 - Payroll journal [PAY-2026-10/PJ]"
    assert stored["Url"] == "https://erp.example.com/odoo/hr.payslip.run/7"
    assert [(x["AccountCode"], x["LineAmount"]) for x in stored["JournalLines"]] == [
        ("477", D("31000.00")),
        ("814", D("-31000.00")),
    ]


def test_pushing_twice_creates_one_journal_and_reports_it_already_there(sandbox, client):
    client.create_journals([make_journal()])
    [again] = client.create_journals([make_journal()])
    assert again.ok and again.already_existed and not again.created and again.differences == ()
    assert len(sandbox.journals(T)) == 1
    assert len(calls_to(sandbox, "PUT", "/ManualJournals")) == 1


def test_a_retry_after_a_lost_answer_creates_no_second_journal(sandbox, client):
    sandbox.faults.drop_after_commit_next(1, method="PUT", path="ManualJournals")
    [result] = client.create_journals([make_journal()], check_existing=False)
    assert result.ok and result.created and result.xero_id == sandbox.journals(T)[0]["ManualJournalID"]
    assert len(sandbox.journals(T)) == 1
    assert len(calls_to(sandbox, "PUT", "/ManualJournals")) == 1  # found by the lookup, not sent again


def test_an_unknown_outcome_is_looked_up_by_the_next_push_past_the_idempotency_window(sandbox):
    with freeze_time(datetime.now(timezone.utc)) as frozen:
        first = make_client(sandbox)
        sandbox.faults.drop_after_commit_next(1, method="PUT", path="ManualJournals")
        sandbox.faults.fail_next(3, status=503, method="GET", path="ManualJournals")
        with pytest.raises(OutcomeUnknown) as unknown:
            first.create_journals([make_journal()], check_existing=False)
        assert unknown.value.invoice_numbers == ("PAY-2026-10/PJ",)
        frozen.tick(timedelta(minutes=7))  # Xero has forgotten the Idempotency-Key
        # Tomorrow's cron, with another content (a payslip changed): still the same journal, found by its key.
        changed = make_journal((("477", "Wages", "32000.00", "BASIC"), ("814", "Net", "-32000.00", "NET")))
        [later] = make_client(sandbox).create_journals([changed])
    assert later.already_existed and later.xero_id == sandbox.journals(T)[0]["ManualJournalID"]
    assert any("amount: 31,000.00 in Xero, 32,000.00" in d for d in later.differences)
    assert len(sandbox.journals(T)) == 1


def test_a_refused_journal_names_its_key_and_line(sandbox, client):
    sandbox.archive_account(T, "477")
    good = make_journal(
        type_code="OK", lines=(("478", "MPF", "10.00", "MPF_ER"), ("825", "MPF", "-10.00", "MPF_ER"))
    )
    refused, made = client.create_journals([make_journal(), good])
    assert not refused.ok and refused.key == "PAY-2026-10/PJ"
    assert any(
        "journal PAY-2026-10/PJ, line 1 (Wages, account 477)" in e and "archived" in e for e in refused.errors
    )
    assert made.ok and made.created
    assert [j["Narration"][-16:] for j in sandbox.journals(T)] == ["[PAY-2026-10/OK]"]


def test_the_same_journal_twice_in_one_push_is_sent_once(sandbox, client):
    first, dup = client.create_journals([make_journal(), make_journal()])
    assert first.ok and not dup.ok and "twice in one push" in dup.errors[0]
    assert len(sandbox.journals(T)) == 1


def test_update_draft_journal_replaces_the_lines_of_a_draft(sandbox, client):
    [made] = client.create_journals([make_journal()])
    changed = make_journal((("477", "Wages", "32000.00", "BASIC"), ("814", "Net", "-32000.00", "NET")))
    result = client.update_draft_journal(made.xero_id, changed)
    assert result.ok and not result.created and result.debits == D("32000.00")
    assert sandbox.journals(T)[0]["JournalLines"][0]["LineAmount"] == D("32000.00")
    assert client.update_draft_journal(made.xero_id, changed).ok  # same content again: harmless


def test_update_refuses_a_journal_posted_in_xero_and_one_of_another_key(sandbox, client):
    [made] = client.create_journals([make_journal()])
    with pytest.raises(ValidationFailed, match="is not journal PAY-2026-10/OTHER"):
        client.update_draft_journal(made.xero_id, make_journal(type_code="OTHER"))
    sandbox.post_journal(T, made.xero_id)
    with pytest.raises(NotEditable) as refused:
        client.update_draft_journal(made.xero_id, make_journal())
    assert refused.value.status == "POSTED" and not refused.value.retryable
    assert "posted journal is never changed" in str(refused.value)
    assert sandbox.journals(T)[0]["JournalLines"][0]["LineAmount"] == D("31000.00")


def test_cancel_deletes_a_draft_and_voids_a_posted_journal(sandbox, client):
    draft, posted = client.create_journals([make_journal(), make_journal(type_code="POST", status="POSTED")])
    with pytest.raises(NotEditable, match="only a posted journal is voided"):
        client.void_journal(draft.xero_id)
    with pytest.raises(NotEditable, match="only a draft is deleted"):
        client.delete_journal(posted.xero_id)
    assert client.cancel_journal(draft.xero_id, "PAY-2026-10/PJ").status == "DELETED"
    assert client.cancel_journal(posted.xero_id).status == "VOIDED"
    assert client.cancel_journal(posted.xero_id).status == "VOIDED"  # already gone: as is
    assert {j["Status"] for j in sandbox.journals(T)} == {"DELETED", "VOIDED"}


def test_a_journal_made_again_after_a_delete_is_a_new_one(sandbox, client):
    [first] = client.create_journals([make_journal()])
    client.delete_journal(first.xero_id)
    [second] = client.create_journals([make_journal()])
    assert second.created and second.xero_id != first.xero_id
    assert [j["Status"] for j in sandbox.journals(T)] == ["DELETED", "DRAFT"]


def test_status_read_back_sees_journals_posted_voided_and_edited_in_xero(sandbox, client):
    since = datetime.now(timezone.utc) - timedelta(minutes=1)
    posted, edited = client.create_journals([make_journal(), make_journal(type_code="EDIT")])
    sandbox.post_journal(T, posted.xero_id)
    sandbox.void_journal(T, posted.xero_id)
    sandbox.edit_journal(T, edited.xero_id, line=0, move_amount="100.00")
    pages = list(client.changed_journals(since))
    seen = {j.xero_id: j for page in pages for j in page.journals}
    assert seen[posted.xero_id].status == "VOIDED" and seen[posted.xero_id].key == "PAY-2026-10/PJ"
    assert pages[-1].watermark is not None
    [batch] = list(client.read_journals([edited.xero_id, posted.xero_id]))
    found = {j.xero_id: j for j in batch}[edited.xero_id]
    differences = client.create_journals([make_journal(type_code="EDIT")])[0].differences
    assert found.debits == D("31100.00")
    assert "line 1 (Wages), amount: 31,100.00 in Xero, 31,000.00 in the journal sent." in differences
    assert client.find_journal("PAY-2026-10/PJ") is None  # voided: not live
    assert client.find_journals(["PAY-2026-10/PJ"])[1] == {"PAY-2026-10/PJ": [posted.xero_id]}


def test_a_connection_without_the_journal_scope_must_reconnect_and_loses_nothing(sandbox):
    scopes = tuple(s for s in oauth.DEFAULT_SCOPES if s != oauth.JOURNAL_SCOPE)
    store = TokenStore(consent(sandbox, scopes=scopes))
    client = make_client(sandbox, store)
    assert not oauth.journals_allowed(store.token.scopes)
    with pytest.raises(ScopeMissing) as missing:
        client.create_journals([make_journal()])
    error = missing.value
    assert isinstance(error, ReconnectNeeded) and not error.retryable
    assert error.scope == "accounting.manualjournals"
    assert "connect to Xero again to allow manual journals" in str(error)
    assert sandbox.journals(T) == [] and store.saved == []  # no refresh tried: it would not help
    client.ensure_contact("HSBC MPF Trustee")
    [bill] = client.create_bills([make_bill()])  # what the connection allows goes on working
    assert bill.ok and bill.created


def test_journal_scope_is_requested_and_recognised():
    assert "accounting.manualjournals" in oauth.DEFAULT_SCOPES
    assert oauth.journals_allowed("offline_access accounting.manualjournals")
    assert oauth.journals_allowed(("accounting.transactions",))
    assert not oauth.journals_allowed(("accounting.manualjournals.read", "accounting.invoices"))


def test_journal_web_url_opens_xero_or_the_sandbox_row(sandbox, client):
    xero_id = "0b5e3f66-4f66-4b55-9d3c-6c1a1d7c0f00"
    assert journal_web_url(xero_id) == f"https://go.xero.com/Journal/View.aspx?invoiceID={xero_id}"
    assert journal_web_url(xero_id, oauth.XERO) == journal_web_url(xero_id)
    assert journal_web_url(xero_id, XeroEndpoints.single(sandbox.url)) == f"{sandbox.url}/#{xero_id}"
    assert client.journal_web_url(xero_id) == f"{sandbox.url}/#{xero_id}"


def test_a_rate_limit_on_journals_is_waited_through(sandbox, client):
    sandbox.faults.rate_limit_next(1, retry_after=2, path="ManualJournals", method="PUT")
    [result] = client.create_journals([make_journal()])
    assert result.ok and 2 in client.sleep.calls
    assert dataclasses.replace(make_journal()).content_hash() == make_journal().content_hash()


def test_an_authorization_refusal_without_header_is_a_missing_scope_only_on_a_call_that_names_one():
    from types import SimpleNamespace

    from payroll_xero.client.transport import _insufficient_scope

    refusal = SimpleNamespace(body=b'{"Title": "Unauthorized", "Detail": "AuthorizationUnsuccessful"}')
    assert _insufficient_scope(refusal, {}, "accounting.manualjournals")
    assert not _insufficient_scope(refusal, {}, None)
    expired = SimpleNamespace(body=b'{"Detail": "TokenExpired: token expired at 10/31/2026 00:00:00"}')
    assert not _insufficient_scope(expired, {}, "accounting.manualjournals")
    assert _insufficient_scope(expired, {"WWW-Authenticate": 'Bearer error="insufficient_scope"'}, None)
