"""Reading bills back from Xero: changed_bills (modified-since paging) and read_bills (IDs batches)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from common import TokenStore, calls_to, consent, make_bill, make_client

from payroll_xero.bills import ACCPAYCREDIT
from payroll_xero.client import IDS_BATCH, STATUS_PAGE, StatusPage
from payroll_xero.errors import RateLimited
from payroll_xero.sandbox import DEMO_TENANT_ID

LONG_AGO = datetime(2020, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def client(sandbox):
    return make_client(sandbox, TokenStore(consent(sandbox)))


def _push(client, count, prefix="PAY-2026-10/EMP", status="AUTHORISED"):
    bills = [
        make_bill(f"{prefix}/{i:04d}", contact=f"Employee {i:04d}", contact_number=f"E{i:04d}", status=status)
        for i in range(count)
    ]
    results = client.create_bills(bills)
    assert all(r.ok for r in results), [r.errors for r in results if not r.ok]
    return {r.invoice_number: r.xero_id for r in results}


def test_read_back_gives_status_amounts_and_update_time(sandbox, client):
    ids = _push(client, 2)
    paid_id = ids["PAY-2026-10/EMP/0000"]
    sandbox.pay_invoice(DEMO_TENANT_ID, paid_id, "1500.00")
    found = {b.xero_id: b for batch in client.read_bills(list(ids.values())) for b in batch}
    paid, unpaid = found[paid_id], found[ids["PAY-2026-10/EMP/0001"]]
    assert paid.status == "PAID"
    assert paid.amount_paid == Decimal("1500.00") and paid.amount_due == Decimal("0.00")
    assert paid.fully_paid_on is not None
    assert (
        unpaid.status == "AUTHORISED"
        and unpaid.amount_due == Decimal("1500.00")
        and unpaid.fully_paid_on is None
    )
    assert unpaid.updated_at.tzinfo is not None
    assert [line.account_code for line in unpaid.lines] == ["478"]  # lines come back for the drift check


def test_read_bills_asks_for_at_most_50_ids_per_call(sandbox, client):
    ids = list(_push(client, 60).values())
    before = len(calls_to(sandbox, "GET", "/Invoices"))
    batches = list(client.read_bills(ids))
    assert [len(b) for b in batches] == [IDS_BATCH, 10]
    assert len(calls_to(sandbox, "GET", "/Invoices")) - before == 2


def test_read_bills_of_credit_notes_uses_their_ids(client):
    [result] = client.create_bills([make_bill("PAY-2026-10/REFUND", doc_type=ACCPAYCREDIT)])
    [[note]] = list(client.read_bills([result.xero_id], credit_notes=True))
    assert note.is_credit_note and note.xero_id == result.xero_id and note.status == "DRAFT"


def test_read_bills_refuses_an_id_that_is_not_a_guid_in_a_credit_note_filter(client):
    with pytest.raises(ValueError, match="not a Xero id"):
        list(client.read_bills(['x") OR Type=="ACCREC'], credit_notes=True))


def test_changed_bills_reads_pages_of_100_and_moves_the_watermark(sandbox, client):
    _push(client, STATUS_PAGE + 30)
    before = len(calls_to(sandbox, "GET", "/Invoices")), len(calls_to(sandbox, "GET", "/CreditNotes"))
    pages = list(client.changed_bills(LONG_AGO))
    assert all(isinstance(p, StatusPage) for p in pages)
    credit, bills = [p for p in pages if p.credit_notes], [p for p in pages if not p.credit_notes]
    assert [len(p.bills) for p in credit] == [0]
    assert [len(p.bills) for p in bills] == [STATUS_PAGE, 30]
    # credit notes come first and keep the watermark; bills move it on; the end is the run's start minus the margin
    assert credit[0].watermark == LONG_AGO
    assert LONG_AGO < bills[0].watermark <= bills[1].watermark <= datetime.now(timezone.utc)
    assert len(calls_to(sandbox, "GET", "/Invoices")) - before[0] == 2
    assert len(calls_to(sandbox, "GET", "/CreditNotes")) - before[1] == 1


def test_changed_bills_since_the_watermark_is_cheap_when_nothing_changed(sandbox, client):
    _push(client, 3)
    *_, last = client.changed_bills(LONG_AGO)
    future = datetime.now(timezone.utc) + timedelta(minutes=1)
    before = len(sandbox.calls)
    pages = list(client.changed_bills(future))
    assert [len(p.bills) for p in pages] == [0, 0]
    assert len(sandbox.calls) - before == 2
    assert last.watermark <= datetime.now(timezone.utc)


def test_changed_bills_sees_a_payment_made_after_the_watermark(sandbox, client):
    ids = _push(client, 2)
    since = datetime.now(timezone.utc) - timedelta(seconds=1)
    sandbox.pay_invoice(DEMO_TENANT_ID, ids["PAY-2026-10/EMP/0001"], "1500.00")
    changed = [b for page in client.changed_bills(since) for b in page.bills]
    assert ids["PAY-2026-10/EMP/0001"] in {b.xero_id for b in changed}
    assert {b.status for b in changed if b.xero_id == ids["PAY-2026-10/EMP/0001"]} == {"PAID"}


def test_a_429_in_the_middle_keeps_what_was_read_and_the_watermark_resumes(sandbox, client):
    _push(client, STATUS_PAGE + 5)
    pages = client.changed_bills(LONG_AGO)
    credit = next(pages)
    first = next(pages)
    assert credit.credit_notes and len(first.bills) == STATUS_PAGE
    sandbox.faults.rate_limit_next(1, retry_after=3600, problem="day")
    with pytest.raises(RateLimited):
        next(pages)
    resumed = [b for page in client.changed_bills(first.watermark) for b in page.bills]
    read = {b.xero_id for b in first.bills} | {b.xero_id for b in resumed}
    assert len(read) == STATUS_PAGE + 5  # nothing lost
    assert first.watermark > LONG_AGO  # the resume starts from the saved page, not from the beginning


def test_changed_bills_refuses_a_naive_datetime(client):
    with pytest.raises(ValueError, match="aware"):
        next(client.changed_bills(datetime(2026, 1, 1)))
