"""The ``payroll-xero`` command line.

Each command imports what it runs when it runs (``bills`` needs no Xero SDK). The local Xero sandbox is
imported here only, by the commands that serve it (``sandbox`` and ``demo``): the jobs it runs get it
passed in.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO


def _add_bills(sub) -> None:
    p = sub.add_parser("bills", help="preview the bills of a pay run (no network)")
    p.add_argument("payrun", help="pay run JSON file")
    p.add_argument("--mapping", required=True, help="mapping JSON file")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_run_bills)

    p = sub.add_parser("journals", help="preview the manual journals of a pay run (no network)")
    p.add_argument("payrun", help="pay run JSON file")
    p.add_argument("--mapping", required=True, help="mapping JSON file")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_run_journals)


def _run_bills(args) -> int:
    from .preview import run_bills

    return run_bills(args)


def _run_journals(args) -> int:
    from .preview import run_journals

    return run_journals(args)


def _add_sandbox(sub) -> None:
    p = sub.add_parser("sandbox", help="run the local Xero sandbox server")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8070)
    p.add_argument("--db", default=None, help="SQLite file to keep state in (default: memory)")
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="bind to a non-loopback address (a container); the sandbox is a local test server, never public",
    )
    p.add_argument(
        "--redirect-uri",
        action="append",
        default=[],
        help="register an OAuth redirect URI of the demo app (loopback ones are always accepted)",
    )
    p.set_defaults(func=_run_sandbox)


def _run_sandbox(args) -> int:
    from .sandbox import serve

    return serve(
        host=args.host,
        port=args.port,
        db_path=args.db,
        allow_remote=args.allow_remote,
        redirect_uris=args.redirect_uri,
    )


def _add_jobs(sub) -> None:
    """``connect``, ``push`` and ``demo``: the jobs that talk to Xero (:mod:`payroll_xero.jobs`)."""
    from .jobs import DEFAULT_REDIRECT_URI, DEFAULT_TOKEN_FILE

    p = sub.add_parser("connect", help="connect to a Xero organisation (OAuth consent in a terminal)")
    p.add_argument("--client-id", default=None, help="Xero app client id (default: $XERO_CLIENT_ID)")
    p.add_argument(
        "--redirect-uri",
        default=os.environ.get("XERO_REDIRECT_URI", DEFAULT_REDIRECT_URI),
        help="redirect URI registered on the Xero app (default: $XERO_REDIRECT_URI)",
    )
    p.add_argument(
        "--scopes", default=None, help="space separated scopes (default: the ones this tool needs)"
    )
    p.add_argument("--tenant-id", default=None, help="pick this organisation without asking")
    p.add_argument(
        "--token-file", default=None, help=f"where to save the token (default: {DEFAULT_TOKEN_FILE})"
    )
    p.set_defaults(func=_run_connect)

    p = sub.add_parser("push", help="send a pay run's bills and manual journals to Xero (safe to run twice)")
    p.add_argument("payrun", help="pay run JSON file")
    p.add_argument("--mapping", required=True, help="mapping JSON file")
    p.add_argument("--token-file", default=None, help="token file written by `connect`")
    p.set_defaults(func=_run_push)

    p = sub.add_parser(
        "status", help="what Xero says of a pay run's bills and journals: status, paid, due, changes"
    )
    p.add_argument("payrun", help="pay run JSON file")
    p.add_argument("--mapping", required=True, help="mapping JSON file")
    p.add_argument("--token-file", default=None, help="token file written by `connect`")
    p.set_defaults(func=_run_status)

    p = sub.add_parser("demo", help="connect and push the example pay run to a local Xero sandbox")
    p.add_argument("--payrun", default=None, help="pay run JSON (default: examples/payrun.json)")
    p.add_argument("--mapping", default=None, help="mapping JSON (default: examples/mapping.json)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="sandbox port (default: a free one)")
    p.set_defaults(func=_run_demo)


# --------------------------------------------------------------------------- connect


def _run_connect(args, stdout: TextIO | None = None, stdin_ask: Callable[[str], str] | None = None) -> int:
    from . import jobs
    from .errors import XeroError
    from .oauth import DEFAULT_SCOPES, XeroEndpoints

    out = stdout or sys.stdout
    ask = stdin_ask or input
    env = os.environ
    client_id = args.client_id or env.get("XERO_CLIENT_ID")
    if not client_id:
        print("error: set XERO_CLIENT_ID (or pass --client-id).", file=sys.stderr)
        return jobs.EXIT_INPUT
    client_secret = env.get("XERO_CLIENT_SECRET") or getpass.getpass("Xero client secret: ")
    endpoints = XeroEndpoints.from_env(env)
    scopes = args.scopes.split() if args.scopes else DEFAULT_SCOPES

    def open_consent(url: str) -> str:
        print("Open this URL in a browser, log in to Xero and allow access:", file=out)
        print(f"\n  {url}\n", file=out)
        return ask("Then paste here the full URL your browser was sent to: ")

    try:
        connection = jobs.connect_flow(
            client_id=client_id,
            client_secret=client_secret,
            redirect_uri=args.redirect_uri,
            endpoints=endpoints,
            open_consent=open_consent,
            ask=ask,
            out=out,
            scopes=scopes,
            tenant_id=args.tenant_id,
        )
    except XeroError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return jobs.EXIT_FAILED
    path = jobs.token_file_path(args.token_file)
    jobs.TokenFile(path).save(connection)
    print(f"Connected to {connection.tenant_name} ({connection.tenant_id}); token saved in {path}.", file=out)
    return jobs.EXIT_OK


# --------------------------------------------------------------------------- push


def _with_client(run, args, stdout: TextIO | None = None) -> int:
    """``run(payrun, mapping, client, out)`` with the client of the token file, or exit 2 saying why."""
    from . import jobs
    from .errors import XeroError

    out = stdout or sys.stdout
    try:
        client = jobs.client_for(jobs.TokenFile(jobs.token_file_path(args.token_file)))
    except XeroError as exc:
        print(f"error: {exc}", file=out)
        return jobs.EXIT_INPUT
    return run(args.payrun, args.mapping, client, out)


def _run_push(args, stdout: TextIO | None = None) -> int:
    from . import jobs

    return _with_client(jobs.push, args, stdout)


def _run_status(args, stdout: TextIO | None = None) -> int:
    from . import status

    return _with_client(status.status, args, stdout)


# --------------------------------------------------------------------------- demo


def _example(name: str, given: str | None) -> Path:
    if given:
        return Path(given)
    here = Path(__file__).resolve()
    candidates = [
        here.parents[2] / "examples" / name,  # sidecar/src/payroll_xero -> sidecar/examples
        Path.cwd() / "sidecar" / "examples" / name,
        Path.cwd() / "examples" / name,
    ]
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(f"Cannot find examples/{name}: pass --payrun/--mapping.")


def _run_demo(args, stdout: TextIO | None = None) -> int:
    """Start a sandbox in-process, run the demo job against it, stop it."""
    from . import jobs
    from .sandbox import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID, Sandbox

    out = stdout or sys.stdout
    try:
        payrun = _example("payrun.json", args.payrun)
        mapping = _example("mapping.json", args.mapping)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=out)
        return jobs.EXIT_INPUT
    sandbox = Sandbox(host=args.host, port=args.port)
    sandbox.start()
    try:
        app = jobs.DemoApp(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID)
        return jobs.demo(payrun, mapping, out, sandbox, app)
    finally:
        sandbox.stop()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="payroll-xero", description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _add_bills(sub)
    _add_sandbox(sub)
    _add_jobs(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
