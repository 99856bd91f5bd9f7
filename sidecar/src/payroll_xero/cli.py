"""The ``payroll-xero`` command line."""

from __future__ import annotations

import argparse
import sys


def _add_bills(sub) -> None:
    p = sub.add_parser("bills", help="preview the bills of a pay run (no network)")
    p.add_argument("payrun", help="pay run JSON file")
    p.add_argument("--mapping", required=True, help="mapping JSON file")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_run_bills)


def _run_bills(args) -> int:
    from .preview import run_bills

    return run_bills(args)


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
    from .jobs import add_arguments

    add_arguments(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="payroll-xero", description=__doc__)
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
