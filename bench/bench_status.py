"""Benchmark: reading sent bills' statuses back from the local Xero sandbox with
``XeroClient.changed_bills`` (the bulk path of issue 12: If-Modified-Since, 100 a page).

It pushes ``--bills`` per-employee bills (fast limits, in process), then reads them back three times
and prints, for each run, the Xero calls the sandbox received, the wall time and the peak memory
(tracemalloc) of the read:

* first run: from the earliest send minus 5 minutes (every bill is read once);
* nothing changed: the next night, from the watermark the first run left;
* 150 changed (15 with ``--quick``): that many bills edited in Xero since, read from the same watermark.

The bills are sent "yesterday": once created, their ``UpdatedDateUTC`` is moved back a day in the sandbox.
Without that, every bill would have changed within the client's clock margin (a watermark never passes the
run's start minus 5 minutes, for clock skew with Xero) and each run would read them all again.

Run from the repository root::

    .venv/bin/python bench/bench_status.py            # 2,000 bills
    .venv/bin/python bench/bench_status.py --quick    # 200 bills
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic

from payroll_xero.bills import build_bills
from payroll_xero.client import TenantLimiter, XeroClient
from payroll_xero.oauth import XeroEndpoints
from payroll_xero.sandbox import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID, Sandbox
from payroll_xero.sandbox.consent import sandbox_token
from payroll_xero.sandbox.xero import CREDIT_NOTE, INVOICE

FAST_LIMIT = 1_000_000


def _client(sandbox: Sandbox) -> XeroClient:
    endpoints = XeroEndpoints.single(sandbox.url)
    store = {"token": sandbox_token(sandbox, [DEMO_TENANT_ID])}
    return XeroClient(
        client_id=DEMO_CLIENT_ID,
        client_secret=DEMO_CLIENT_SECRET,
        tenant_id=DEMO_TENANT_ID,
        get_token=lambda: store["token"],
        save_token=lambda token: store.__setitem__("token", token),
        endpoints=endpoints,
        timeout=(5, 120),
        limiter=TenantLimiter(per_minute=FAST_LIMIT),
    )


def _read(label: str, sandbox: Sandbox, client: XeroClient, since: datetime) -> datetime:
    """One bulk read; prints its figures and returns the watermark it leaves."""
    before = len(sandbox.calls)
    tracemalloc.start()
    started = time.perf_counter()
    bills = 0
    watermark = since
    for page in client.changed_bills(since):
        bills += len(page.bills)
        if page.watermark is not None:
            watermark = max(watermark, page.watermark)
    seconds = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    calls = len(sandbox.calls) - before
    print(f"  {label:<16} {calls:>6} {bills:>7,} {seconds:>9.2f} {peak / 1e6:>9.1f}")
    return watermark


def _sent_yesterday(sandbox: Sandbox) -> None:
    """Move every document's last change back a day, as if the bills had been sent yesterday."""
    ledger = sandbox.app.ledger(DEMO_TENANT_ID)
    with sandbox.app.store.transaction():
        for kind in (INVOICE, CREDIT_NOTE):
            for doc in ledger.documents(kind):
                stamp = datetime.fromisoformat(doc["UpdatedDateUTC"]) - timedelta(days=1)
                ledger.save_document(
                    kind, {**doc, "UpdatedDateUTC": stamp.isoformat(timespec="milliseconds")}
                )


def run(args: argparse.Namespace) -> int:
    n = 200 if args.quick else args.bills
    changed = 15 if args.quick else 150
    bills = build_bills(synthetic.pay_run(n), synthetic.mapping("employee")).bills
    sandbox = Sandbox(host="127.0.0.1", port=0, minute_limit=FAST_LIMIT, day_limit=FAST_LIMIT).start()
    try:
        client = _client(sandbox)
        sent_at = datetime.now(UTC) - timedelta(days=1)
        results = client.create_bills(bills)
        _sent_yesterday(sandbox)
        print(f"{sum(r.ok for r in results):,} bills sent; reading them back with changed_bills")
        print(f"  {'run':<16} {'calls':>6} {'bills':>7} {'seconds':>9} {'peak MB':>9}")
        watermark = _read("first run", sandbox, client, sent_at - timedelta(minutes=5))
        watermark = _read("nothing changed", sandbox, client, watermark)
        for doc in sandbox.invoices(DEMO_TENANT_ID)[:changed]:
            sandbox.edit_invoice(DEMO_TENANT_ID, doc["InvoiceID"], line=0, description="edited in Xero")
        _read(f"{changed} changed", sandbox, client, watermark)
    finally:
        sandbox.stop()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bills", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="200 bills (make bench)")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
