"""Benchmark: several Odoo worker processes push bills to one Xero organisation with Xero's real limits.

Not a timed test: it prints what the sandbox (Xero's stand-in) saw. A standalone script that:

1. copies a template (``tmpl18_payroll`` / ``tmpl19_payroll``, ``--template``) into a fresh database and installs
   ``hr_payroll_xero`` with ``odoo-bin -i``, builds a payroll (``bench_odoo``'s 30 pay items) with
   ``--bills / --batches`` employees and ``--batches`` closed batches of one payslip each (SQL), and generates
   their bills with the per-employee type: ``--bills`` records (default 2,000 for 4 batches);
2. starts the sidecar's sandbox in this process with Xero's real limits (60 calls a minute and 5 in flight per
   organisation, 5,000 a day) and records every call's arrival, the calls in flight and every 429;
3. for each N of ``--workers`` (default 1,2,4): back to a fresh sandbox and queued records, then N worker
   processes (each its own Python and Odoo registry, as Odoo's prefork workers or servers) push them, each
   taking up to ``--chunk`` records with ``FOR UPDATE SKIP LOCKED`` and pushing them through the module
   (``_xero_push``: the cron's path), every call taking its slot from the limit shared in PostgreSQL;
4. ``--kill``: one more run with the largest N, in which one worker is killed with SIGKILL once a third of the
   bills is sent (mid-push: its transaction is lost, and its slot too when it was inside a call), and the
   others finish its work;
   ``--queue``: the pushes are OCA queue_job jobs instead (enqueued as Generate does), run by one ``odoo-bin``
   server in prefork mode with N HTTP workers and queue_job's job runner (``bench/workers_queue.py``; a template
   with queue_job, e.g. ``--template tmpl18_queue``);
5. prints per N: the most calls Xero received in any rolling minute (must be <= 60), the most calls in flight
   (<= 5), 429s received (0), duplicates in Xero (0), bills lost (0: every record sent and in Xero once), the
   slot left in flight by the killed worker (freed after its expiry), and the wall time against one worker.

Run from the repository root (PostgreSQL running; about 3 minutes per N for 2,000 bills, plus 2 for the set-up)::

    /opt/odoo18/venv/bin/python bench/bench_workers.py /opt/odoo18/odoo.conf
    /opt/odoo18/venv/bin/python bench/bench_workers.py /opt/odoo18/odoo.conf --bills 400 --workers 1,4 --kill
    /opt/odoo19/venv/bin/python bench/bench_workers.py /opt/odoo19/odoo.conf --template tmpl19_payroll
    /opt/odoo18/venv/bin/python bench/bench_workers.py /opt/odoo18/odoo.conf --queue --template tmpl18_queue

The database ``bench_workers`` is dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "sidecar" / "src"))

import bench_odoo  # noqa: E402 - after the path insert
import workers_queue  # noqa: E402
from bench_odoo import bootstrap, environment, machine  # noqa: E402

TEMPLATES = ("tmpl18_payroll", "tmpl19_payroll", "tmpl_payroll")
PENDING_SQL = (
    "state = 'queued' OR (state = 'failed' AND retryable AND "
    "(next_attempt_at IS NULL OR next_attempt_at <= now() AT TIME ZONE 'UTC'))"
)


# ---------------------------------------------------------------------------------------------- the sandbox


class Watch:
    """Wraps the sandbox's rate limiter: when each call arrived, how many ran at once, and the 429s."""

    def __init__(self, limiter) -> None:
        self.limiter = limiter
        self.lock = threading.Lock()
        self.reset()
        acquire, release = limiter.acquire, limiter.release

        def watched_acquire(client_id, tenant_id):
            decision = acquire(client_id, tenant_id)
            with self.lock:
                if decision.allowed:
                    self.arrivals.append(time.monotonic())
                    self.in_flight += 1
                    self.peak = max(self.peak, self.in_flight)
                else:
                    self.refused[decision.problem] += 1
            return decision

        def watched_release(client_id, tenant_id):
            with self.lock:
                self.in_flight = max(0, self.in_flight - 1)
            release(client_id, tenant_id)

        limiter.acquire, limiter.release = watched_acquire, watched_release

    def reset(self) -> None:
        self.arrivals: list[float] = []
        self.in_flight = 0
        self.peak = 0
        self.refused: Counter[str] = Counter()

    def max_per_minute(self) -> int:
        times = sorted(self.arrivals)
        best, start = 0, 0
        for end, arrived in enumerate(times):
            while times[start] <= arrived - 60:
                start += 1
            best = max(best, end - start + 1)
        return best


