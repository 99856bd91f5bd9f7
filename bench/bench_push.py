"""Benchmark: pushing per-employee bills to the local Xero sandbox with the sidecar's XeroClient.

It builds ``--bills`` per-employee bills (``build_bills`` on a synthetic pay run, 26 lines each),
connects to a fresh sandbox through the OAuth code flow, calls ``XeroClient.create_bills`` once and
reports:

* the Xero calls by kind, as the sandbox counted them (bill creations, bill lookups, contact lookups,
  contact creations, token), and how many were answered 429;
* total wall time, and the time the client spent waiting on its own rate limiter (Xero allows 60
  calls per minute per organisation: at that pace the number of calls, not the processing, sets the
  time);
* per client operation: calls, time, limiter wait and average time per call without the wait.

By default the sandbox and the client use Xero's real limits (60 calls/min, 5 in flight, 5,000 per
day). ``--fast-limits`` raises the per-minute and per-day limits of both, to measure the pure
processing cost. The sandbox runs in a child process (its own CPU and GIL) unless ``--in-process``.

Run from the repository root::

    .venv/bin/python bench/bench_push.py                     # 2,000 bills at 60 calls/min (long)
    .venv/bin/python bench/bench_push.py --quick             # 200 bills at 60 calls/min
    .venv/bin/python bench/bench_push.py --fast-limits       # 2,000 bills, limits out of the way
"""

from __future__ import annotations

import argparse
import logging
import math
import multiprocessing
import os
import platform
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic

from payroll_xero.bills import build_bills
from payroll_xero.client import BATCH_SIZE, TenantLimiter, XeroClient
from payroll_xero.oauth import Token, XeroEndpoints
from payroll_xero.sandbox import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID, Sandbox
from payroll_xero.sandbox.consent import sandbox_token

XERO_MINUTE_LIMIT = 60
XERO_DAY_LIMIT = 5000
XERO_STARTER_DAY_LIMIT = 1000
FAST_LIMIT = 1_000_000
FULL_BILLS = 2000
QUICK_BILLS = 200


# --------------------------------------------------------------------------- the sandbox, here or in a child


def _serve(conn: Any, minute_limit: int, day_limit: int) -> None:
    """Child process: run a sandbox and answer the parent's requests over ``conn``."""
    sandbox = Sandbox(host="127.0.0.1", port=0, minute_limit=minute_limit, day_limit=day_limit).start()
    conn.send(sandbox.url)
    try:
        while True:
            msg = conn.recv()
            if msg[0] == "approve":
                try:
                    conn.send(("ok", sandbox.approve(msg[1], tenant_ids=msg[2])))
                except ValueError as exc:
                    conn.send(("error", str(exc)))
            elif msg[0] == "calls":
                conn.send(sandbox.calls)
            elif msg[0] == "counts":
                conn.send((len(sandbox.invoices(msg[1])), len(sandbox.contacts(msg[1]))))
            elif msg[0] == "stop":
                break
    finally:
        sandbox.stop()
        conn.send("stopped")


class ChildSandbox:
    """A sandbox in a child process, with the few :class:`Sandbox` methods the benchmark needs."""

    def __init__(self, minute_limit: int, day_limit: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, minute_limit, day_limit), daemon=True)
        self._proc.start()
        self.url = self._conn.recv()

    def approve(self, url: str, tenant_ids: list[str]) -> str:
        self._conn.send(("approve", url, tenant_ids))
        status, value = self._conn.recv()
        if status != "ok":
            raise ValueError(value)
        return value

    @property
    def calls(self) -> list[tuple[str, str, int]]:
        self._conn.send(("calls",))
        return self._conn.recv()

    def counts(self, tenant_id: str) -> tuple[int, int]:
        self._conn.send(("counts", tenant_id))
        return self._conn.recv()

    def stop(self) -> None:
        self._conn.send(("stop",))
        self._conn.recv()
        self._proc.join(timeout=10)


class LocalSandbox:
    def __init__(self, minute_limit: int, day_limit: int) -> None:
        self._sb = Sandbox(host="127.0.0.1", port=0, minute_limit=minute_limit, day_limit=day_limit).start()
        self.url = self._sb.url

    def approve(self, url: str, tenant_ids: list[str]) -> str:
        return self._sb.approve(url, tenant_ids=tenant_ids)

    @property
    def calls(self) -> list[tuple[str, str, int]]:
        return self._sb.calls

    def counts(self, tenant_id: str) -> tuple[int, int]:
        return len(self._sb.invoices(tenant_id)), len(self._sb.contacts(tenant_id))

    def stop(self) -> None:
        self._sb.stop()


