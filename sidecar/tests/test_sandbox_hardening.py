"""The sandbox is a local test double (issue 10, item 13): loopback only unless told, admin endpoints
that no web page can drive, registered redirect URIs only, PKCE, and unreadable requests answered 400."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from payroll_xero.sandbox import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID, Sandbox, serve
from payroll_xero.sandbox.server import RemoteBindRefused

SCOPE = "offline_access accounting.invoices accounting.settings.read"
LOOPBACK = "http://127.0.0.1:8069/hr_payroll_xero/oauth/callback"
REMOTE = "https://erp.example.com/hr_payroll_xero/oauth/callback"


def authorize_url(sandbox, redirect_uri=LOOPBACK, **extra):
    params = {
        "response_type": "code",
        "client_id": DEMO_CLIENT_ID,
        "redirect_uri": redirect_uri,
        "scope": SCOPE,
        "state": "st",
        **extra,
    }
    return f"{sandbox.url}/identity/connect/authorize?{urlencode(params)}"


def code_of(location):
    return parse_qs(urlsplit(location).query)["code"][0]


def exchange(sandbox, code, redirect_uri=LOOPBACK, **extra):
    return requests.post(
        f"{sandbox.url}/connect/token",
        auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, **extra},
        timeout=5,
    )


def raw_request(sandbox, data: bytes, timeout: float = 10) -> tuple[bytes, float]:
    """Send raw bytes, read until the server closes; the answer and how long it took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=timeout) as conn:
        conn.sendall(data)
        chunks = []
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks), time.monotonic() - started


# --------------------------------------------------------------------------- local only


@pytest.mark.parametrize("host", ["0.0.0.0", ""])  # noqa: S104 - what is refused
def test_sandbox_refuses_to_listen_beyond_loopback_unless_allowed(host):
    with pytest.raises(RemoteBindRefused, match="loopback"):
        Sandbox(host=host).start()
    allowed = Sandbox(host=host, allow_remote=True).start()
    try:
        assert requests.get(f"{allowed.url}/", timeout=5).status_code == 200
    finally:
        allowed.stop()


def test_serve_refuses_a_remote_address_without_allow_remote(capsys, monkeypatch):
    monkeypatch.delenv("PAYROLL_XERO_SANDBOX_ALLOW_REMOTE", raising=False)
    assert serve(host="0.0.0.0", port=0, allow_remote=False) == 1  # noqa: S104
    assert "loopback" in capsys.readouterr().err


def test_the_package_says_it_is_local_only():
    import payroll_xero.sandbox as package

    assert "local" in package.__doc__.lower() and "--allow-remote" in package.__doc__


# --------------------------------------------------------------------------- admin endpoints


def test_admin_post_of_text_plain_or_a_form_is_refused_and_changes_nothing(sandbox):
    admin = f"{sandbox.url}/_sandbox"
    body = json.dumps({"tenant_id": DEMO_TENANT_ID, "code": "477"})
    plain = requests.post(
        f"{admin}/archive_account", data=body, headers={"Content-Type": "text/plain"}, timeout=5
    )
    form = requests.post(
        f"{admin}/archive_account", data={"tenant_id": DEMO_TENANT_ID, "code": "477"}, timeout=5
    )
    bare = requests.post(f"{admin}/reset", timeout=5)
    assert [plain.status_code, form.status_code, bare.status_code] == [415, 415, 415]
    assert "application/json" in plain.json()["error"]
    accounts = {a["Code"]: a["Status"] for a in sandbox.state()["organisations"][0]["Accounts"]}
    assert accounts["477"] == "ACTIVE"


def test_admin_request_from_another_site_is_refused_even_as_json(sandbox):
    admin = f"{sandbox.url}/_sandbox"
    foreign = requests.post(
        f"{admin}/faults",
        json={"kind": "fail", "n": 1},
        headers={"Origin": "https://evil.example"},
        timeout=5,
    )
    null = requests.post(f"{admin}/reset", json={}, headers={"Origin": "null"}, timeout=5)
    own = requests.post(
        f"{admin}/faults", json={"kind": "fail", "n": 1}, headers={"Origin": sandbox.url}, timeout=5
    )
    assert foreign.status_code == 403 and "another site" in foreign.json()["error"]
    assert null.status_code == 403
    assert own.status_code == 200 and len(sandbox.faults.pending()) == 1


def test_admin_request_through_a_foreign_host_name_is_refused(sandbox):
    """DNS rebinding: a page of evil.example whose name now points at 127.0.0.1 is same-origin for the browser."""
    rebound = requests.post(
        f"{sandbox.url}/_sandbox/reset",
        json={},
        headers={"Host": f"evil.example:{sandbox.port}", "Origin": f"http://evil.example:{sandbox.port}"},
        timeout=5,
    )
    read = requests.get(f"{sandbox.url}/_sandbox/state", headers={"Host": "evil.example"}, timeout=5)
    assert rebound.status_code == 403 and read.status_code == 403
    localhost = requests.get(
        f"{sandbox.url}/_sandbox/state", headers={"Host": f"localhost:{sandbox.port}"}, timeout=5
    )
    assert localhost.status_code == 200


# --------------------------------------------------------------------------- redirect URIs