def connect(registry, sandbox) -> int:
    """The main company connected to the sandbox's demo organisation through the module's OAuth flow."""
    from payroll_xero.sandbox import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID

    with environment(registry) as env:
        params = env["ir.config_parameter"].sudo()
        for key in ("login_url", "identity_url", "api_url"):
            params.set_param(f"hr_payroll_xero.{key}", sandbox.url)
        company = env.ref("base.main_company")
        company.xero_currency_code = company.currency_id.name
        connection = env["xero.connection"]._xero_for_company(company) or env["xero.connection"].create(
            {
                "name": "Xero",
                "company_id": company.id,
                "client_id": DEMO_CLIENT_ID,
                "client_secret": DEMO_CLIENT_SECRET,
            }
        )
        action = connection.action_connect()
        redirect = sandbox.approve(action["url"], tenant_ids=[DEMO_TENANT_ID])
        query = {key: values[0] for key, values in parse_qs(urlsplit(redirect).query).items()}
        assert env["xero.connection"]._xero_check_state(query["state"]) == connection
        connection._xero_complete_consent(query["code"])
        connection_id = connection.id
    with environment(registry) as env:
        env["xero.connection"].browse(connection_id)._xero_sync_accounts()
    return connection_id


# ---------------------------------------------------------------------------------------------- set-up


def make_records(registry, bills: int, batches: int) -> list[int]:
    """``batches`` closed batches of ``bills / batches`` payslips, their per-employee bills generated (drafts)."""
    started = time.perf_counter()
    per_batch = bills // batches
    setup = bench_odoo.setup_payroll(registry, per_batch)
    bench_odoo.set_active_types(registry, setup, {"NET"})
    record_ids = []
    for index in range(batches):
        run_id = bench_odoo.make_batch(registry, setup, per_batch, seed=index)
        with environment(registry) as env:
            env.cr.execute("UPDATE hr_payslip SET state = 'done' WHERE payslip_run_id = %s", [run_id])
            run = env["hr.payslip.run"].browse(run_id)
            run.write({"name": f"Bench batch {index + 1}", "state": "close"})
            record_ids += run._xero_generate_bills(push=False).ids
    print(
        f"records: {len(record_ids):,} bills of {batches} batches generated ({time.perf_counter() - started:.1f} s)"
    )
    return record_ids


def reset_run(registry, sandbox, watch) -> None:
    """A fresh organisation in the sandbox, the records queued again, the shared limit forgotten."""
    sandbox.reset()
    connect(registry, sandbox)
    with environment(registry) as env:
        cr = env.cr
        cr.execute(
            "UPDATE xero_bill_record SET state = 'queued', xero_id = NULL, xero_status = NULL, attempts = 0, "
            "retryable = false, next_attempt_at = NULL, last_error = NULL, sent_at = NULL, pending_update = false"
        )
        cr.execute("UPDATE hr_employee SET xero_contact_id = NULL")
        cr.execute("DELETE FROM xero_rate_limit")
        env.invalidate_all()
    watch.reset()


# ---------------------------------------------------------------------------------------------- a worker


def worker(conf: Path, db: str, chunk: int) -> int:
    """One Odoo process: push queued records, ``chunk`` at a time, until none is left; prints what it did."""
    from odoo import SUPERUSER_ID, api

    registry = bootstrap(conf, db)
    pushed = chunks = 0
    started = time.perf_counter()
    while True:
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"xero_push_now": True})
            cr.execute(
                f"SELECT id FROM xero_bill_record WHERE {PENDING_SQL} ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",  # noqa: S608
                [chunk],
            )
            ids = [row[0] for row in cr.fetchall()]
            if ids:
                env["xero.bill.record"].browse(ids)._xero_push()
                pushed, chunks = pushed + len(ids), chunks + 1
            else:
                cr.execute(
                    "SELECT count(*) FROM xero_bill_record WHERE state = 'queued' OR (state = 'failed' AND retryable)"
                )
                left = cr.fetchone()[0]
            # leaving the block commits: what Xero accepted is recorded before the next chunk
        if not ids:
            if not left:
                break
            time.sleep(0.5)  # the others hold the rest, or a retry is not due yet
    print(
        json.dumps(
            {"pid": os.getpid(), "pushed": pushed, "chunks": chunks, "seconds": time.perf_counter() - started}
        )
    )
    return 0