# --------------------------------------------------------------------------- measuring the client


class Meter:
    """Times each client operation (``XeroClient._call``) and the limiter's waits inside it."""

    def __init__(self) -> None:
        self.current = "-"
        self.calls: Counter[str] = Counter()
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.limiter_wait: defaultdict[str, float] = defaultdict(float)
        self.other_sleeps: list[float] = []
        self.cpu = 0.0  # CPU time of this process during the push

    def limiter_sleep(self, seconds: float) -> None:
        started = time.perf_counter()
        time.sleep(seconds)
        self.limiter_wait[self.current] += time.perf_counter() - started

    def client_sleep(self, seconds: float) -> None:
        self.other_sleeps.append(seconds)
        time.sleep(seconds)

    def wrap(self, call: Callable[..., Any]) -> Callable[..., Any]:
        def timed(operation: str, *args: Any, **kwargs: Any) -> Any:
            self.current = operation
            started = time.perf_counter()
            try:
                return call(operation, *args, **kwargs)
            finally:
                self.calls[operation] += 1
                self.seconds[operation] += time.perf_counter() - started
                self.current = "-"

        return timed


def connect(sandbox: Any, endpoints: XeroEndpoints) -> Token:
    """The authorization-code flow, the sandbox pressing Allow for the demo organisation."""
    return sandbox_token(sandbox, [DEMO_TENANT_ID])


def call_kind(method: str, path: str) -> str:
    p = path.lower()
    if p.startswith("/connect/token"):
        return "token"
    if p.startswith("/connections"):
        return "connections"
    for resource in ("invoices", "creditnotes", "contacts"):
        if f"/api.xro/2.0/{resource}" in p:
            verb = "find" if method == "GET" else "create/update"
            return f"{verb} {resource} ({method})"
    return f"other ({method} {path})"


# --------------------------------------------------------------------------- the run


def run(args: argparse.Namespace) -> int:
    n = args.bills or (QUICK_BILLS if args.quick else FULL_BILLS)
    per_minute = FAST_LIMIT if args.fast_limits else XERO_MINUTE_LIMIT
    per_day = FAST_LIMIT if args.fast_limits else XERO_DAY_LIMIT

    started = time.perf_counter()
    result = build_bills(synthetic.pay_run(n), synthetic.mapping("employee"))
    bills = [b for b in result.bills if b.employee_key is not None]
    build_s = time.perf_counter() - started
    lines = sum(len(b.lines) for b in bills)
    print(
        f"push benchmark: python {platform.python_version()}, {os.cpu_count()} CPUs; "
        f"{len(bills):,} per-employee bills ({lines / len(bills):.0f} lines each, built in {build_s:.2f} s)"
    )
    print(
        f"limits: {per_minute:,} calls/min and {per_day:,}/day in the sandbox and the client's limiter"
        f"{' (--fast-limits)' if args.fast_limits else ' (Xero real limits)'}; "
        f"sandbox {'in this process' if args.in_process else 'in a child process'}"
    )
    sys.stdout.flush()

    sandbox = (LocalSandbox if args.in_process else ChildSandbox)(per_minute, per_day)
    code = 0
    try:
        endpoints = XeroEndpoints.single(sandbox.url)
        store = {"token": connect(sandbox, endpoints)}
        # One limiter for the organisation, shared by every client of it (as limiter_for does).
        limiter = TenantLimiter(per_minute=per_minute)
        for again in (False, True)[: 2 if args.again else 1]:
            meter = Meter()
            limiter.sleep = meter.limiter_sleep
            client = XeroClient(
                client_id=DEMO_CLIENT_ID,
                client_secret=DEMO_CLIENT_SECRET,
                tenant_id=DEMO_TENANT_ID,
                get_token=lambda: store["token"],
                save_token=lambda token: store.__setitem__("token", token),
                endpoints=endpoints,
                timeout=(5, 120),
                sleep=meter.client_sleep,
                limiter=limiter,
            )
            client._call = meter.wrap(client._call)  # type: ignore[method-assign]
            calls_before = len(sandbox.calls)

            started, cpu_started = time.perf_counter(), time.process_time()
            error = None
            try:
                results = client.create_bills(bills)
            except Exception as exc:  # report what was done before the failure
                error = exc
                results = list(getattr(exc, "partial_results", ()))
            wall = time.perf_counter() - started
            meter.cpu = time.process_time() - cpu_started

            calls = sandbox.calls[calls_before:]
            held = sandbox.counts(DEMO_TENANT_ID)
            print(f"\n=== {'second push of the same bills (fresh client)' if again else 'first push'} ===")
            code = max(code, report(bills, results, error, calls, meter, wall, held, again))
    finally:
        sandbox.stop()
    return code


