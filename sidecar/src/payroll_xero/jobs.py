"""Command-line jobs that talk to Xero: ``connect``, ``push`` and ``demo``.

* ``connect`` runs the OAuth consent in a terminal and writes a token file
  (mode 600) holding the token and the chosen organisation;
* ``push PAYRUN.json --mapping MAPPING.json`` builds the bills and the manual journals and sends
  them; it looks each up first, so running it twice creates nothing the second time.
  Before sending it reads the organisation's currencies, chart of accounts and
  tracking categories and refuses locally, naming the line and what to fix, each
  bill Xero would refuse (an unknown, archived, system or bank account, a currency
  the organisation lacks, an unknown tracking category or option): nothing of a
  refused bill is sent, not even its contact; the others are pushed (journals:
  :mod:`payroll_xero.journal_jobs`);
* ``demo`` does both against a local sandbox the command line starts in-process and passes in.

Credentials come from the environment (``XERO_CLIENT_ID``, ``XERO_CLIENT_SECRET``,
``XERO_TENANT_ID``, ``XERO_API_URL``/``XERO_IDENTITY_URL``/``XERO_LOGIN_URL``,
``XERO_TOKEN_FILE``) or the token file written by ``connect``. The client secret
is never written to the token file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from . import oauth
from .bills import Bill
from .client import UNPOSTABLE_ACCOUNT_TYPES, Account, PushResult, TrackingCategory, XeroClient
from .errors import XeroError
from .oauth import Tenant, Token, XeroEndpoints

DEFAULT_TOKEN_FILE = "~/.config/payroll-xero/token.json"  # noqa: S105 (a path)
DEFAULT_REDIRECT_URI = "http://localhost:8069/xero/oauth/callback"

EXIT_OK = 0
EXIT_FAILED = 1  # a bill was refused or Xero failed
EXIT_INPUT = 2  # the input files or the configuration are wrong


# --------------------------------------------------------------------------- token file


@dataclass(frozen=True, slots=True)
class Connection:
    """What ``connect`` stores: the token, the organisation and where Xero is."""

    client_id: str
    tenant_id: str
    tenant_name: str
    token: Token
    endpoints: XeroEndpoints = oauth.XERO

    def to_dict(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "tenant_id": self.tenant_id,
            "tenant_name": self.tenant_name,
            "endpoints": {
                "login_url": self.endpoints.login_url,
                "identity_url": self.endpoints.identity_url,
                "api_url": self.endpoints.api_url,
            },
            "token": self.token.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Connection:
        return cls(
            client_id=data["client_id"],
            tenant_id=data["tenant_id"],
            tenant_name=data.get("tenant_name") or "",
            token=Token.from_dict(data["token"]),
            endpoints=XeroEndpoints(**data.get("endpoints", {})),
        )


class TokenFile:
    """A JSON file with a :class:`Connection`, written atomically with mode 600."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path).expanduser()
        self._lock = threading.Lock()

    def exists(self) -> bool:
        return self.path.exists()

    def load(self) -> Connection:
        try:
            return Connection.from_dict(json.loads(self.path.read_text()))
        except FileNotFoundError:
            raise XeroError(
                f"No Xero connection file at {self.path}: run `payroll-xero connect` first."
            ) from None
        except (ValueError, KeyError, TypeError) as exc:
            raise XeroError(
                f"The Xero connection file {self.path} is damaged ({type(exc).__name__}): "
                "run `payroll-xero connect` again."
            ) from None

    def save(self, connection: Connection) -> None:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".token-", dir=self.path.parent)
            try:
                os.fchmod(fd, 0o600)
                with os.fdopen(fd, "w") as fh:
                    json.dump(connection.to_dict(), fh, indent=2)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
            os.chmod(self.path, 0o600)


