"""OAuth against the sandbox's identity server, over real HTTP."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from common import REDIRECT_URI, consent, endpoints
from freezegun import freeze_time

from payroll_xero import oauth
from payroll_xero.errors import AuthorizationFailed, BadCredentials, RateLimited, ReconnectNeeded
from payroll_xero.oauth import Token, XeroEndpoints
from payroll_xero.sandbox import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID, SECOND_TENANT_ID


def _refresh(sandbox, token, save=lambda t: None, secret=DEMO_CLIENT_SECRET, **kw):
    return oauth.refresh(DEMO_CLIENT_ID, secret, token, save, endpoints=endpoints(sandbox), **kw)


def test_default_endpoints_are_xeros_hosts_and_paths():
    ends = XeroEndpoints()
    assert ends.authorize_url == "https://login.xero.com/identity/connect/authorize"
    assert ends.token_url == "https://identity.xero.com/connect/token"
    assert ends.revocation_url == "https://identity.xero.com/connect/revocation"
    assert ends.connections_url == "https://api.xero.com/connections"
    assert ends.accounting_url == "https://api.xero.com/api.xro/2.0"


def test_endpoints_from_env_with_only_api_url_point_everything_at_the_sandbox():
    ends = XeroEndpoints.from_env({"XERO_API_URL": "http://127.0.0.1:9999/"})
    assert ends == XeroEndpoints.single("http://127.0.0.1:9999")


def test_authorization_url_carries_client_redirect_scopes_and_state():
    url = oauth.authorization_url("cid", "https://example.com/cb", "st4te", endpoints=XeroEndpoints())
    query = parse_qs(urlsplit(url).query)
    assert url.startswith("https://login.xero.com/identity/connect/authorize?")
    assert query["response_type"] == ["code"]
    assert query["client_id"] == ["cid"]
    assert query["redirect_uri"] == ["https://example.com/cb"]
    assert query["state"] == ["st4te"]
    assert query["scope"][0].split() == list(oauth.DEFAULT_SCOPES)
    assert "accounting.transactions" not in query["scope"][0]


def test_new_state_is_unguessable_and_different_each_time():
    states = {oauth.new_state() for _ in range(50)}
    assert len(states) == 50
    assert all(len(s) >= 40 for s in states)


def test_redirect_with_a_foreign_state_is_refused(sandbox):
    ends = endpoints(sandbox)
    url = oauth.authorization_url(DEMO_CLIENT_ID, REDIRECT_URI, "the-state-we-sent", endpoints=ends)
    redirected = sandbox.approve(url)
    assert oauth.code_from_redirect(redirected, "the-state-we-sent")
    with pytest.raises(AuthorizationFailed, match="state"):
        oauth.code_from_redirect(redirected, "another-attempts-state")


def test_redirect_reporting_access_denied_raises_authorization_failed():
    with pytest.raises(AuthorizationFailed, match="cancelled"):
        oauth.code_from_redirect("https://example.com/cb?error=access_denied&state=s", "s")


def test_round_trip_gives_a_token_whose_consent_lists_only_the_picked_organisations(sandbox):
    token = consent(sandbox, tenant_ids=[DEMO_TENANT_ID, SECOND_TENANT_ID])
    assert token.refresh_token and token.access_token
    assert "offline_access" in token.scopes
    assert token.auth_event_id
    assert not token.expires_within(60)
    picked = oauth.list_connections(token, token.auth_event_id, endpoints=endpoints(sandbox))
    assert {t.tenant_id for t in picked} == {DEMO_TENANT_ID, SECOND_TENANT_ID}
    assert all(t.tenant_name and t.connection_id and t.auth_event_id == token.auth_event_id for t in picked)

    second = consent(sandbox, tenant_ids=[SECOND_TENANT_ID])
    only = oauth.list_connections(second, second.auth_event_id, endpoints=endpoints(sandbox))
    assert [t.tenant_id for t in only] == [SECOND_TENANT_ID]


def test_code_can_be_exchanged_only_once(sandbox):
    ends = endpoints(sandbox)
    state = oauth.new_state()
    redirected = sandbox.approve(oauth.authorization_url(DEMO_CLIENT_ID, REDIRECT_URI, state, endpoints=ends))
    code = oauth.code_from_redirect(redirected, state)
    oauth.exchange_code(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, code, REDIRECT_URI, endpoints=ends)
    with pytest.raises(ReconnectNeeded):
        oauth.exchange_code(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, code, REDIRECT_URI, endpoints=ends)


def test_refresh_rotates_and_saves_the_new_token_before_returning_it(sandbox):
    token = consent(sandbox)
    saved: list[Token] = []
    new = _refresh(sandbox, token, saved.append)
    assert saved == [new]
    assert new.refresh_token != token.refresh_token
    assert new.access_token != token.access_token
    # The new token works at once.
    assert oauth.list_connections(new, endpoints=endpoints(sandbox))


def test_failing_save_stops_refresh_and_the_old_refresh_token_still_works_in_the_grace_period(sandbox):
    token = consent(sandbox)

    def broken_save(_token: Token) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError):
        _refresh(sandbox, token, broken_save)
    # The rotated token was lost, but Xero keeps the previous one usable for 30 minutes.
    saved: list[Token] = []
    again = _refresh(sandbox, token, saved.append)
    assert saved == [again]


def test_expired_refresh_token_raises_reconnect_needed(sandbox):
    token = consent(sandbox)
    sandbox.expire_refresh_tokens()
    with pytest.raises(ReconnectNeeded) as info:
        _refresh(sandbox, token)
    assert token.refresh_token not in str(info.value)
    assert "connect to Xero again" in str(info.value)
    assert not info.value.retryable  # a person connects again first


def test_revoked_token_cannot_be_refreshed(sandbox):
    token = consent(sandbox)
    oauth.revoke(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, token, endpoints=endpoints(sandbox))
    with pytest.raises(ReconnectNeeded):
        _refresh(sandbox, token)


def test_wrong_client_secret_raises_bad_credentials_without_the_secret(sandbox):
    token = consent(sandbox)
    with pytest.raises(BadCredentials) as info:
        _refresh(sandbox, token, secret="not-the-secret")
    assert "not-the-secret" not in str(info.value)


def test_token_survives_storage_and_hides_secrets_in_repr():
    token = Token(
        "a.eyJhdXRoZW50aWNhdGlvbl9ldmVudF9pZCI6ImV2LTEifQ.s", "r-secret", datetime.now(timezone.utc)
    )
    assert Token.from_dict(token.to_dict()) == token
    assert token.auth_event_id == "ev-1"
    assert "r-secret" not in repr(token) and "eyJ" not in repr(token)


def test_token_without_aware_expiry_is_refused():
    with pytest.raises(ValueError):
        Token("a", "r", datetime(2026, 1, 1))


def test_expires_within_counts_from_now():
    with freeze_time("2026-10-31 12:00:00"):
        token = Token.from_response({"access_token": "a", "refresh_token": "r", "expires_in": 1800})
        assert token.expires_at == datetime(2026, 10, 31, 12, 30, tzinfo=timezone.utc)
        assert not token.expires_within(60)
    with freeze_time("2026-10-31 12:29:30"):
        assert token.expires_within(60)
    assert token.expires_within(0, now=token.expires_at + timedelta(seconds=1))


# --------------------------------------------------------------------------- PKCE


def test_new_pkce_gives_an_rfc7636_verifier_and_its_s256_challenge():
    pairs = [oauth.new_pkce() for _ in range(20)]
    assert len({verifier for verifier, _c in pairs}) == 20
    for verifier, challenge in pairs:
        assert 43 <= len(verifier) <= 128 and re.fullmatch(r"[A-Za-z0-9._~-]+", verifier)
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        assert challenge == base64.urlsafe_b64encode(digest).decode().rstrip("=")
        assert "=" not in challenge and len(challenge) == 43


def test_authorization_url_asks_for_s256_only_with_a_challenge():
    plain = parse_qs(urlsplit(oauth.authorization_url("cid", "https://example.com/cb", "st")).query)
    url = oauth.authorization_url("cid", "https://example.com/cb", "st", code_challenge="abc")
    query = parse_qs(urlsplit(url).query)
    assert "code_challenge" not in plain and "code_challenge_method" not in plain
    assert query["code_challenge"] == ["abc"] and query["code_challenge_method"] == ["S256"]


def test_pkce_round_trip_needs_the_verifier(sandbox):
    ends = endpoints(sandbox)

    def code_with_challenge():
        verifier, challenge = oauth.new_pkce()
        state = oauth.new_state()
        url = oauth.authorization_url(
            DEMO_CLIENT_ID, REDIRECT_URI, state, endpoints=ends, code_challenge=challenge
        )
        return verifier, oauth.code_from_redirect(sandbox.approve(url), state)

    verifier, code = code_with_challenge()
    token = oauth.exchange_code(
        DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, code, REDIRECT_URI, endpoints=ends, code_verifier=verifier
    )
    assert oauth.list_connections(token, endpoints=ends)
    _verifier, code = code_with_challenge()
    with pytest.raises(ReconnectNeeded):
        oauth.exchange_code(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, code, REDIRECT_URI, endpoints=ends)


# --------------------------------------------------------------------------- token endpoint limits


def _token_calls(sandbox):
    return [c[2] for c in sandbox.calls if c[1] == "/connect/token"]


def test_short_429_from_the_token_endpoint_is_waited_through_once(sandbox):
    token = consent(sandbox)
    sandbox.faults.rate_limit_next(1, retry_after=7, path="/connect/token")
    sleeps: list[float] = []
    new = _refresh(sandbox, token, sleep=sleeps.append)
    assert new.access_token != token.access_token
    assert sleeps == [7]
    assert _token_calls(sandbox)[-2:] == [429, 200]


def test_long_429_from_the_token_endpoint_says_it_is_the_token_endpoint_limit(sandbox):
    token = consent(sandbox)
    sandbox.faults.rate_limit_next(1, retry_after=3600, path="/connect/token")
    sleeps: list[float] = []
    before = datetime.now(timezone.utc)
    with pytest.raises(RateLimited) as info:
        _refresh(sandbox, token, sleep=sleeps.append)
    message = str(info.value)
    assert "token endpoint" in message and "organisation minute rate limit" not in message
    assert "not an organisation's" in message
    assert before + timedelta(seconds=3590) <= info.value.retry_at <= before + timedelta(seconds=3700)
    assert info.value.retryable and 3500 <= info.value.retry_after <= 3600
    assert sleeps == [] and _token_calls(sandbox)[-1] == 429


def test_429_again_after_the_wait_raises_rate_limited(sandbox):
    token = consent(sandbox)
    sandbox.faults.rate_limit_next(2, retry_after=5, path="/connect/token")
    sleeps: list[float] = []
    with pytest.raises(RateLimited, match="token endpoint"):
        _refresh(sandbox, token, sleep=sleeps.append)
    assert sleeps == [5] and _token_calls(sandbox)[-2:] == [429, 429]


def test_code_exchange_429_is_the_token_endpoint_limit_too(sandbox):
    ends = endpoints(sandbox)
    state = oauth.new_state()
    code = oauth.code_from_redirect(
        sandbox.approve(oauth.authorization_url(DEMO_CLIENT_ID, REDIRECT_URI, state, endpoints=ends)), state
    )
    sandbox.faults.rate_limit_next(1, retry_after=120, path="/connect/token")
    with pytest.raises(RateLimited, match="token endpoint"):
        oauth.exchange_code(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, code, REDIRECT_URI, endpoints=ends)
