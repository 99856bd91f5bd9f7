"""Files attached to bills, credit notes and manual journals, over real HTTP against the sandbox (the SDK unmocked)."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest
from common import TokenStore, calls_to, consent, make_bill, make_client
from test_client_journals import make_journal

from payroll_xero.bills import ACCPAYCREDIT
from payroll_xero.client import MAX_ATTACHMENT_BYTES, attachment_file_name
from payroll_xero.errors import NotFound, ReconnectNeeded, ScopeMissing, ValidationFailed, XeroUnavailable
from payroll_xero.oauth import DEFAULT_SCOPES, JOURNAL_SCOPE
from payroll_xero.sandbox import DEMO_TENANT_ID

PDF = b"%PDF-1.4\n% a batch summary\n%%EOF\n"


@pytest.fixture
def client(sandbox):
    return make_client(sandbox)


def _bill(client, number="PAY-2026-10/MPF", **kw):
    [result] = client.create_bills([make_bill(number, **kw)])
    assert result.ok, result.errors
    return result


def test_file_names_are_sanitized_from_the_bill_number():
    assert attachment_file_name("PAY-2026-10/MPF") == "PAY-2026-10-MPF.pdf"
    assert attachment_file_name("PR7-202610/NET/E 0001") == "PR7-202610-NET-E-0001.pdf"
    assert attachment_file_name("../../etc/passwd", ".PDF") == "etc-passwd.pdf"
    assert attachment_file_name("", "html") == "document.html"
    assert len(attachment_file_name("X" * 300)) == 104


def test_a_bill_gets_its_file_once_and_a_retry_uploads_nothing(sandbox, client):
    bill = _bill(client)
    first = client.attach(bill.xero_id, "PAY-2026-10-MPF.pdf", PDF)
    assert first.uploaded and first.attachment.file_name == "PAY-2026-10-MPF.pdf"
    assert first.attachment.attachment_id
    again = client.attach(bill.xero_id, "PAY-2026-10-MPF.pdf", PDF)
    assert again.already and again.attachment.attachment_id == first.attachment.attachment_id
    [stored] = sandbox.attachments(DEMO_TENANT_ID, bill.xero_id)
    assert stored["Content"] == PDF
    assert stored["MimeType"] == "application/pdf" and stored["ContentLength"] == len(PDF)
    assert len(calls_to(sandbox, "PUT", "/Attachments/")) == 1
    assert len(calls_to(sandbox, "GET", "/Attachments")) == 2  # each attach looks first
    [invoice] = sandbox.invoices(DEMO_TENANT_ID)
    assert invoice["HasAttachments"] is True
    assert [a.file_name for a in client.attachments(bill.xero_id)] == ["PAY-2026-10-MPF.pdf"]


def test_credit_notes_use_the_credit_notes_attachments_endpoint(sandbox, client):
    note = _bill(client, "PAY-2026-10/REFUND", doc_type=ACCPAYCREDIT)
    assert note.is_credit_note
    result = client.attach(note.xero_id, "PAY-2026-10-REFUND.pdf", PDF, credit_note=True)
    assert result.uploaded
    assert calls_to(sandbox, "PUT", f"/CreditNotes/{note.xero_id}/Attachments/")
    assert not calls_to(sandbox, "PUT", "/Invoices/")
    assert sandbox.attachments(DEMO_TENANT_ID, note.xero_id, credit_note=True)[0]["Content"] == PDF
    assert sandbox.attachments(DEMO_TENANT_ID, note.xero_id) == []


def test_replace_updates_the_file_of_that_name_in_place(sandbox, client):
    bill = _bill(client)
    client.attach(bill.xero_id, "summary.pdf", PDF)
    newer = PDF.replace(b"summary", b"summary v2")
    result = client.attach(bill.xero_id, "summary.pdf", newer, replace=True)
    assert result.uploaded and result.replaced
    [stored] = sandbox.attachments(DEMO_TENANT_ID, bill.xero_id)
    assert stored["Content"] == newer
    assert calls_to(sandbox, "POST", "/Attachments/summary.pdf")


def test_a_lost_answer_is_looked_up_and_the_file_is_not_sent_twice(sandbox, client):
    bill = _bill(client)
    sandbox.faults.drop_after_commit_next(path="/Attachments/", method="PUT")
    result = client.attach(bill.xero_id, "summary.pdf", PDF)
    assert result.uploaded and result.attachment.file_name == "summary.pdf"
    assert len(sandbox.attachments(DEMO_TENANT_ID, bill.xero_id)) == 1
    assert len(calls_to(sandbox, "PUT", "/Attachments/")) == 1


def test_an_upload_xero_never_applied_is_retryable_and_sends_once_later(sandbox, client):
    bill = _bill(client)
    sandbox.faults.fail_next(status=503, path="/Attachments/", method="PUT")
    with pytest.raises(XeroUnavailable) as caught:
        client.attach(bill.xero_id, "summary.pdf", PDF)
    assert caught.value.retryable
    assert sandbox.attachments(DEMO_TENANT_ID, bill.xero_id) == []
    assert client.attach(bill.xero_id, "summary.pdf", PDF).uploaded
    assert len(sandbox.attachments(DEMO_TENANT_ID, bill.xero_id)) == 1


def test_files_xero_would_refuse_are_refused_before_sending(sandbox, client):
    bill = _bill(client)
    with pytest.raises(ValidationFailed, match="10 MB"):
        client.attach(bill.xero_id, "big.pdf", b"x" * (MAX_ATTACHMENT_BYTES + 1))
    with pytest.raises(ValidationFailed, match="empty"):
        client.attach(bill.xero_id, "empty.pdf", b"")
    for idx in range(10):
        client.attach(bill.xero_id, f"file{idx}.pdf", PDF)
    with pytest.raises(ValidationFailed, match="10 attachments"):
        client.attach(bill.xero_id, "eleventh.pdf", PDF)
    assert not calls_to(sandbox, "PUT", "big.pdf") and not calls_to(sandbox, "PUT", "eleventh.pdf")


def test_the_sandbox_keeps_xeros_limits_and_puts_of_one_name_add_a_file_each(sandbox, client):
    bill = _bill(client)
    # what a client without a look-up does: the same request again is replayed (Idempotency-Key) ...
    for _ in range(2):
        client._upload(bill.xero_id, "twice.pdf", PDF, "invoice", False)
    assert len(sandbox.attachments(DEMO_TENANT_ID, bill.xero_id)) == 1
    # ... but another file of the same name is a second attachment
    client._upload(bill.xero_id, "twice.pdf", PDF + b" ", "invoice", False)
    assert [a["FileName"] for a in sandbox.attachments(DEMO_TENANT_ID, bill.xero_id)] == ["twice.pdf"] * 2
    for idx in range(8):
        client._upload(bill.xero_id, f"f{idx}.pdf", PDF, "invoice", False)
    with pytest.raises(ValidationFailed, match="already has 10 attachments"):
        client._upload(bill.xero_id, "f9.pdf", PDF, "invoice", False)


def test_attaching_to_a_document_xero_does_not_have_is_not_found(client):
    with pytest.raises(NotFound):
        client.attach("0f8fad5b-d9cb-469f-a165-70867728950e", "summary.pdf", PDF)


def test_a_token_without_the_attachments_scope_is_refused(sandbox):
    scopes = [s for s in DEFAULT_SCOPES if s != "accounting.attachments"]
    client = make_client(sandbox, TokenStore(consent(sandbox, scopes=scopes)))
    bill = _bill(client)
    with pytest.raises(ReconnectNeeded):
        client.attach(bill.xero_id, "summary.pdf", PDF)


def test_the_bills_page_lists_the_files_and_serves_them(sandbox, client):
    bill = _bill(client)
    client.attach(bill.xero_id, "PAY-2026-10-MPF.pdf", PDF)
    [stored] = sandbox.attachments(DEMO_TENANT_ID, bill.xero_id)
    parts = urlsplit(sandbox.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        conn.request("GET", "/")
        page = conn.getresponse().read().decode()
        link = f"/_sandbox/attachments/{DEMO_TENANT_ID}/{stored['AttachmentID']}"
        assert "PAY-2026-10-MPF.pdf" in page and link in page
        conn.request("GET", link)
        answer = conn.getresponse()
        assert answer.status == 200 and answer.getheader("Content-Type") == "application/pdf"
        assert answer.read() == PDF
    finally:
        conn.close()


def test_a_document_created_moments_ago_is_attached_without_a_look_up(sandbox, client):
    bill = _bill(client)
    result = client.attach(bill.xero_id, "summary.pdf", PDF, check_existing=False)
    assert result.uploaded
    assert not calls_to(sandbox, "GET", "/Attachments")
    assert len(calls_to(sandbox, "PUT", "/Attachments/summary.pdf")) == 1


def test_a_manual_journal_gets_its_file_once_on_the_manual_journals_endpoint(sandbox, client):
    [made] = client.create_journals([make_journal()])
    assert made.ok, made.errors
    first = client.attach(made.xero_id, "PAY-2026-10-PJ.pdf", PDF, journal=True)
    assert first.uploaded
    again = client.attach(made.xero_id, "PAY-2026-10-PJ.pdf", PDF, journal=True)
    assert again.already
    replaced = client.attach(made.xero_id, "PAY-2026-10-PJ.pdf", PDF + b" ", journal=True, replace=True)
    assert replaced.replaced
    [stored] = sandbox.attachments(DEMO_TENANT_ID, made.xero_id, journal=True)
    assert stored["Content"] == PDF + b" "
    assert (
        len(calls_to(sandbox, "PUT", "/ManualJournals/")) == 1
    )  # the file once (the journal: PUT ManualJournals)
    assert [a.file_name for a in client.attachments(made.xero_id, journal=True)] == ["PAY-2026-10-PJ.pdf"]
    [journal] = sandbox.journals(DEMO_TENANT_ID)
    assert journal["HasAttachments"] is True


def test_a_journal_attachment_without_the_journal_scope_asks_to_reconnect(sandbox):
    [made] = make_client(sandbox).create_journals([make_journal()])
    scopes = tuple(s for s in DEFAULT_SCOPES if s != JOURNAL_SCOPE)
    client = make_client(sandbox, TokenStore(consent(sandbox, scopes=scopes)))
    with pytest.raises(ScopeMissing):
        client.attach(made.xero_id, "PAY-2026-10-PJ.pdf", PDF, journal=True)
