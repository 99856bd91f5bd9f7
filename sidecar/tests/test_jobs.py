"""The connect / push / demo commands, against the sandbox."""

from __future__ import annotations

import io
import json
import re
import stat
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from common import REDIRECT_URI, consent, endpoints

from payroll_xero import jobs
from payroll_xero.cli import build_parser
from payroll_xero.client import limiter_for
from payroll_xero.oauth import pkce_challenge
from payroll_xero.sandbox import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID, SECOND_TENANT_ID

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def env(sandbox, monkeypatch, tmp_path):
    monkeypatch.setenv("XERO_CLIENT_ID", DEMO_CLIENT_ID)
    monkeypatch.setenv("XERO_CLIENT_SECRET", DEMO_CLIENT_SECRET)
    monkeypatch.setenv("XERO_API_URL", sandbox.url)
    monkeypatch.delenv("XERO_TENANT_ID", raising=False)
    monkeypatch.setenv("XERO_TOKEN_FILE", str(tmp_path / "token.json"))
    # The sandbox's minute limit starts afresh in each test; so does the client's (one per process and
    # organisation), else the pushes of earlier tests make a later one wait for the minute to pass.
    monkeypatch.setattr(limiter_for(DEMO_TENANT_ID), "starts", [])
    return tmp_path / "token.json"


def _connected(sandbox, token_file: Path) -> jobs.TokenFile:
    token = consent(sandbox, tenant_ids=[DEMO_TENANT_ID])
    tf = jobs.TokenFile(token_file)
    tf.save(jobs.Connection(DEMO_CLIENT_ID, DEMO_TENANT_ID, "Demo", token, endpoints(sandbox)))
    return tf


def _run(argv: list[str], **kw) -> tuple[int, str]:
    args = build_parser().parse_args(argv)
    out = io.StringIO()
    code = args.func(args, stdout=out, **kw)
    return code, out.getvalue()


def test_connect_verifies_state_asks_which_organisation_and_writes_a_private_token_file(sandbox, env):
    out_holder: dict[str, io.StringIO] = {}
    answers = []

    def ask(prompt: str) -> str:
        if "paste" in prompt:
            printed = out_holder["out"].getvalue()
            url = re.search(r"(http\S+/identity/connect/authorize\S+)", printed).group(1)
            return sandbox.approve(url, tenant_ids=[DEMO_TENANT_ID, SECOND_TENANT_ID])
        answers.append(prompt)
        return "2"

    args = build_parser().parse_args(["connect", "--redirect-uri", REDIRECT_URI])
    out_holder["out"] = io.StringIO()
    code = args.func(args, stdout=out_holder["out"], stdin_ask=ask)
    assert code == 0
    assert answers, "with two organisations the user is asked which one"
    connection = jobs.TokenFile(env).load()
    printed = out_holder["out"].getvalue()
    chosen = printed.split("  2. ")[1].split(" (")[0]
    assert connection.tenant_name == chosen
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert DEMO_CLIENT_SECRET not in env.read_text()


def test_connect_uses_pkce_the_consent_has_an_s256_challenge_and_the_exchange_its_verifier(sandbox, env):
    urls = []

    def ask(prompt: str) -> str:
        url = re.search(r"(http\S+/identity/connect/authorize\S+)", out.getvalue()).group(1)
        urls.append(url)
        return sandbox.approve(url, tenant_ids=[DEMO_TENANT_ID])

    args = build_parser().parse_args(["connect", "--redirect-uri", REDIRECT_URI])
    out = io.StringIO()
    assert args.func(args, stdout=out, stdin_ask=ask) == 0
    query = parse_qs(urlsplit(urls[0]).query)
    assert query["code_challenge_method"] == ["S256"]
    exchange = [b for m, p, b in sandbox.received if m == "POST" and p.endswith("/connect/token")][-1]
    verifier = parse_qs(exchange.decode())["code_verifier"][0]
    assert pkce_challenge(verifier) == query["code_challenge"][0]


def test_connect_with_a_tampered_state_writes_nothing(sandbox, env):
    def ask(prompt: str) -> str:
        url = re.search(r"(http\S+/identity/connect/authorize\S+)", out.getvalue()).group(1)
        return re.sub(r"state=[^&]+", "state=forged", sandbox.approve(url))

    args = build_parser().parse_args(["connect", "--redirect-uri", REDIRECT_URI])
    out = io.StringIO()
    assert args.func(args, stdout=out, stdin_ask=ask) == 1
    assert not env.exists()