def report(bills, results, error, calls, meter, wall, held, again: bool) -> int:
    n = len(bills)
    created = sum(1 for r in results if r.ok and r.created)
    existed = sum(1 for r in results if r.ok and r.already_existed)
    refused = [r for r in results if not r.ok]
    kinds: Counter[str] = Counter()
    too_many: Counter[str] = Counter()
    for method, path, status in calls:
        kind = call_kind(method, path)
        kinds[kind] += 1
        if status == 429:
            too_many[kind] += 1
    total_calls = sum(kinds.values())
    waited = sum(meter.limiter_wait.values())

    if error is not None:
        print(f"THE PUSH STOPPED: {type(error).__name__}: {error}")
    print(
        f"results: {created:,} created, {existed:,} already in Xero, {len(refused):,} refused, of {n:,} "
        f"bills; the sandbox holds {held[0]:,} bills and {held[1]:,} contacts"
    )
    for r in refused[:3]:
        print(f"  refused: {r.invoice_number}: {' | '.join(r.errors)[:200]}")

    print("\nXero calls received by the sandbox:")
    print(f"  {'kind':<36} {'calls':>7} {'429s':>5}")
    for kind, count in sorted(kinds.items(), key=lambda kv: -kv[1]):
        print(f"  {kind:<36} {count:>7,} {too_many[kind]:>5}")
    print(f"  {'total':<36} {total_calls:>7,} {sum(too_many.values()):>5}")

    print("\nclient operations (XeroClient._call, in this process):")
    print(f"  {'operation':<22} {'calls':>7} {'time s':>9} {'limiter wait s':>15} {'ms/call w/o wait':>17}")
    for op, count in meter.calls.most_common():
        busy = meter.seconds[op] - meter.limiter_wait[op]
        print(
            f"  {op:<22} {count:>7,} {meter.seconds[op]:>9.2f} {meter.limiter_wait[op]:>15.2f} "
            f"{busy / count * 1000:>17.1f}"
        )
    if meter.other_sleeps:
        print(
            f"  client sleeps (Retry-After, backoff): {len(meter.other_sleeps)}, {sum(meter.other_sleeps):.1f} s"
        )

    create_calls = sum(v for k, v in kinds.items() if k.startswith("create/update invoices"))
    contact_calls = sum(v for k, v in kinds.items() if "contacts" in k)
    lookup_calls = sum(v for k, v in kinds.items() if k.startswith("find invoices"))
    target_create = 0 if again else math.ceil(n / BATCH_SIZE)
    print(
        f"\nwall time {wall:,.1f} s ({wall / n * 1000:.1f} ms per bill); waiting on the client's limiter "
        f"{waited:,.1f} s ({waited / wall:.0%}); working {wall - waited:,.1f} s, of which "
        f"{meter.cpu:,.1f} s CPU in this process (the client; the sandbox too with --in-process)"
    )
    print(
        f"bill creation calls: {create_calls} (target {target_create}: "
        f"{'MET' if create_calls == target_create else 'MISSED'}); bill lookups: {lookup_calls}; "
        f"contact calls: {contact_calls:,} ({contact_calls / n:.2f} per bill); "
        f"429 received: {sum(too_many.values())} ({'MET' if not too_many else 'MISSED'})"
    )
    api_calls = sum(v for k, v in kinds.items() if k not in ("token", "connections"))
    print(
        f"at Xero's 60 calls/min these {api_calls:,} API calls need at least {max(api_calls - 60, 0) / 60:,.1f} "
        f"min of waiting; {api_calls / XERO_DAY_LIMIT:.1%} of the {XERO_DAY_LIMIT:,}/day limit "
        f"({api_calls / XERO_STARTER_DAY_LIMIT:.1%} of Starter's {XERO_STARTER_DAY_LIMIT:,})"
    )
    good = (created == 0 and existed == n) if again else (created == n)
    ok = error is None and not refused and good and not too_many and create_calls == target_create
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_BILLS} bills instead of {FULL_BILLS}")
    parser.add_argument("--bills", type=int, help="number of per-employee bills (overrides --quick)")
    parser.add_argument(
        "--fast-limits",
        action="store_true",
        help="raise the per-minute and per-day limits (sandbox and client) to measure processing alone",
    )
    parser.add_argument(
        "--again", action="store_true", help="then push the same bills again with a fresh client (all found)"
    )
    parser.add_argument("--in-process", action="store_true", help="run the sandbox in this process")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every Xero call")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR, format="%(message)s")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
