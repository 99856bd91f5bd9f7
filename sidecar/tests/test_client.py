"""XeroClient over real HTTP against the sandbox, with the real SDK (nothing mocked)."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from common import Sleeps, TokenStore, calls_to, consent, endpoints, make_bill, make_client

from payroll_xero import oauth
from payroll_xero.bills import ACCPAYCREDIT
from payroll_xero.client import TenantLimiter, XeroBill, XeroBillLine, bill_differences, idempotency_key
from payroll_xero.errors import (
    RateLimited,
    ReconnectNeeded,
    ValidationFailed,
    XeroError,
    XeroUnavailable,
)
from payroll_xero.oauth import Token
from payroll_xero.sandbox import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID, SECOND_TENANT_ID


@pytest.fixture
def store(sandbox):
    return TokenStore(consent(sandbox))


@pytest.fixture
def client(sandbox, store):
    return make_client(sandbox, store)


# --------------------------------------------------------------------------- reads


def test_organisation_reports_name_base_currency_and_enabled_currencies(client):
    org = client.organisation()
    assert org.name
    assert org.organisation_id == DEMO_TENANT_ID
    assert org.base_currency == "HKD"
    assert {"HKD", "USD"} <= set(org.currencies)


def test_accounts_list_postable_expense_and_liability_accounts_and_flag_archived_ones(sandbox, client):
    accounts = {a.code: a for a in client.accounts()}
    assert accounts["477"].is_postable and accounts["477"].name
    assert accounts["825"].type == "CURRLIAB"
    sandbox.archive_account(DEMO_TENANT_ID, "477")
    again = {a.code: a for a in client.accounts()}
    assert again["477"].status == "ARCHIVED" and not again["477"].is_postable


def test_accounts_modified_since_the_future_returns_nothing(client):
    assert client.accounts(modified_since=datetime.now(timezone.utc) + timedelta(days=1)) == []


def test_accounts_modified_since_refuses_a_naive_datetime(client):
    with pytest.raises(ValueError):
        client.accounts(modified_since=datetime(2026, 1, 1))


def test_tracking_categories_include_department_options(client):
    categories = {c.name: c for c in client.tracking_categories()}
    assert "Department" in categories
    assert categories["Department"].options


# --------------------------------------------------------------------------- contacts


def test_ensure_contact_creates_once_and_finds_by_contact_number_later(sandbox, store, client):
    first = client.ensure_contact("Chan Tai Man", "E0001")
    assert client.ensure_contact("Chan Tai Man", "E0001") == first  # cached
    other_client = make_client(sandbox, store)
    assert other_client.ensure_contact("Chan Tai Man (renamed)", "E0001") == first  # found by number
    contacts = [c for c in sandbox.contacts(DEMO_TENANT_ID) if c.get("ContactNumber") == "E0001"]
    assert len(contacts) == 1


def test_ensure_contact_without_number_finds_by_name(sandbox, store, client):
    first = client.ensure_contact("HSBC MPF Trustee")
    assert make_client(sandbox, store).ensure_contact("HSBC MPF Trustee") == first
    assert sum(c["Name"] == "HSBC MPF Trustee" for c in sandbox.contacts(DEMO_TENANT_ID)) == 1


def test_contact_made_by_hand_is_adopted_and_a_namesake_gets_its_own_contact(sandbox, store, client):
    by_hand = client.ensure_contact("Jane Doe")
    assert make_client(sandbox, store).ensure_contact("Jane Doe", "E0042") == by_hand
    namesake = make_client(sandbox, store).ensure_contact("Jane Doe", "E0043")
    assert namesake != by_hand
    numbers = {c.get("ContactNumber"): c["Name"] for c in sandbox.contacts(DEMO_TENANT_ID)}
    assert numbers["E0042"] == "Jane Doe" and numbers["E0043"] == "Jane Doe (E0043)"


def test_contacts_of_many_employees_are_found_and_created_in_batches(sandbox, client):
    bills = [
        make_bill(f"EMP/{i:02d}", contact=f"Employee {i}", contact_number=f"E{i:04d}") for i in range(30)
    ]
    assert all(r.ok for r in client.create_bills(bills))
    assert len(calls_to(sandbox, "PUT", "/Contacts")) == 1
    assert len(calls_to(sandbox, "GET", "/Contacts")) == 4  # 2 by number, 2 by name (25 per call)
    assert len([c for c in sandbox.contacts(DEMO_TENANT_ID) if c.get("ContactNumber")]) == 30


def test_find_contact_finds_by_number_or_name_and_never_creates(sandbox, store, client):
    made = client.ensure_contact("Chan Tai Man", "E0001")
    trustee = client.ensure_contact("HSBC MPF Trustee")
    other = make_client(sandbox, store)
    assert other.find_contact("Chan Tai Man (renamed)", "E0001") == made
    assert other.find_contact("HSBC MPF Trustee") == trustee
    before = len(sandbox.contacts(DEMO_TENANT_ID))
    assert other.find_contact("Nobody Ltd") is None
    assert other.find_contact("Nobody", "E9999") is None
    assert len(sandbox.contacts(DEMO_TENANT_ID)) == before


def test_remembered_contact_spares_the_lookup_and_results_carry_the_contact_id(sandbox, store, client):
    contact_id = client.ensure_contact("Chan Tai Man", "E0001")
    other = make_client(sandbox, store)
    other.remember_contact("Chan Tai Man", "E0001", contact_id)
    before = len(calls_to(sandbox, "GET", "/Contacts"))
    [result] = other.create_bills([make_bill("EMP/01", contact="Chan Tai Man", contact_number="E0001")])
    assert result.ok and result.contact_id == contact_id
    assert len(calls_to(sandbox, "GET", "/Contacts")) == before  # no contact lookup
    [again] = make_client(sandbox, store).create_bills(
        [make_bill("EMP/01", contact="Chan Tai Man", contact_number="E0001")]
    )
    assert again.already_existed and again.contact_id == contact_id


# --------------------------------------------------------------------------- create


def test_create_bills_creates_a_draft_bill_with_its_lines(sandbox, client):
    bill = make_bill(lines=(("478", "MPF employer", "1500.00"), ("825", "MPF employee", "1500.00")))
    [result] = client.create_bills([bill])
    assert result.ok and result.created and not result.already_existed
    assert result.xero_id and result.status == "DRAFT"
    assert result.total == Decimal("3000.00")
    [invoice] = sandbox.invoices(DEMO_TENANT_ID)
    assert invoice["InvoiceNumber"] == bill.invoice_number
    assert invoice["Type"] == "ACCPAY"
    assert invoice["LineAmountTypes"] == "NoTax"
    assert [line["AccountCode"] for line in invoice["LineItems"]] == ["478", "825"]


def test_found_bill_is_the_one_created_by_this_app(client):
    bill = make_bill()
    [result] = client.create_bills([bill])
    contact_id = client.ensure_contact(bill.contact_name)
    found = client.find_bill(bill.invoice_number, contact_id)
    assert found is not None and found.xero_id == result.xero_id
    assert client.find_bill("NOT-THERE", contact_id) is None


def test_credit_note_goes_to_the_credit_notes_endpoint_and_can_be_found_again(sandbox, client):
    bill = make_bill("PAY-2026-10/ADJ", doc_type=ACCPAYCREDIT)
    [result] = client.create_bills([bill])
    assert result.ok and result.is_credit_note
    assert sandbox.invoices(DEMO_TENANT_ID) == []
    [note] = sandbox.credit_notes(DEMO_TENANT_ID)
    assert note["CreditNoteNumber"] == bill.invoice_number
    found = client.find_bill(bill.invoice_number, client.ensure_contact(bill.contact_name), credit_note=True)
    assert found is not None and found.xero_id == result.xero_id


def test_pushing_the_same_bills_twice_creates_nothing_the_second_time(sandbox, client):
    bills = [make_bill("R/1"), make_bill("R/2"), make_bill("R/3", doc_type=ACCPAYCREDIT)]
    first = client.create_bills(bills)
    second = client.create_bills(bills)
    assert all(r.ok and r.created for r in first)
    assert all(r.ok and r.already_existed and not r.created for r in second)
    assert [r.xero_id for r in first] == [r.xero_id for r in second]
    assert len(sandbox.invoices(DEMO_TENANT_ID)) == 2
    assert len(sandbox.credit_notes(DEMO_TENANT_ID)) == 1


def test_same_bills_give_the_same_idempotency_key_and_a_changed_bill_another():
    parts = [f"{b.invoice_number}:{b.content_hash()}" for b in (make_bill("A"), make_bill("B"))]
    key = idempotency_key("bills", DEMO_TENANT_ID, parts)
    assert key == idempotency_key("bills", DEMO_TENANT_ID, list(reversed(parts)))
    assert len(key) <= 128
    changed = make_bill("B", lines=(("478", "MPF", "1.00"),))
    assert key != idempotency_key("bills", DEMO_TENANT_ID, [parts[0], f"B:{changed.content_hash()}"])


def test_immediate_resend_without_lookup_is_replayed_by_xero_not_duplicated(sandbox, client):
    bill = make_bill()
    [first] = client.create_bills([bill], check_existing=False)
    [second] = client.create_bills([bill], check_existing=False)
    assert first.xero_id == second.xero_id
    assert len(sandbox.invoices(DEMO_TENANT_ID)) == 1


def test_batch_of_120_bills_takes_three_invoice_calls(sandbox, client):
    bills = [make_bill(f"BATCH/{i:03d}") for i in range(120)]
    results = client.create_bills(bills)
    assert all(r.ok for r in results) and len(results) == 120
    assert len(calls_to(sandbox, "PUT", "/Invoices")) == 3
    assert len(sandbox.invoices(DEMO_TENANT_ID)) == 120


def test_validation_errors_are_reported_on_the_right_bill_and_line(sandbox, client):
    sandbox.archive_account(DEMO_TENANT_ID, "477")
    good = make_bill("V/GOOD")
    bad_code = make_bill("V/CODE", lines=(("478", "MPF employer", "10.00"), ("999", "Mystery", "5.00")))
    archived = make_bill("V/ARCH", lines=(("477", "Wages", "10.00"),))
    results = {r.invoice_number: r for r in client.create_bills([good, bad_code, archived])}
    assert results["V/GOOD"].ok
    assert not results["V/CODE"].ok
    [message] = results["V/CODE"].errors
    assert message.startswith("V/CODE, line 2 (Mystery, account 999):")
    assert "999" in message
    assert not results["V/ARCH"].ok
    assert "line 1" in results["V/ARCH"].errors[0] and "archived" in results["V/ARCH"].errors[0]
    assert [i["InvoiceNumber"] for i in sandbox.invoices(DEMO_TENANT_ID)] == ["V/GOOD"]


def test_currency_not_enabled_in_the_organisation_is_a_readable_error(client):
    [result] = client.create_bills([make_bill("V/EUR", currency="EUR")])
    assert not result.ok
    assert "EUR" in result.errors[0]


def test_unknown_currency_code_is_refused_before_sending(sandbox, client):
    [result] = client.create_bills([make_bill("V/XYZ", currency="XYZ")])
    assert not result.ok and "XYZ" in result.errors[0]
    assert calls_to(sandbox, "PUT", "/Invoices") == []


def test_bill_dated_before_the_lock_date_is_refused_with_xeros_message(sandbox, client):
    sandbox.set_lock_date(DEMO_TENANT_ID, datetime(2026, 12, 31).date())
    [result] = client.create_bills([make_bill("V/LOCK")])
    assert not result.ok and "lock date" in result.errors[0]


# --------------------------------------------------------------------------- found bills: content


def _wages(number="D/1", **kw):
    kw.setdefault(
        "lines",
        (
            ("477", "Basic salary", "12345.5"),
            ("479", "Housing allowance", "2000"),
            ("480", "Overtime", "0.10"),
        ),
    )
    kw.setdefault("tracking", (("Department", "Sales"),))
    return make_bill(number, **kw)


def test_found_bill_with_the_same_content_has_no_differences(client):
    bills = [_wages(), make_bill("D/CN", doc_type=ACCPAYCREDIT, lines=(("826", "Loan repaid", "99.999"),))]
    assert all(r.ok for r in client.create_bills(bills))
    again = client.create_bills(bills)
    assert all(r.already_existed for r in again)
    assert [r.differences for r in again] == [(), ()]
    contact_id = client.ensure_contact("HSBC MPF Trustee")
    found = client.find_bill("D/1", contact_id)
    assert found.contact_id == contact_id and found.contact_name == "HSBC MPF Trustee"
    assert (found.date, found.due_date, found.currency) == (bills[0].date, bills[0].due_date, "HKD")
    assert [(ln.account_code, ln.amount, ln.tracking) for ln in found.lines] == [
        ("477", Decimal("12345.50"), (("Department", "Sales"),)),
        ("479", Decimal("2000.00"), (("Department", "Sales"),)),
        ("480", Decimal("0.10"), (("Department", "Sales"),)),
    ]
    assert bill_differences(bills[0], found) == ()  # by contact name
    assert bill_differences(bills[0], found, contact_id) == ()


def test_found_bill_with_the_same_total_but_other_lines_reports_each_difference(client):
    [first] = client.create_bills([_wages()])
    changed = _wages(
        lines=(
            ("482", "Basic salary", "12345.50"),
            ("479", "Housing", "1000.00"),
            ("480", "Overtime", "1000.10"),
        ),
        tracking=(("Department", "Finance"),),
    )
    assert changed.total == Decimal("14345.60") and first.total == Decimal("14345.60")
    [again] = client.create_bills([changed])
    assert again.already_existed and again.xero_id == first.xero_id and again.total == first.total
    assert again.differences == (
        'line 1 (Basic salary), account: "477" in Xero, "482" in the bill sent.',
        "line 1 (Basic salary), tracking: Department: Sales in Xero, Department: Finance in the bill sent.",
        "line 2 (Housing), amount: 2,000.00 in Xero, 1,000.00 in the bill sent.",
        'line 2, description: "Housing allowance" in Xero, "Housing" in the bill sent.',
        "line 2 (Housing), tracking: Department: Sales in Xero, Department: Finance in the bill sent.",
        "line 3 (Overtime), amount: 0.10 in Xero, 1,000.10 in the bill sent.",
        "line 3 (Overtime), tracking: Department: Sales in Xero, Department: Finance in the bill sent.",
    )


def test_found_bill_with_other_dates_contact_currency_or_lines_says_so(client):
    bill = _wages()
    client.create_bills([bill])
    contact_id = client.ensure_contact(bill.contact_name)
    found = client.find_bill(bill.invoice_number, contact_id)
    other = replace(
        bill,
        date=date(2026, 11, 30),
        due_date=date(2026, 12, 10),
        currency="USD",
        lines=bill.lines[:2],
    )
    assert bill_differences(other, found, contact_id) == (
        "date: 2026-10-31 in Xero, 2026-11-30 in the bill sent.",
        "due date: 2026-11-10 in Xero, 2026-12-10 in the bill sent.",
        'currency: "HKD" in Xero, "USD" in the bill sent.',
        "lines: 3 in Xero, 2 in the bill sent.",
        "total: 14,345.60 in Xero, 14,345.50 in the bill sent.",
    )
    [message] = bill_differences(bill, found, "another-contact-id")
    assert message.startswith("contact: another contact in Xero (HSBC MPF Trustee)")
    assert bill_differences(replace(bill, contact_name="Other Trustee"), found) == (
        'contact: "HSBC MPF Trustee" in Xero, "Other Trustee" in the bill sent.',
    )


def test_a_namesake_contact_named_with_its_number_is_the_same_contact(client):
    bill = _wages(contact="Jane Doe", contact_number="E0043")
    found = XeroBill(
        xero_id="x",
        number=bill.invoice_number,
        status="DRAFT",
        total=bill.total,
        contact_id="c",
        contact_name="Jane Doe (E0043)",
        date=bill.date,
        due_date=bill.due_date,
        currency="HKD",
        lines=tuple(
            XeroBillLine(ln.account_code, ln.description, ln.amount, ln.tracking) for ln in bill.lines
        ),
    )
    assert bill_differences(bill, found) == ()


# --------------------------------------------------------------------------- change


def test_update_draft_bill_replaces_its_lines(sandbox, client):
    [created] = client.create_bills([make_bill("U/1")])
    changed = make_bill("U/1", lines=(("478", "MPF employer", "2000.00"),))
    result = client.update_draft_bill(created.xero_id, changed)
    assert result.ok and result.total == Decimal("2000.00") and result.xero_id == created.xero_id
    [invoice] = sandbox.invoices(DEMO_TENANT_ID)
    assert Decimal(str(invoice["Total"])) == Decimal("2000.00")


def test_cancel_deletes_a_draft_and_voids_an_authorised_bill(client):
    draft, authorised = client.create_bills([make_bill("C/DRAFT"), make_bill("C/AUTH", status="AUTHORISED")])
    assert client.cancel_bill(draft.xero_id).status == "DELETED"
    assert client.cancel_bill(authorised.xero_id).status == "VOIDED"
    # Cancelling again changes nothing and does not fail.
    assert client.cancel_bill(draft.xero_id).status == "DELETED"


def test_deleted_bill_is_not_found_so_a_new_push_recreates_it(sandbox, client):
    [first] = client.create_bills([make_bill("C/AGAIN")])
    client.delete_bill(first.xero_id)
    [second] = client.create_bills([make_bill("C/AGAIN")])
    assert second.created and second.xero_id != first.xero_id


def test_void_of_a_paid_bill_explains_that_a_credit_note_is_needed(sandbox, client):
    [bill] = client.create_bills([make_bill("C/PAID", status="AUTHORISED")])
    sandbox.pay_invoice(DEMO_TENANT_ID, bill.xero_id, Decimal("100.00"))
    with pytest.raises(ValidationFailed, match="credit note"):
        client.void_bill(bill.xero_id)
    with pytest.raises(ValidationFailed, match="credit note") as info:
        client.cancel_bill(bill.xero_id)
    assert not info.value.retryable and info.value.retry_after is None  # a person acts first


# --------------------------------------------------------------------------- rate limits


def test_short_retry_after_is_waited_through_by_the_client_not_by_urllib3(sandbox, client):
    sandbox.faults.rate_limit_next(1, retry_after=30, problem="minute")
    started = time.monotonic()
    assert client.accounts()
    assert time.monotonic() - started < 10  # urllib3 did not sleep the 30 s itself
    assert client.sleep.calls == [30]
    assert [c[2] for c in calls_to(sandbox, "GET", "/Accounts")] == [429, 200]


def test_long_retry_after_raises_rate_limited_with_the_time_to_retry(sandbox, client):
    sandbox.faults.rate_limit_next(1, retry_after=3600, problem="day")
    before = datetime.now(timezone.utc)
    with pytest.raises(RateLimited) as info:
        client.organisation()
    assert info.value.problem == "day"
    assert before + timedelta(seconds=3590) <= info.value.retry_at <= before + timedelta(seconds=3700)
    assert info.value.retryable and 3500 <= info.value.retry_after <= 3600  # the wait, as data
    assert client.sleep.calls == []
    assert len(calls_to(sandbox, "GET", "/Organisation")) == 1


def test_rate_limited_create_is_retried_after_the_wait_and_creates_one_bill(sandbox, client):
    client.ensure_contact("HSBC MPF Trustee")
    sandbox.faults.rate_limit_next(1, retry_after=2, problem="minute")
    [result] = client.create_bills([make_bill()], check_existing=False)
    assert result.ok and client.sleep.calls == [2]
    assert len(sandbox.invoices(DEMO_TENANT_ID)) == 1


def test_limiter_never_starts_more_than_60_calls_in_any_rolling_minute():
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limiter = TenantLimiter(clock=lambda: now[0], sleep=sleep)
    starts = []
    for _ in range(200):
        with limiter.slot():
            starts.append(now[0])
        now[0] += 0.1
    for i, start in enumerate(starts):
        assert sum(1 for s in starts[i:] if s < start + 60) <= 60
    assert waits and starts[-1] >= 180


def test_limiter_keeps_slow_calls_within_60_a_minute_as_xero_counts_them_on_arrival():
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = TenantLimiter(clock=lambda: now[0], sleep=sleep)
    arrivals = []
    for n in range(200):
        with limiter.slot():
            latency = 0.05 + (n % 7) * 0.3  # the request reaches Xero half way through the call
            now[0] += latency / 2
            arrivals.append(now[0])
            now[0] += latency / 2
    for i, arrival in enumerate(arrivals):
        assert sum(1 for a in arrivals[i:] if a < arrival + 60) <= 60


def test_limiter_never_lets_more_than_5_calls_run_at_once():
    limiter = TenantLimiter()
    active = [0]
    peak = [0]
    lock = threading.Lock()

    def work():
        with limiter.slot():
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            time.sleep(0.02)
            with lock:
                active[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 5


def test_client_waits_for_its_limiter_before_calling(sandbox, store):
    now = [1000.0]
    sleeps = Sleeps()

    def sleep(seconds: float) -> None:
        sleeps(seconds)
        now[0] += seconds

    limiter = TenantLimiter(per_minute=3, clock=lambda: now[0], sleep=sleep)
    client = make_client(sandbox, store, limiter=limiter, sleep=sleep)
    for _ in range(4):
        client.organisation()  # two calls each
    assert len(sleeps.calls) >= 2 and all(s <= 60 for s in sleeps.calls)
    assert len(calls_to(sandbox, "GET", "/Organisation")) == 4


# --------------------------------------------------------------------------- 5xx, timeouts, dropped answers


def test_5xx_on_a_read_is_retried_with_backoff(sandbox, client):
    sandbox.faults.fail_next(2, status=503)
    assert client.tracking_categories()
    assert len(client.sleep.calls) == 2 and client.sleep.calls[0] < client.sleep.calls[1]


def test_persistent_5xx_raises_xero_unavailable_after_bounded_attempts(sandbox, client):
    sandbox.faults.fail_next(10, status=500)
    with pytest.raises(XeroUnavailable) as info:
        client.organisation()
    assert info.value.retryable and info.value.retry_after is None  # back off
    assert len(calls_to(sandbox, "GET", "/Organisation")) == 3


def test_5xx_on_create_looks_the_bill_up_then_creates_exactly_one(sandbox, client):
    client.ensure_contact("HSBC MPF Trustee")
    sandbox.faults.fail_next(1, status=503, method="PUT")
    [result] = client.create_bills([make_bill()], check_existing=False)
    assert result.ok and result.created
    assert len(sandbox.invoices(DEMO_TENANT_ID)) == 1
    puts = calls_to(sandbox, "PUT", "/Invoices")
    assert [c[2] for c in puts] == [503, 200]
    assert calls_to(sandbox, "GET", "/Invoices")  # looked up before resending


def test_timeout_then_lookup_creates_no_duplicate(sandbox, store):
    client = make_client(sandbox, store, timeout=(2, 0.5))
    client.ensure_contact("HSBC MPF Trustee")
    sandbox.faults.timeout_next(1, delay=1.5, method="PUT")
    [result] = client.create_bills([make_bill()], check_existing=False)
    assert result.ok
    assert len(sandbox.invoices(DEMO_TENANT_ID)) == 1
    # The first PUT timed out on our side; let the sandbox finish answering it so the
    # next test starts clean, then check it never created anything.
    deadline = time.monotonic() + 5
    while len(calls_to(sandbox, "PUT", "/Invoices")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(calls_to(sandbox, "PUT", "/Invoices")) == 2
    assert len(sandbox.invoices(DEMO_TENANT_ID)) == 1


def test_answer_dropped_after_commit_leaves_exactly_one_bill_reported_created(sandbox, client):
    client.ensure_contact("HSBC MPF Trustee")
    sandbox.faults.drop_after_commit_next(1, method="PUT")
    [result] = client.create_bills([make_bill()], check_existing=False)
    assert result.ok and result.created and result.xero_id
    [invoice] = sandbox.invoices(DEMO_TENANT_ID)
    assert invoice["InvoiceID"] == result.xero_id
    assert len(calls_to(sandbox, "PUT", "/Invoices")) == 1  # found by the lookup, not sent again


def test_retry_much_later_finds_the_bill_instead_of_creating_a_second(sandbox, client):
    client.ensure_contact("HSBC MPF Trustee")
    sandbox.faults.drop_after_commit_next(1, method="PUT")
    client.create_bills([make_bill()], check_existing=False)
    # A later run (Xero has forgotten the Idempotency-Key) looks up first.
    [later] = client.create_bills([make_bill()])
    assert later.already_existed
    assert len(sandbox.invoices(DEMO_TENANT_ID)) == 1


# --------------------------------------------------------------------------- tokens


def test_expired_access_token_is_refreshed_once_and_the_rotated_token_saved(sandbox, store, client):
    sandbox.expire_access_tokens()
    assert client.organisation().base_currency == "HKD"
    assert len(store.saved) == 1 and store.token is store.saved[0]


def test_token_near_expiry_is_refreshed_and_saved_before_the_call(sandbox, store):
    token = store.token
    store.token = type(token)(
        token.access_token, token.refresh_token, datetime.now(timezone.utc), token.scopes
    )
    calls_at_save: list[int] = []
    original = store.save

    def save(new):
        calls_at_save.append(len(calls_to(sandbox, "GET", "/api.xro")))
        original(new)

    client = make_client(
        sandbox,
        store,
    )
    client._save_token = save
    client.organisation()
    assert calls_at_save == [0]


def test_revoked_connection_raises_reconnect_needed(sandbox, store, client):
    sandbox.expire_refresh_tokens()
    sandbox.expire_access_tokens()
    with pytest.raises(ReconnectNeeded) as info:
        client.organisation()
    assert not info.value.retryable


def test_organisation_not_in_the_consent_is_refused(sandbox):
    store = TokenStore(consent(sandbox, tenant_ids=[DEMO_TENANT_ID]))
    client = make_client(sandbox, store, tenant_id=SECOND_TENANT_ID)
    with pytest.raises(ReconnectNeeded):
        client.organisation()


def test_logs_and_errors_never_hold_tokens(sandbox, store, client, caplog):
    caplog.set_level(logging.DEBUG)
    sandbox.expire_access_tokens()
    sandbox.faults.fail_next(1, status=503)
    client.organisation()
    sandbox.faults.rate_limit_next(1, retry_after=3600, problem="day")
    with pytest.raises(RateLimited) as info:
        client.accounts()
    secrets = [t.access_token for t in [*store.saved, store.token]] + [t.refresh_token for t in store.saved]
    text = caplog.text + str(info.value)
    assert all(s not in text for s in secrets)
    assert "Bearer" not in text


def _refresher(sandbox, store):
    """A ``refresh`` callback standing in for the addon's locked refresh: it rotates and stores
    the token itself and records what it was handed."""
    real_refresh = oauth.refresh
    handed: list[Token] = []

    def refresh(stale: Token) -> Token:
        handed.append(stale)
        return real_refresh(
            DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, stale, store.save, endpoints=endpoints(sandbox)
        )

    return refresh, handed


def _client_must_not_refresh_itself(monkeypatch):
    def refused(*args, **kwargs):
        raise AssertionError("the client refreshed the token itself")

    monkeypatch.setattr(oauth, "refresh", refused)


def test_401_goes_through_the_refresh_callback_exactly_once(sandbox, store, monkeypatch):
    refresh, handed = _refresher(sandbox, store)
    client_saves: list[Token] = []
    client = make_client(sandbox, store, refresh=refresh)
    client._save_token = client_saves.append
    stale = store.token
    _client_must_not_refresh_itself(monkeypatch)
    sandbox.expire_access_tokens()  # Xero answers 401 although the token looks fresh here
    assert client.organisation().base_currency == "HKD"
    assert handed == [stale]
    assert client_saves == []  # the callback stored the rotated token, not the client
    assert len(store.saved) == 1 and store.token.access_token != stale.access_token
    assert [c[2] for c in calls_to(sandbox, "GET", "/Organisation")] == [401, 200]


def test_token_near_expiry_goes_through_the_refresh_callback_before_the_call(sandbox, store, monkeypatch):
    token = store.token
    store.token = Token(token.access_token, token.refresh_token, datetime.now(timezone.utc), token.scopes)
    refresh, handed = _refresher(sandbox, store)
    client = make_client(sandbox, store, refresh=refresh)
    _client_must_not_refresh_itself(monkeypatch)
    client.accounts()
    assert len(handed) == 1 and handed[0].access_token == token.access_token
    assert len(store.saved) == 1  # stored by the callback, before the call
    assert [c[2] for c in calls_to(sandbox, "GET", "/Accounts")] == [200]


def test_refresh_callback_whose_token_is_refused_again_asks_to_reconnect(sandbox, store):
    handed: list[Token] = []

    def refresh(stale: Token) -> Token:
        handed.append(stale)
        return stale  # e.g. another worker's token that Xero refuses as well

    client = make_client(sandbox, store, refresh=refresh)
    sandbox.expire_access_tokens()
    with pytest.raises(ReconnectNeeded):
        client.organisation()
    assert len(handed) == 1 and store.saved == []


def test_without_a_refresh_callback_a_401_still_refreshes_through_oauth(sandbox, store, client):
    sandbox.expire_access_tokens()
    client.accounts()
    assert len(store.saved) == 1


# --------------------------------------------------------------------------- request bodies


def test_bodies_sent_never_hold_read_only_has_attachments_or_has_errors(sandbox, client):
    bill = make_bill("RO/1", contact="Chan Tai Man", contact_number="E0001")
    note = make_bill("RO/2", doc_type=ACCPAYCREDIT)
    created = client.create_bills([bill, note])
    assert all(r.ok for r in created)
    client.update_draft_bill(
        created[0].xero_id, make_bill("RO/1", contact="Chan Tai Man", contact_number="E0001")
    )
    client.cancel_bill(created[0].xero_id)
    client.cancel_bill(created[1].xero_id, credit_note=True)
    client.ensure_contact("Jane Doe")
    make_client(sandbox, TokenStore(client._get_token())).ensure_contact("Jane Doe", "E0042")  # numbered
    writes = [(m, p, b) for m, p, b in sandbox.received if m in ("PUT", "POST") and "/api.xro/" in p]
    assert {p.split("/")[3].split("?")[0] for _m, p, _b in writes} == {"Contacts", "Invoices", "CreditNotes"}
    assert len(writes) >= 7
    for _method, _path, body in writes:
        assert json.loads(body)  # JSON, and not one read-only flag anywhere in it
        assert b"HasAttachments" not in body and b"HasErrors" not in body
        assert b"HasValidationErrors" not in body


def test_client_does_not_follow_a_redirect(sandbox, client):
    sandbox.faults.redirect_next(1, location="/connections", path="/Currencies")
    with pytest.raises(XeroError, match="HTTP 302"):
        client.organisation()
    assert calls_to(sandbox, "GET", "/connections") == []


def test_refresh_answered_429_by_the_token_endpoint_waits_as_long_as_the_client_may(sandbox, store):
    sandbox.expire_access_tokens()
    sandbox.faults.rate_limit_next(1, retry_after=5, path="/connect/token")
    client = make_client(sandbox, store)
    assert client.organisation().base_currency == "HKD"
    assert client.sleep.calls == [5]
    sandbox.expire_access_tokens()
    sandbox.faults.rate_limit_next(1, retry_after=5, path="/connect/token")
    impatient = make_client(sandbox, store, max_wait=1)
    with pytest.raises(RateLimited, match="token endpoint"):
        impatient.organisation()
    assert impatient.sleep.calls == []