# ---------------------------------------------------------------------------------------------- a run


def sent_count(registry) -> int:
    with registry.cursor() as cr:
        cr.execute("SELECT count(*) FROM xero_bill_record WHERE state = 'sent'")
        return cr.fetchone()[0]


def start_workers(args, n: int) -> list[subprocess.Popen]:
    env = dict(os.environ, PYTHONPATH=str(HERE.parent / "sidecar" / "src"), PYTHONDONTWRITEBYTECODE="1")
    command = [
        sys.executable,
        __file__,
        str(args.config),
        "--db",
        args.db,
        "--worker",
        "--chunk",
        str(args.chunk),
    ]
    return [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)  # noqa: S603 - this script
        for _ in range(n)
    ]


def run_workers(args, registry, n: int, total: int, kill: bool) -> dict:
    procs = start_workers(args, n)
    started = time.monotonic()
    killed = None
    while any(proc.poll() is None for proc in procs):
        if time.monotonic() - started > args.timeout:
            for proc in procs:
                proc.kill()
            raise SystemExit(f"{n} workers: not done after {args.timeout} s")
        if kill and killed is None and n > 1 and sent_count(registry) >= total // 3:
            killed = procs[0]
            killed.send_signal(signal.SIGKILL)  # mid-push: its transaction is lost, its slot is left behind
            killed_at = time.monotonic()
        time.sleep(0.2)
    wall = time.monotonic() - started
    outputs = [json.loads(proc.stdout.read() or "null") for proc in procs if proc is not killed]
    result = {"wall": wall, "workers": outputs, "killed": killed is not None}
    if killed is not None:
        result["killed_after"] = killed_at - started
    return result


def check(registry, sandbox, watch, run: dict) -> dict:
    """What the sandbox saw and what the database says, once the workers are done."""
    from payroll_xero.sandbox import DEMO_TENANT_ID

    with registry.cursor() as cr:
        cr.execute("SELECT state, count(*) FROM xero_bill_record GROUP BY state")
        states = dict(cr.fetchall())
        cr.execute("SELECT invoice_number FROM xero_bill_record")
        numbers = {row[0] for row in cr.fetchall()}
    in_xero = Counter(doc["InvoiceNumber"] for doc in sandbox.invoices(DEMO_TENANT_ID))
    return {
        "per_minute": watch.max_per_minute(),
        "peak": watch.peak,
        "calls": len(watch.arrivals),
        "refused": sum(watch.refused.values()),
        "duplicates": sum(count - 1 for count in in_xero.values() if count > 1),
        "lost": len(numbers - set(in_xero)) + sum(n for state, n in states.items() if state != "sent"),
        "stale_slots": {key: round(seconds) for key, seconds in live_slots(registry).items()},
        "states": states,
        **run,
    }


def live_slots(registry) -> dict[str, float]:
    """Slots of the organisation still in flight (not expired), with the seconds until they expire."""
    from payroll_xero.sandbox import DEMO_TENANT_ID

    with registry.cursor() as cr:
        cr.execute(
            "SELECT in_flight, extract(epoch FROM clock_timestamp()) FROM xero_rate_limit WHERE tenant_id = %s",
            [DEMO_TENANT_ID],
        )
        in_flight, now = cr.fetchone() or ({}, 0)
    left = {key: expires - float(now) for key, (_counted, expires) in (in_flight or {}).items()}
    return {key: seconds for key, seconds in left.items() if seconds > 0}


def wait_slots_freed(registry, result: dict) -> None:
    """After a kill: the dead worker's slot, if it held one, frees by itself when it expires."""
    held = live_slots(registry)
    if not held:
        result["slot"] = "none held"
        return
    time.sleep(max(held.values()) + 1)
    result["slot"] = "freed at its expiry" if not live_slots(registry) else "STILL HELD"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", type=Path, help="Odoo config file, e.g. /opt/odoo18/odoo.conf")
    parser.add_argument("--db", default="bench_workers", help="database to create (dropped first if present)")
    parser.add_argument(
        "--template", help=f"template database (default: the first of {', '.join(TEMPLATES)})"
    )
    parser.add_argument("--bills", type=int, default=2000, help="bills in all (default 2,000)")
    parser.add_argument("--batches", type=int, default=4, help="batches they come from (default 4)")
    parser.add_argument("--workers", default="1,2,4", help="numbers of worker processes, one run each")
    parser.add_argument(
        "--chunk", type=int, default=50, help="records a worker takes at a time (one create call)"
    )
    parser.add_argument("--kill", action="store_true", help="a last run with one worker SIGKILLed on the way")
    parser.add_argument("--queue", action="store_true", help="the pushes as queue_job jobs of an Odoo server")
    parser.add_argument("--kill-only", action="store_true", help="only that run")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds a run may take")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.config, args.db, args.chunk)
    return orchestrate(args)


