"""Sandbox behaviours around the happy path: idempotency, rate limits, injected faults, persistence, pages."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone

import pytest
import requests
import urllib3
from freezegun import freeze_time

# The SDK wiring and document builders are shared with the accounting tests (conftest.py is not ours to edit).
from test_sandbox_accounting import Xero, bill, contact
from xero_python.accounting import Invoices
from xero_python.exceptions import AccountingBadRequestException, HTTPStatusException, RateLimitException

from payroll_xero.sandbox import DEMO_CLIENT_SECRET, DEMO_TENANT_ID, Sandbox

T = DEMO_TENANT_ID


@pytest.fixture
def xero(sandbox):
    return Xero(sandbox, sandbox.issue_tokens())


def api_get(sandbox, token, resource="Organisation", **kwargs):
    return requests.get(
        f"{sandbox.url}/api.xro/2.0/{resource}",
        timeout=5,
        **kwargs,
        headers={"Authorization": f"Bearer {token['access_token']}", "xero-tenant-id": T},
    )


def test_idempotency_key_replays_the_first_answer_without_a_second_bill(sandbox, xero):
    payee = contact(xero).contact_id
    first = xero.accounting.create_invoices(T, Invoices(invoices=[bill(payee)]), idempotency_key="run-7-try")
    again = xero.accounting.create_invoices(T, Invoices(invoices=[bill(payee)]), idempotency_key="run-7-try")

    assert again.invoices[0].invoice_id == first.invoices[0].invoice_id
    assert len(sandbox.invoices(T)) == 1
    assert dict(xero.client.last_response.getheaders())["Idempotent-Replayed"] == "true"


def test_idempotency_key_reused_for_a_different_body_is_refused(sandbox, xero):
    payee = contact(xero).contact_id
    xero.accounting.create_invoices(T, Invoices(invoices=[bill(payee)]), idempotency_key="k-1")
    with pytest.raises(AccountingBadRequestException) as refused:
        xero.accounting.create_invoices(
            T, Invoices(invoices=[bill(payee, amount="2.00")]), idempotency_key="k-1"
        )
    assert (
        "was already used in the last 6 minutes for a different request"
        in refused.value.error_data["Message"]
    )
    assert len(sandbox.invoices(T)) == 1


def test_idempotency_keys_are_forgotten_after_six_minutes(sandbox, xero):
    payee = contact(xero).contact_id
    with freeze_time(datetime.now(timezone.utc)) as frozen:
        xero.accounting.create_invoices(T, Invoices(invoices=[bill(payee)]), idempotency_key="k-2")
        frozen.tick(timedelta(minutes=6, seconds=1))
        xero.accounting.create_invoices(T, Invoices(invoices=[bill(payee)]), idempotency_key="k-2")
    assert len(sandbox.invoices(T)) == 2


@pytest.mark.parametrize(("limits", "problem"), [({"minute_limit": 3}, "minute"), ({"day_limit": 3}, "day")])
def test_calls_over_a_limit_get_429_with_retry_after(limits, problem):
    with Sandbox(**limits) as small:
        token = small.issue_tokens()
        answers = [api_get(small, token) for _ in range(4)]
        xero = Xero(small, token)
        with pytest.raises(RateLimitException) as limited:
            xero.accounting.get_organisations(T)

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    remaining = "X-MinLimit-Remaining" if problem == "minute" else "X-DayLimit-Remaining"
    assert [a.headers[remaining] for a in answers[:3]] == ["2", "1", "0"]
    assert answers[0].headers["X-AppMinLimit-Remaining"] == "9999"
    assert answers[3].headers["X-Rate-Limit-Problem"] == problem
    assert 1 <= int(answers[3].headers["Retry-After"]) <= (60 if problem == "minute" else 86400)
    assert limited.value.rate_limit == problem
    assert answers[0].headers["Xero-Correlation-Id"]


def test_more_than_the_concurrent_limit_in_flight_gets_429_concurrent():
    with Sandbox(concurrent_limit=2) as small:
        token = small.issue_tokens()
        small.faults.timeout_next(2, delay=0.6)
        slow = [threading.Thread(target=api_get, args=(small, token)) for _ in range(2)]
        for thread in slow:
            thread.start()
        while small.faults.pending():
            threading.Event().wait(0.01)
        refused = api_get(small, token)
        for thread in slow:
            thread.join()
        after = api_get(small, token)
    assert refused.status_code == 429 and refused.headers["X-Rate-Limit-Problem"] == "concurrent"
    assert after.status_code == 200


def test_injected_rate_limit_carries_retry_after_and_problem(sandbox, xero):
    sandbox.faults.rate_limit_next(1, retry_after=120, problem="day")
    with pytest.raises(RateLimitException) as limited:
        xero.accounting.get_organisations(T)
    assert limited.value.rate_limit == "day"
    assert limited.value.headers["Retry-After"] == "120"
    assert xero.accounting.get_organisations(T).organisations[0].name == "Harbour Payroll Demo Ltd"


def test_injected_503_does_nothing_and_the_next_call_works(sandbox, xero):
    payee = contact(xero).contact_id
    sandbox.faults.fail_next(1, status=503, path="Invoices", method="PUT")
    with pytest.raises(HTTPStatusException) as failed:
        xero.accounting.create_invoices(T, Invoices(invoices=[bill(payee)]))
    assert failed.value.status == 503
    assert sandbox.invoices(T) == []

    xero.accounting.create_invoices(T, Invoices(invoices=[bill(payee)]))
    assert len(sandbox.invoices(T)) == 1
    assert [c for c in sandbox.calls if "Invoices" in c[1]] == [
        ("PUT", "/api.xro/2.0/Invoices", 503),
        ("PUT", "/api.xro/2.0/Invoices", 200),
    ]


def test_commit_then_drop_creates_the_bill_exactly_once(sandbox, xero):
    payee = contact(xero).contact_id
    sandbox.faults.drop_after_commit_next(1, path="Invoices", method="PUT")
    with pytest.raises(urllib3.exceptions.ProtocolError):
        xero.accounting.create_invoices(T, Invoices(invoices=[bill(payee, "PR-DROP")]))

    found = xero.accounting.get_invoices(
        T, invoice_numbers=["PR-DROP"], contact_i_ds=[payee], created_by_my_app=True
    ).invoices
    assert len(found) == 1 and len(sandbox.invoices(T)) == 1
    assert ("PUT", "/api.xro/2.0/Invoices", 0) in sandbox.calls


def test_retry_with_the_same_idempotency_key_after_a_drop_returns_the_first_bill(sandbox, xero):
    payee = contact(xero).contact_id
    sandbox.faults.drop_after_commit_next(1, path="Invoices")
    with pytest.raises(urllib3.exceptions.ProtocolError):
        xero.accounting.create_invoices(T, Invoices(invoices=[bill(payee)]), idempotency_key="run-7-a1")
    retried = xero.accounting.create_invoices(T, Invoices(invoices=[bill(payee)]), idempotency_key="run-7-a1")

    (stored,) = sandbox.invoices(T)
    assert retried.invoices[0].invoice_id == stored["InvoiceID"]


def test_sdk_default_retries_duplicate_a_dropped_put(sandbox, xero):
    """Why the client must turn urllib3's retries off: left on, the SDK silently re-sends a PUT."""
    del xero.client.rest_client.pool_manager.connection_pool_kw["retries"]
    payee = contact(xero).contact_id
    sandbox.faults.drop_after_commit_next(1, path="Invoices", method="PUT")
    xero.accounting.create_invoices(T, Invoices(invoices=[bill(payee)]))  # no error reaches the caller
    assert len(sandbox.invoices(T)) == 2