def token_file_path(value: str | None = None, environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(value or env.get("XERO_TOKEN_FILE") or DEFAULT_TOKEN_FILE).expanduser()


# --------------------------------------------------------------------------- connect


def choose_tenant(
    tenants: Sequence[Tenant], ask: Callable[[str], str], out: TextIO, tenant_id: str | None
) -> Tenant:
    """The organisation to use: ``tenant_id`` when given, the only one, or the user's pick."""
    if tenant_id:
        for tenant in tenants:
            if tenant.tenant_id == tenant_id:
                return tenant
        raise XeroError(f"Organisation {tenant_id} was not part of this connection.")
    if not tenants:
        raise XeroError("No Xero organisation was picked during the consent: connect again and pick one.")
    if len(tenants) == 1:
        return tenants[0]
    print("Organisations connected in this consent:", file=out)
    for idx, tenant in enumerate(tenants, start=1):
        print(f"  {idx}. {tenant.tenant_name} ({tenant.tenant_id})", file=out)
    while True:
        answer = ask(f"Which one (1-{len(tenants)})? ").strip()
        if answer.isdigit() and 1 <= int(answer) <= len(tenants):
            return tenants[int(answer) - 1]
        print("Please answer with one of the numbers above.", file=out)


def connect_flow(
    *,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    endpoints: XeroEndpoints,
    open_consent: Callable[[str], str],
    ask: Callable[[str], str],
    out: TextIO,
    scopes: Sequence[str] = oauth.DEFAULT_SCOPES,
    tenant_id: str | None = None,
) -> Connection:
    """Consent -> code (state checked) -> token -> organisations of this consent -> :class:`Connection`.

    ``open_consent(url)`` shows the consent URL and returns the URL Xero redirected to.
    """
    state = oauth.new_state()
    verifier, challenge = oauth.new_pkce()
    url = oauth.authorization_url(client_id, redirect_uri, state, scopes, endpoints, code_challenge=challenge)
    redirected = open_consent(url)
    code = oauth.code_from_redirect(redirected, state)
    token = oauth.exchange_code(
        client_id, client_secret, code, redirect_uri, endpoints=endpoints, code_verifier=verifier
    )
    tenants = oauth.list_connections(token, token.auth_event_id, endpoints=endpoints)
    tenant = choose_tenant(tenants, ask, out, tenant_id)
    return Connection(client_id, tenant.tenant_id, tenant.tenant_name, token, endpoints)


def client_for(
    token_file: TokenFile,
    environ: Mapping[str, str] | None = None,
    **client_kw: Any,
) -> XeroClient:
    """A client for the organisation of the token file; env vars override what it says."""
    env = os.environ if environ is None else environ
    connection = token_file.load()
    client_id = env.get("XERO_CLIENT_ID") or connection.client_id
    client_secret = env.get("XERO_CLIENT_SECRET")
    if not client_secret:
        raise XeroError("Set XERO_CLIENT_SECRET to the Xero app's client secret.")
    tenant_id = env.get("XERO_TENANT_ID") or connection.tenant_id
    if any(env.get(k) for k in ("XERO_API_URL", "XERO_IDENTITY_URL", "XERO_LOGIN_URL")):
        endpoints = XeroEndpoints.from_env(env)
    else:
        endpoints = connection.endpoints
    state = {"connection": connection}

    def get_token() -> Token:
        return state["connection"].token

    def save_token(token: Token) -> None:
        state["connection"] = replace(state["connection"], token=token)
        token_file.save(state["connection"])

    return XeroClient(
        client_id=client_id,
        client_secret=client_secret,
        tenant_id=tenant_id,
        get_token=get_token,
        save_token=save_token,
        endpoints=endpoints,
        **client_kw,
    )


def format_result(result: PushResult, bill: Bill | None) -> str:
    kind = "credit note" if result.is_credit_note else "bill"
    if not result.ok:
        return f"{result.invoice_number}: ERROR ({kind}): " + " | ".join(result.errors)
    what = "already in Xero" if result.already_existed else "created"
    currency = bill.currency if bill else ""
    total = f"{result.total:,.2f} {currency}".strip() if result.total is not None else ""
    return f"{result.invoice_number}: {what} ({kind} {result.xero_id}, {result.status}, {total})"


def unpostable_reason(account: Account) -> str:
    """Why Xero refuses bill lines on ``account`` ("is archived in Xero"), or "" when it takes them."""
    if account.status != "ACTIVE":
        status = (account.status or "not active").lower()
        return "is archived in Xero" if status == "archived" else f"is {status} in Xero"
    if account.system_account:
        return f"is a Xero system account ({account.system_account}), which takes no bill lines"
    if account.type in UNPOSTABLE_ACCOUNT_TYPES:
        return f"is a {account.type.lower()} account, which takes no bill lines"
    if not account.is_postable:
        return "takes no bill lines"
    return ""


def preflight_problems(
    bills: Sequence[Bill],
    *,
    accounts: Sequence[Account],
    currencies: Sequence[str],
    tracking_categories: Sequence[TrackingCategory] = (),
) -> dict[str, tuple[str, ...]]:
    """invoice number -> why the organisation would refuse that bill, for the bills it cannot take.

    Checks what Xero checks against its own data, so that a refused bill is known before anything is
    sent: each line's account exists, is active and takes bill lines; the organisation has the bill's
    currency; each line's tracking category exists and is active, with the option. Names are compared as
    Xero does: account codes exactly, tracking names ignoring case. Each reason names the line (its pay
    item and description) and what to fix.
    """
    by_code = {account.code: account for account in accounts if account.code}
    enabled = set(currencies)
    categories = {c.name.casefold(): c for c in tracking_categories}
    refused: dict[str, tuple[str, ...]] = {}
    for bill in bills:
        reasons: list[str] = []
        if bill.currency not in enabled:
            reasons.append(
                f"the organisation has no currency {bill.currency} (it has {', '.join(currencies) or 'none'}): "
                "enable it in Xero (Settings > Currencies) or pay the run in one of those"
            )
        for line in bill.lines:
            where = f'line {line.pay_item or "?"} ("{line.description}")'
            account = by_code.get(line.account_code)
            if account is None:
                reasons.append(
                    f"{where}: account {line.account_code} does not exist in the organisation's chart of "
                    "accounts: add it in Xero or map the pay item to another account"
                )
            else:
                why = unpostable_reason(account)
                if why:
                    reasons.append(
                        f'{where}: account {account.code} "{account.name}" {why}: '
                        + ("restore it in Xero or " if account.status != "ACTIVE" else "")
                        + "map the pay item to another account"
                    )
            for name, option in line.tracking:
                category = categories.get(name.casefold())
                if category is None or category.status not in (None, "ACTIVE"):
                    state = "does not exist" if category is None else "is archived"
                    reasons.append(
                        f'{where}: the tracking category "{name}" {state} in Xero: add it in Xero or change '
                        "the type's tracking category"
                    )
                elif option.casefold() not in {o.casefold() for o in category.options}:
                    reasons.append(
                        f'{where}: the tracking category "{category.name}" has no active option "{option}": '
                        "add the option in Xero or change the department on the payslips"
                    )
        if reasons:
            refused[bill.invoice_number] = tuple(dict.fromkeys(reasons))
    return refused


def preflight(client: XeroClient, bills: Sequence[Bill]) -> dict[str, tuple[str, ...]]:
    """:func:`preflight_problems` of ``bills`` against the client's organisation (reads only).

    Three or four reads: the organisation and its currencies, the chart of accounts, and the tracking
    categories when a line is tracked. Raises :class:`~payroll_xero.errors.XeroError` when Xero fails.
    """
    organisation = client.organisation()
    accounts = client.accounts()
    tracked = any(line.tracking for bill in bills for line in bill.lines)
    categories = client.tracking_categories() if tracked else []
    return preflight_problems(
        bills, accounts=accounts, currencies=organisation.currencies, tracking_categories=categories
    )


def push(pay_run_path: str | Path, mapping_path: str | Path, client: XeroClient, out: TextIO) -> int:
    """Build and send the bills, then the manual journals, of one pay run; one line per document.
    Returns the exit code."""
    from .journal_jobs import push_journals
    from .journals import build_documents
    from .loaders import InputError, load_mapping, load_pay_run

    try:
        pay_run = load_pay_run(pay_run_path)
        mapping = load_mapping(mapping_path)
    except InputError as exc:
        print(f"error: {exc}", file=out)
        return EXIT_INPUT
    built = build_documents(pay_run, mapping)
    for problem in built.problems:
        print(f"{problem.severity.upper()}: {problem.message}", file=out)
    if not built.ok:
        print("Nothing was sent to Xero: fix the errors above first.", file=out)
        return EXIT_INPUT
    if not built.bills and not built.journals:
        journals = any(t.is_journal for t in mapping.types)
        print(f"The pay run makes no bills{' nor journals' if journals else ''}.", file=out)
        return EXIT_OK
    code = push_bills(built.bills, client, out) if built.bills else EXIT_OK
    if built.journals and push_journals(built.journals, client, out):
        code = EXIT_FAILED
    return code


def push_bills(bills: Sequence[Bill], client: XeroClient, out: TextIO) -> int:
    """Check and send ``bills``, one line each and a summary; returns the exit code."""
    by_number = {b.invoice_number: b for b in bills}
    try:
        refused = preflight(client, bills)
    except XeroError as exc:
        print(f"error: the organisation could not be checked, nothing was sent: {exc}", file=out)
        return EXIT_FAILED
    for bill in bills:
        if bill.invoice_number in refused:
            kind = "credit note" if bill.is_credit_note else "bill"
            print(f"{bill.invoice_number}: ERROR ({kind}), not sent:", file=out)
            for reason in refused[bill.invoice_number]:
                print(f"  - {reason}", file=out)
    to_send = [b for b in bills if b.invoice_number not in refused]
    results: list[PushResult] = []
    if to_send:
        try:
            results = client.create_bills(to_send)
        except XeroError as exc:
            for result in exc.partial_results:
                print(format_result(result, by_number.get(result.invoice_number)), file=out)
            print(f"error: {exc}", file=out)
            return EXIT_FAILED
    for result in results:
        print(format_result(result, by_number.get(result.invoice_number)), file=out)
    created = sum(r.ok and r.created for r in results)
    existing = sum(r.ok and r.already_existed for r in results)
    failed = sum(not r.ok for r in results) + len(refused)
    print(f"{created} created, {existing} already in Xero, {failed} refused.", file=out)
    if refused:
        print(f"{len(refused)} refused before sending: fix what is listed above, then push again.", file=out)
    return EXIT_FAILED if failed else EXIT_OK


# --------------------------------------------------------------------------- demo


@dataclass(frozen=True, slots=True)
class DemoApp:
    """The Xero app and organisation of a demo sandbox: who connects, and where the bills go."""

    client_id: str
    client_secret: str
    tenant_id: str


def demo(payrun: str | Path, mapping: str | Path, out: TextIO, sandbox: Any, app: DemoApp) -> int:
    """Connect to a started ``sandbox``, push twice (the second push creates nothing), show the bills.

    ``sandbox`` is given by the command line that serves it (a :class:`payroll_xero.sandbox.Sandbox`):
    it has a ``url``, approves a consent URL (``approve``) and lists what it holds (``invoices``,
    ``credit_notes``).
    """
    try:
        print(f"Xero sandbox running at {sandbox.url}", file=out)
        with tempfile.TemporaryDirectory(prefix="payroll-xero-demo-") as tmp:
            token_file = TokenFile(Path(tmp) / "token.json")
            _demo_connect(sandbox, app, token_file, out)
            env = {"XERO_CLIENT_SECRET": app.client_secret}
            codes = []
            for run in ("first", "second"):
                print(f"\n== Push ({run} time) ==", file=out)
                codes.append(push(payrun, mapping, client_for(token_file, env), out))
            _demo_show(sandbox, app.tenant_id, out)
    except XeroError as exc:
        print(f"error: {exc}", file=out)
        return EXIT_FAILED
    return max(codes)


def _demo_connect(sandbox: Any, app: DemoApp, token_file: TokenFile, out: TextIO) -> None:
    def open_consent(url: str) -> str:
        print("Consent URL (approved automatically in the sandbox):", file=out)
        print(f"  {url}", file=out)
        return sandbox.approve(url, tenant_ids=[app.tenant_id])

    connection = connect_flow(
        client_id=app.client_id,
        client_secret=app.client_secret,
        redirect_uri=DEFAULT_REDIRECT_URI,
        endpoints=XeroEndpoints.single(sandbox.url),
        open_consent=open_consent,
        ask=lambda prompt: "1",
        out=out,
    )
    token_file.save(connection)
    print(f"Connected to {connection.tenant_name} ({connection.tenant_id}).", file=out)


def _demo_show(sandbox: Any, tenant_id: str, out: TextIO) -> None:
    invoices = sandbox.invoices(tenant_id)
    credit_notes = sandbox.credit_notes(tenant_id)
    print(f"\nThe sandbox organisation now holds {len(invoices)} bill(s)", file=out, end="")
    print(f" and {len(credit_notes)} credit note(s):", file=out)
    for doc in [*invoices, *credit_notes]:
        number = doc.get("InvoiceNumber") or doc.get("CreditNoteNumber")
        contact = (doc.get("Contact") or {}).get("Name", "")
        print(f"  {number}  {doc.get('Status')}  {doc.get('Total')}  {contact}", file=out)
    print(f"\nSandbox URL: {sandbox.url}", file=out)