def orchestrate(args) -> int:
    from payroll_xero.sandbox import Sandbox

    template = args.template or next(
        (t for t in TEMPLATES if bench_odoo.database_exists(args.config, t)), None
    )
    if not template:
        raise SystemExit(f"no template database: create one of {', '.join(TEMPLATES)} or pass --template")
    import odoo.release

    print(f"machine: {machine()}")
    print(
        f"odoo: {odoo.release.version}; {args.bills:,} bills of {args.batches} batches; workers {args.workers}"
    )
    bench_odoo.make_database(args.config, args.db, template)
    registry = bootstrap(args.config, args.db)
    sandbox = Sandbox(host="127.0.0.1", port=0).start()  # Xero's limits: 60/min, 5 in flight, 5,000/day
    watch = Watch(sandbox.limiter)
    print(
        f"sandbox {sandbox.url}: limits {sandbox.limiter.minute_limit}/min, {sandbox.limiter.concurrent_limit} in flight"
    )
    results = {}
    try:
        connect(registry, sandbox)
        record_ids = make_records(registry, args.bills, args.batches)
        runs = [(int(value), False) for value in args.workers.split(",") if not args.kill_only]
        if args.kill or args.kill_only:
            runs.append((max(int(value) for value in args.workers.split(",")), True))
        for n, kill in runs:
            reset_run(registry, sandbox, watch)
            if args.queue:
                run = workers_queue.run_queue(args, registry, n)
            else:
                run = run_workers(args, registry, n, len(record_ids), kill)
            results[n, kill] = check(registry, sandbox, watch, run)
            if kill:
                wait_slots_freed(registry, results[n, kill])
            report_one(n, results[n, kill])
    finally:
        sandbox.stop()
        if not args.keep:
            import odoo.sql_db
            from odoo.modules.registry import Registry

            Registry.delete(args.db)
            odoo.sql_db.close_all()
            bench_odoo.drop_database(args.config, args.db)
    return report(results)


def report_one(n: int, r: dict) -> None:
    killed = f", one killed after {r['killed_after']:.0f} s" if r["killed"] else ""
    if "jobs" in r:
        killed += f" (queue_job: {r['jobs']} jobs {r['job_states']}, {r['notices']} batch notices)"
    print(
        f"  {n} worker(s){killed}: {r['wall']:.1f} s, {r['calls']} calls; max {r['per_minute']}/min, "
        f"{r['peak']} in flight; {r['refused']} 429s; {r['duplicates']} duplicates; {r['lost']} lost; "
        f"records {r['states']}; slots held at the end {r['stale_slots'] or 'none'}"
        + (f"; the killed worker's slot: {r['slot']}" if r["killed"] else "")
    )


def report(results: dict) -> int:
    single = results.get((1, False), {}).get("wall")
    header = (
        f"{'workers':>7} | {'killed':>6} | {'calls':>5} | {'max calls/min':>13} | {'max in flight':>13} | "
        f"{'429s':>4} | {'duplicates':>10} | {'lost':>4} | {'wall s':>7} | {'vs 1 worker':>11}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    ok = True
    for (n, _kill), r in results.items():
        ratio = f"{r['wall'] / single:.2f}x" if single else "-"
        print(
            f"{n:>7} | {'yes' if r['killed'] else 'no':>6} | {r['calls']:>5} | {r['per_minute']:>13} | "
            f"{r['peak']:>13} | {r['refused']:>4} | {r['duplicates']:>10} | {r['lost']:>4} | {r['wall']:>7.1f} | "
            f"{ratio:>11}"
        )
        ok &= r["per_minute"] <= 60 and r["peak"] <= 5 and not (r["refused"] or r["duplicates"] or r["lost"])
    print(f"\nlimits kept, no 429, no duplicate, nothing lost: {'YES' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