def test_push_twice_creates_bills_once(sandbox, env):
    _connected(sandbox, env)
    argv = ["push", str(EXAMPLES / "payrun.json"), "--mapping", str(EXAMPLES / "mapping.json")]
    code, first = _run(argv)
    assert code == 0, first
    created = len(sandbox.invoices(DEMO_TENANT_ID)) + len(sandbox.credit_notes(DEMO_TENANT_ID))
    assert created > 0
    assert f"{created} created, 0 already in Xero, 0 refused." in first

    code, second = _run(argv)
    assert code == 0, second
    assert f"0 created, {created} already in Xero, 0 refused." in second
    assert len(sandbox.invoices(DEMO_TENANT_ID)) + len(sandbox.credit_notes(DEMO_TENANT_ID)) == created


def test_push_saves_the_rotated_token_in_the_token_file(sandbox, env):
    tf = _connected(sandbox, env)
    before = tf.load().token
    sandbox.expire_access_tokens()
    code, out = _run(["push", str(EXAMPLES / "payrun.json"), "--mapping", str(EXAMPLES / "mapping.json")])
    assert code == 0, out
    after = tf.load().token
    assert after.refresh_token != before.refresh_token
    assert stat.S_IMODE(env.stat().st_mode) == 0o600


def test_push_reports_refused_bills_and_exits_non_zero(sandbox, env):
    _connected(sandbox, env)
    sandbox.archive_account(DEMO_TENANT_ID, "478")
    code, out = _run(["push", str(EXAMPLES / "payrun.json"), "--mapping", str(EXAMPLES / "mapping.json")])
    assert code == 1
    assert "ERROR" in out and "478" in out


def test_push_with_a_broken_input_file_sends_nothing(sandbox, env, tmp_path):
    _connected(sandbox, env)
    bad = tmp_path / "payrun.json"
    bad.write_text("{not json")
    code, out = _run(["push", str(bad), "--mapping", str(EXAMPLES / "mapping.json")])
    assert code == 2 and "error" in out
    assert sandbox.invoices(DEMO_TENANT_ID) == []


def test_push_without_a_connection_says_to_connect_first(sandbox, env):
    code, out = _run(["push", str(EXAMPLES / "payrun.json"), "--mapping", str(EXAMPLES / "mapping.json")])
    assert code == 2 and "payroll-xero connect" in out


def test_demo_pushes_twice_and_the_second_push_creates_nothing():
    code, out = _run(["demo"])
    assert code == 0, out
    assert "Sandbox URL: http://127.0.0.1:" in out
    pushes = out.split("== Push")
    assert "0 created" not in pushes[1]
    assert re.search(r"\n0 created, \d+ already in Xero, 0 refused\.", pushes[2])


# --------------------------------------------------------------------------- preflight (issue 10, 9)


def _push(argv_payrun: Path, argv_mapping: Path) -> tuple[int, str]:
    return _run(["push", str(argv_payrun), "--mapping", str(argv_mapping)])


def _refused(argv_payrun: Path, argv_mapping: Path) -> str:
    """The output of a push that refuses a bill (exit code 1)."""
    code, out = _push(argv_payrun, argv_mapping)
    assert code == 1, out
    return out


def _example_copy(tmp_path: Path, name: str, change) -> Path:
    data = json.loads((EXAMPLES / name).read_text())
    change(data)
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def _contact_names(sandbox) -> set[str]:
    return {c["Name"] for c in sandbox.contacts(DEMO_TENANT_ID)}


def _numbers(sandbox) -> set[str]:
    return {d["InvoiceNumber"] for d in sandbox.invoices(DEMO_TENANT_ID)} | {
        d["CreditNoteNumber"] for d in sandbox.credit_notes(DEMO_TENANT_ID)
    }


def test_push_refuses_a_bill_on_an_archived_account_before_sending_and_makes_no_contact_for_it(sandbox, env):
    _connected(sandbox, env)
    sandbox.archive_account(DEMO_TENANT_ID, "478")
    out = _refused(EXAMPLES / "payrun.json", EXAMPLES / "mapping.json")
    assert (
        "PAY-2026-10/MPF: ERROR (bill), not sent:\n"
        '  - line MPF_ER ("MPF employer contributions"): account 478 "MPF Employer Contributions" is archived '
        "in Xero: restore it in Xero or map the pay item to another account\n"
    ) in out
    assert "21 created, 0 already in Xero, 1 refused." in out
    numbers = _numbers(sandbox)
    assert "PAY-2026-10/MPF" not in numbers and "PAY-2026-10/MED" in numbers and len(numbers) == 21
    # the trustee is the MPF bill's contact only: it was not created in Xero
    assert "HSBC MPF Trustee" not in _contact_names(sandbox)
    assert "Bupa Hong Kong" in _contact_names(sandbox)


