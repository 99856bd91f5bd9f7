"""A person's changes in the sandbox (approve, pay, void, delete, edit) as the client reads them back."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import requests
from common import TokenStore, consent, make_bill, make_client

from payroll_xero.client import bill_differences
from payroll_xero.sandbox import DEMO_TENANT_ID


@pytest.fixture
def client(sandbox):
    return make_client(sandbox, TokenStore(consent(sandbox)))


def _sent(client, number="PAY-2026-10/MPF", status="DRAFT"):
    bill = make_bill(number, status=status)
    [result] = client.create_bills([bill])
    assert result.ok
    return bill, result.xero_id


def _read(client, xero_id):
    [[found]] = list(client.read_bills([xero_id]))
    return found


def test_unchanged_bill_reads_back_without_differences(client):
    bill, xero_id = _sent(client)
    found = _read(client, xero_id)
    assert found.status == "DRAFT" and bill_differences(bill, found) == ()


def test_approve_then_pay_reads_back_paid_with_date(sandbox, client):
    _bill, xero_id = _sent(client)
    sandbox.approve_invoice(DEMO_TENANT_ID, xero_id)
    assert _read(client, xero_id).status == "AUTHORISED"
    sandbox.pay_invoice(DEMO_TENANT_ID, xero_id, "1000.00")
    partly = _read(client, xero_id)
    assert (partly.status, partly.amount_paid, partly.amount_due) == (
        "AUTHORISED",
        Decimal("1000.00"),
        Decimal("500.00"),
    )
    sandbox.pay_invoice(DEMO_TENANT_ID, xero_id, "500.00")
    paid = _read(client, xero_id)
    assert paid.status == "PAID" and paid.amount_due == 0 and paid.fully_paid_on is not None


def test_void_and_delete_follow_xeros_rules(sandbox, client):
    _bill, draft_id = _sent(client, "PAY-2026-10/A")
    _bill, approved_id = _sent(client, "PAY-2026-10/B", status="AUTHORISED")
    with pytest.raises(ValueError, match="cannot be voided"):
        sandbox.void_invoice(DEMO_TENANT_ID, draft_id)
    sandbox.delete_invoice(DEMO_TENANT_ID, draft_id)
    sandbox.void_invoice(DEMO_TENANT_ID, approved_id)
    assert _read(client, draft_id).status == "DELETED"
    assert _read(client, approved_id).status == "VOIDED"


def test_an_edit_in_xero_is_a_difference_and_moves_the_update_time(sandbox, client):
    bill, xero_id = _sent(client, status="AUTHORISED")
    before = _read(client, xero_id).updated_at
    sandbox.edit_invoice(DEMO_TENANT_ID, xero_id, unit_amount="1600.00", account_code="477")
    found = _read(client, xero_id)
    assert found.total == Decimal("1600.00") and found.amount_due == Decimal("1600.00")
    assert found.updated_at >= before
    differences = " ".join(bill_differences(bill, found))
    assert "1,600.00 in Xero" in differences and '"477" in Xero' in differences
    since = datetime.now(timezone.utc) - timedelta(minutes=1)
    assert xero_id in {b.xero_id for page in client.changed_bills(since) for b in page.bills}


def test_a_paid_bill_cannot_be_edited(sandbox, client):
    _bill, xero_id = _sent(client, status="AUTHORISED")
    sandbox.pay_invoice(DEMO_TENANT_ID, xero_id, "1500.00")
    with pytest.raises(ValueError, match="PAID document cannot be edited"):
        sandbox.edit_invoice(DEMO_TENANT_ID, xero_id, unit_amount="1.00")


def test_admin_endpoint_approves_with_json(sandbox, client):
    _bill, xero_id = _sent(client)
    answer = requests.post(
        f"{sandbox.url}/_sandbox/approve_invoice",
        json={"tenant_id": DEMO_TENANT_ID, "invoice_id": xero_id},
        timeout=5,
    )
    assert answer.json()["result"]["Status"] == "AUTHORISED"
    assert _read(client, xero_id).status == "AUTHORISED"


def test_an_ids_query_string_of_over_2000_characters_is_answered_404_like_xero(sandbox, client):
    _bill, xero_id = _sent(client)
    token = consent(sandbox)
    headers = {"Authorization": f"Bearer {token.access_token}", "xero-tenant-id": DEMO_TENANT_ID}

    def get(count: int) -> requests.Response:
        ids = ",".join([xero_id] + [str(uuid.uuid4()) for _ in range(count - 1)])
        url = f"{sandbox.url}/api.xro/2.0/Invoices"
        return requests.get(url, params={"IDs": ids}, headers=headers, timeout=5)

    fifty = get(50)
    assert fifty.status_code == 200
    assert [d["InvoiceID"] for d in fifty.json()["Invoices"]] == [xero_id]
    assert get(60).status_code == 404


def test_the_bills_page_has_buttons_that_post_json_to_the_admin_api(sandbox, client):
    _bill, xero_id = _sent(client)
    page = requests.get(f"{sandbox.url}/", timeout=5).text
    assert f'data-action="approve" data-tenant="{DEMO_TENANT_ID}" data-id="{xero_id}"' in page
    assert '"Content-Type": "application/json"' in page