def test_timeout_fault_answers_late_and_writes_nothing(sandbox, xero):
    payee = contact(xero).contact_id
    sandbox.faults.timeout_next(1, delay=2.0, path="Invoices")
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        xero.accounting.create_invoices(T, Invoices(invoices=[bill(payee)]), _request_timeout=(2, 0.3))
    assert sandbox.invoices(T) == []


def test_fault_on_the_token_endpoint_only_when_asked(sandbox):
    sandbox.faults.fail_next(1, status=500)  # API calls only: the code exchange is not hit
    token = sandbox.issue_tokens()
    sandbox.faults.fail_next(1, status=500, path="/connect/token")
    response = requests.post(
        f"{sandbox.url}/connect/token",
        auth=("sandbox-client-id", DEMO_CLIENT_SECRET),
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        timeout=5,
    )
    assert response.status_code == 500
    assert api_get(sandbox, token).status_code == 500  # the first fault is still waiting for an API call


def test_state_survives_a_restart_with_a_sqlite_file(tmp_path):
    db = str(tmp_path / "sandbox.db")
    with Sandbox(db_path=db) as first:
        token = first.issue_tokens()
        xero = Xero(first, token)
        payee = contact(xero).contact_id
        xero.accounting.create_invoices(T, Invoices(invoices=[bill(payee, "PR-KEEP")]))
        first.set_lock_date(T, "2024-12-31")

    with Sandbox(db_path=db) as second:
        again = Xero(second, token)  # the access token issued before the restart still works
        found = again.accounting.get_invoices(T, invoice_numbers=["PR-KEEP"]).invoices
        org = again.accounting.get_organisations(T).organisations[0]
        assert [i["InvoiceNumber"] for i in second.invoices(T)] == ["PR-KEEP"]
    assert len(found) == 1 and found[0].contact.contact_id == payee
    assert str(org.period_lock_date) == "2024-12-31"


