"""``bench_workers.py --queue``: the pushes as OCA queue_job jobs, run by a real Odoo server.

Instead of worker processes of the bench, one ``odoo-bin`` server in prefork mode with N HTTP workers and
queue_job's job runner (``--load=base,web,queue_job``, ``ODOO_QUEUE_JOB_CHANNELS=root:N``) runs the jobs that
the module enqueued (what *Generate Xero Bills* does when queue_job is installed): one job per 50 bills on the
organisation's channel, each performed by an HTTP worker, every call taking its slot from the shared limit. The
database must have queue_job (``--template tmpl18_queue``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIVE = ("wait_dependencies", "pending", "enqueued", "started")


def enqueue(registry) -> int:
    """Jobs for every queued record, as Generate enqueues them; returns how many jobs."""
    from odoo import SUPERUSER_ID, api

    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        cr.execute("DELETE FROM queue_job")
        cr.execute("UPDATE xero_bill_record SET job_uuid = NULL")
        records = env["xero.bill.record"].search([("state", "=", "queued")])
        assert records._xero_queue_available(), "queue_job is not installed in this database"
        records._xero_enqueue()
        env.flush_all()
        cr.execute("SELECT count(*) FROM queue_job")
        return cr.fetchone()[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(args, n: int) -> subprocess.Popen:
    runtime = args.config.resolve().parent
    import bench_odoo

    port = free_port()
    log = Path(f"/tmp/{args.db}-server-{n}.log")  # noqa: S108 - a log next to the runtime's
    command = [
        str(runtime / "venv/bin/python"),
        str(runtime / "src/odoo-bin"),
        "-c",
        str(args.config),
        f"--addons-path={bench_odoo.addons_path(args.config)}",
        "-d",
        args.db,
        f"--db-filter=^{args.db}$",
        f"--workers={n}",
        "--max-cron-threads=0",
        "--limit-time-real=900",
        "--limit-time-cpu=900",
        "--http-interface=127.0.0.1",
        f"--http-port={port}",
        "--load=base,web,queue_job",
    ]
    env = dict(
        os.environ,
        PYTHONPATH=str(HERE.parent / "sidecar" / "src"),
        PYTHONDONTWRITEBYTECODE="1",
        ODOO_QUEUE_JOB_CHANNELS=f"root:{n}",
    )
    print(f"  server: {n} HTTP workers and queue_job's runner on port {port} (log {log})")
    return subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)  # noqa: S603


def job_states(registry) -> dict[str, int]:
    with registry.cursor() as cr:
        cr.execute("SELECT state, count(*) FROM queue_job GROUP BY state")
        return dict(cr.fetchall())


def run_queue(args, registry, n: int) -> dict:
    jobs = enqueue(registry)
    server = start_server(args, n)
    started = time.monotonic()
    try:
        while True:
            states = job_states(registry)
            if not any(states.get(state) for state in LIVE):
                break
            if server.poll() is not None or time.monotonic() - started > args.timeout:
                raise SystemExit(f"queue run with {n} workers: not done ({states}; server {server.poll()})")
            time.sleep(0.5)
        wall = time.monotonic() - started
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
    with registry.cursor() as cr:
        cr.execute(
            "SELECT count(*) FROM mail_message WHERE model = 'hr.payslip.run' AND body LIKE %s",
            ["%are pushed%"],
        )
        notices = cr.fetchone()[0]
        cr.execute("UPDATE hr_payslip_run SET xero_pushing = false")
        cr.execute(
            "DELETE FROM mail_message WHERE model = 'hr.payslip.run' AND body LIKE %s", ["%are pushed%"]
        )
    return {"wall": wall, "killed": False, "jobs": jobs, "job_states": states, "notices": notices}