def test_push_refuses_unknown_system_and_bank_accounts_naming_the_line(sandbox, env, tmp_path):
    _connected(sandbox, env)

    def accounts(data):
        medical = data["types"][2]["lines"][0]
        medical["account"] = "999"
        mpf = data["types"][1]["lines"]
        mpf[0]["account"], mpf[1]["account"] = "800", "090"

    mapping = _example_copy(tmp_path, "mapping.json", accounts)
    out = _refused(EXAMPLES / "payrun.json", mapping)
    assert (
        '  - line MEDICAL ("Staff medical plan deductions"): account 999 does not exist in the organisation\'s '
        "chart of accounts: add it in Xero or map the pay item to another account\n"
    ) in out
    assert (
        '  - line MPF_EE ("MPF employee contributions"): account 800 "Accounts Payable" is a Xero system account '
        "(CREDITORS), which takes no bill lines: map the pay item to another account\n"
    ) in out
    assert 'account 090 "Business Bank Account" is a bank account, which takes no bill lines' in out
    assert "20 created, 0 already in Xero, 2 refused." in out
    assert not {"HSBC MPF Trustee", "Bupa Hong Kong"} & _contact_names(sandbox)


def test_push_refuses_every_bill_in_a_currency_the_organisation_lacks_and_sends_nothing(
    sandbox, env, tmp_path
):
    _connected(sandbox, env)
    payrun = _example_copy(tmp_path, "payrun.json", lambda data: data.update(currency="EUR"))
    out = _refused(payrun, EXAMPLES / "mapping.json")
    assert out.count("ERROR (bill), not sent:") == 22
    assert (
        "  - the organisation has no currency EUR (it has HKD, USD): enable it in Xero (Settings > Currencies) "
        "or pay the run in one of those\n"
    ) in out
    assert "0 created, 0 already in Xero, 22 refused." in out
    assert sandbox.contacts(DEMO_TENANT_ID) == [] and _numbers(sandbox) == set()
    assert not [c for c in sandbox.calls if c[0] in ("PUT", "POST") and "/api.xro/" in c[1]]

    sandbox.set_currencies(DEMO_TENANT_ID, ["USD", "EUR"])
    code, out = _push(payrun, EXAMPLES / "mapping.json")
    assert code == 0, out
    assert "22 created, 0 already in Xero, 0 refused." in out


def test_push_refuses_an_unknown_tracking_category_or_option(sandbox, env, tmp_path):
    _connected(sandbox, env)

    def marketing(data):
        data["payslips"][0]["department"] = "Marketing"

    payrun = _example_copy(tmp_path, "payrun.json", marketing)
    out = _refused(payrun, EXAMPLES / "mapping.json")
    assert (
        '  - line MPF_EE ("MPF employee contributions"): the tracking category "Department" has no active option '
        '"Marketing": add the option in Xero or change the department on the payslips\n'
    ) in out
    assert "21 created, 0 already in Xero, 1 refused." in out
    assert "HSBC MPF Trustee" not in _contact_names(sandbox)

    mapping = _example_copy(
        tmp_path, "mapping.json", lambda data: data["types"][1].update(tracking_category="Region")
    )
    out = _refused(EXAMPLES / "payrun.json", mapping)
    assert (
        'line MPF_ER ("MPF employer contributions"): the tracking category "Region" does not exist in Xero: add '
        "it in Xero or change the type's tracking category"
    ) in out
    assert "0 created, 21 already in Xero, 1 refused." in out


def test_preflight_problems_is_quiet_for_bills_the_organisation_takes(sandbox):
    from common import make_bill, make_client

    client = make_client(sandbox)
    org = client.organisation()
    bills = [
        make_bill("A", lines=(("477", "Wages", "10.00"),), tracking=(("department", "sales"),)),
        make_bill("B", lines=(("475", "Old wages", "1.00"),), currency="USD"),
    ]
    refused = jobs.preflight_problems(
        bills,
        accounts=client.accounts(),
        currencies=org.currencies,
        tracking_categories=client.tracking_categories(),
    )
    assert list(refused) == ["B"]  # tracking names compare as Xero does, ignoring case
    (reason,) = refused["B"]
    assert reason.startswith(
        'line ITEM ("Old wages"): account 475 "Old Wages (archived)" is archived in Xero'
    )