def test_home_page_lists_bills_and_credit_notes_escaped(sandbox, xero):
    payee = contact(xero, "Tom & Jerry <Payroll>").contact_id
    xero.accounting.create_invoices(
        T, Invoices(invoices=[bill(payee, "<b>PR-9</b>", description="Wages <Jan>")])
    )
    page = requests.get(f"{sandbox.url}/", timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "Bills to pay" in page.text and "Credit notes" in page.text
    assert "&lt;b&gt;PR-9&lt;/b&gt;" in page.text and "<b>PR-9" not in page.text
    assert "Tom &amp; Jerry &lt;Payroll&gt;" in page.text and "Wages &lt;Jan&gt;" in page.text
    assert "1,000.00" in page.text and "DRAFT" in page.text


def test_admin_endpoints_inject_faults_change_accounts_and_reset(sandbox, xero):
    admin = f"{sandbox.url}/_sandbox"
    fault = requests.post(f"{admin}/faults", json={"kind": "fail", "n": 1, "status": 500}, timeout=5)
    with pytest.raises(HTTPStatusException) as failed:
        xero.accounting.get_currencies(T)
    archived = requests.post(f"{admin}/archive_account", json={"tenant_id": T, "code": "477"}, timeout=5)
    state = requests.get(f"{admin}/state", timeout=5)
    unknown = requests.post(f"{admin}/archive_account", json={"tenant_id": T, "code": "nope"}, timeout=5)

    assert fault.status_code == 200 and failed.value.status == 500
    assert archived.status_code == 200
    accounts = {a["Code"]: a["Status"] for a in state.json()["organisations"][0]["Accounts"]}
    assert accounts["477"] == "ARCHIVED"
    assert DEMO_CLIENT_SECRET not in state.text and xero.token["access_token"] not in state.text
    assert unknown.status_code == 400

    assert requests.post(f"{admin}/reset", json={}, timeout=5).status_code == 200
    assert sandbox.contacts(T) == [] and sandbox.state()["connections"] == []


def test_cli_serves_until_sigterm(tmp_path):
    process = subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "payroll_xero.cli", "sandbox", "--port", "0", "--db", str(tmp_path / "s.db")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = process.stdout.readline().split()[4]
        page = requests.get(f"{url}/", timeout=5)
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=10)
    assert page.status_code == 200 and "Harbour Payroll Demo Ltd" in page.text
    assert code == 0