def test_unregistered_redirect_uri_is_refused_at_authorize_until_registered(sandbox):
    refused = requests.get(authorize_url(sandbox, REMOTE), timeout=5)
    posted = requests.post(
        f"{sandbox.url}/identity/connect/authorize",
        data={
            "response_type": "code",
            "client_id": DEMO_CLIENT_ID,
            "redirect_uri": REMOTE,
            "scope": SCOPE,
            "tenant": DEMO_TENANT_ID,
            "action": "allow",
        },
        allow_redirects=False,
        timeout=5,
    )
    assert refused.status_code == 400 and "is not registered for this app" in refused.text
    assert posted.status_code == 400 and "Location" not in posted.headers

    assert REMOTE in sandbox.register_redirect_uri(REMOTE)
    location = sandbox.approve(authorize_url(sandbox, REMOTE))
    assert location.startswith(REMOTE + "?")
    assert exchange(sandbox, code_of(location), REMOTE).status_code == 200
    sandbox.reset()  # a registration outlives a reset
    assert sandbox.approve(authorize_url(sandbox, REMOTE)).startswith(REMOTE + "?")


def test_redirect_uri_registered_through_the_admin_endpoint_or_at_start():
    with Sandbox(redirect_uris=[REMOTE]) as sandbox:
        assert sandbox.approve(authorize_url(sandbox, REMOTE)).startswith(REMOTE)
        other = "https://other.example/cb"
        answer = requests.post(
            f"{sandbox.url}/_sandbox/register_redirect_uri", json={"redirect_uri": other}, timeout=5
        )
        assert answer.status_code == 200 and other in answer.json()["result"]
        assert sandbox.approve(authorize_url(sandbox, other)).startswith(other)
        bad = requests.post(
            f"{sandbox.url}/_sandbox/register_redirect_uri", json={"redirect_uri": "javascript:x"}, timeout=5
        )
        assert bad.status_code == 400


def test_demo_app_accepts_any_loopback_redirect_uri(sandbox):
    for uri in (
        "http://localhost:8069/hr_payroll_xero/oauth/callback",
        "http://127.0.0.1/callback",
        "http://[::1]:8069/cb",
    ):
        assert sandbox.approve(authorize_url(sandbox, uri)).startswith(uri + "?")
    assert (
        requests.get(authorize_url(sandbox, "http://localhost.evil.example/cb"), timeout=5).status_code == 400
    )


def test_token_endpoint_refuses_a_redirect_uri_no_longer_registered(sandbox):
    sandbox.register_redirect_uri(REMOTE)
    code = code_of(sandbox.approve(authorize_url(sandbox, REMOTE)))
    identity = sandbox.app.identity
    client = identity.client(DEMO_CLIENT_ID)
    client["redirect_uris"] = []
    identity.store.put("client", "", DEMO_CLIENT_ID, client)
    answer = exchange(sandbox, code, REMOTE)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert "not registered" in answer.json()["error_description"]


# --------------------------------------------------------------------------- PKCE


def _pkce(verifier="v" * 43 + "-._~0123456789"):
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def test_code_issued_with_a_challenge_needs_the_matching_verifier(sandbox):
    verifier, challenge = _pkce()
    url = authorize_url(sandbox, code_challenge=challenge, code_challenge_method="S256")
    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and challenge in page.text  # carried by the consent form
    code = code_of(sandbox.approve(url))
    missing = exchange(sandbox, code)
    wrong = exchange(sandbox, code, code_verifier=_pkce("w" * 64)[0])
    right = exchange(sandbox, code, code_verifier=verifier)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_grant"
    assert "code_verifier is required" in missing.json()["error_description"]
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert right.status_code == 200 and right.json()["access_token"]


def test_code_issued_without_a_challenge_still_needs_no_verifier(sandbox):
    assert exchange(sandbox, code_of(sandbox.approve(authorize_url(sandbox)))).status_code == 200


def test_only_s256_challenges_are_accepted(sandbox):
    _verifier, challenge = _pkce()
    plain = requests.get(
        authorize_url(sandbox, code_challenge=challenge, code_challenge_method="plain"), timeout=5
    )
    no_method = requests.get(authorize_url(sandbox, code_challenge=challenge), timeout=5)
    short = requests.get(
        authorize_url(sandbox, code_challenge="abc", code_challenge_method="S256"), timeout=5
    )
    assert [plain.status_code, no_method.status_code, short.status_code] == [400, 400, 400]
    assert "S256" in plain.text


# --------------------------------------------------------------------------- unreadable requests


@pytest.mark.parametrize("length", [b"abc", b"-5", b"1e3", b"12, 12"])
def test_bad_content_length_is_answered_400(sandbox, length):
    answer, _took = raw_request(
        sandbox, b"POST /connect/token HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\nabc"
    )
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"Content-Length" in answer
    assert requests.get(f"{sandbox.url}/", timeout=5).status_code == 200  # still serving


def test_content_length_larger_than_the_body_is_answered_400_without_waiting_30s(sandbox):
    answer, took = raw_request(
        sandbox,
        b"POST /connect/token HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n\r\ngrant_type=refresh_token",
    )
    assert answer.startswith(b"HTTP/1.1 400 ") and b"shorter than its Content-Length" in answer
    assert took < 10


def test_content_length_beyond_the_body_limit_is_answered_413_without_reading(sandbox):
    answer, took = raw_request(
        sandbox, b"PUT /api.xro/2.0/Invoices HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n{}"
    )
    assert answer.startswith(b"HTTP/1.1 413 ") and took < 5
