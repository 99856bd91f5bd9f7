"""The connect / push / demo commands, against the sandbox."""

from __future__ import annotations

import io
import re
import stat
from pathlib import Path

import pytest
from common import REDIRECT_URI, consent, endpoints

from payroll_xero import jobs
from payroll_xero.cli import build_parser
from payroll_xero.sandbox import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID, SECOND_TENANT_ID

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def env(sandbox, monkeypatch, tmp_path):
    monkeypatch.setenv("XERO_CLIENT_ID", DEMO_CLIENT_ID)
    monkeypatch.setenv("XERO_CLIENT_SECRET", DEMO_CLIENT_SECRET)
    monkeypatch.setenv("XERO_API_URL", sandbox.url)
    monkeypatch.delenv("XERO_TENANT_ID", raising=False)
    monkeypatch.setenv("XERO_TOKEN_FILE", str(tmp_path / "token.json"))
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
