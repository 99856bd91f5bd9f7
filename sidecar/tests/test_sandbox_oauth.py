"""The sandbox's login and identity service, driven with ``requests`` like the project's OAuth module."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from freezegun import freeze_time

from payroll_xero.sandbox import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID, SECOND_TENANT_ID

REDIRECT = "http://127.0.0.1:8069/xero/callback"
SCOPE = "openid profile email offline_access accounting.invoices accounting.settings.read"
AUTH = (DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)


def authorize_url(sandbox, state="st-1", **overrides):
    params = {
        "response_type": "code",
        "client_id": DEMO_CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": SCOPE,
        "state": state,
        **overrides,
    }
    return f"{sandbox.url}/identity/connect/authorize?{urlencode(params)}"


def query_of(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def exchange(sandbox, code, redirect_uri=REDIRECT, auth=AUTH):
    return requests.post(
        f"{sandbox.url}/connect/token",
        auth=auth,
        timeout=5,
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
    )


def refresh(sandbox, refresh_token):
    return requests.post(
        f"{sandbox.url}/connect/token",
        auth=AUTH,
        timeout=5,
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
    )


def connect(sandbox, tenant_ids=None):
    code = query_of(sandbox.approve(authorize_url(sandbox), tenant_ids))["code"]
    response = exchange(sandbox, code)
    assert response.status_code == 200, response.text
    return response.json()


def jwt_payload(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def connections(sandbox, access_token, path="/connections", **params):
    return requests.get(
        f"{sandbox.url}{path}", params=params, timeout=5, headers={"Authorization": f"Bearer {access_token}"}
    )


def test_authorize_page_lists_organisations_and_redirect_echoes_state(sandbox):
    state = "a b/c+=&ü"
    page = requests.get(authorize_url(sandbox, state=state), timeout=5)
    assert page.status_code == 200
    assert "Harbour Payroll Demo Ltd" in page.text and "Kowloon Trading Ltd" in page.text
    assert 'type="checkbox"' in page.text

    location = sandbox.approve(authorize_url(sandbox, state=state))

    assert location.startswith(REDIRECT + "?")
    assert query_of(location)["state"] == state
    assert query_of(location)["code"]


def test_authorize_refuses_unknown_client_and_missing_parameters(sandbox):
    unknown = requests.get(authorize_url(sandbox, client_id="nobody"), timeout=5)
    missing = requests.get(
        f"{sandbox.url}/identity/connect/authorize",
        params={"response_type": "code", "client_id": DEMO_CLIENT_ID, "scope": SCOPE},
        timeout=5,
    )
    assert unknown.status_code == 400 and "Unknown client_id" in unknown.text
    assert missing.status_code == 400 and "redirect_uri" in missing.text


def test_user_who_cancels_is_sent_back_with_access_denied(sandbox):
    form = {
        "response_type": "code",
        "client_id": DEMO_CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": SCOPE,
        "state": "s-9",
        "action": "deny",
    }
    response = requests.post(
        f"{sandbox.url}/identity/connect/authorize", data=form, allow_redirects=False, timeout=5
    )
    assert response.status_code == 302
    assert query_of(response.headers["Location"]) == {"error": "access_denied", "state": "s-9"}


def test_consent_without_any_organisation_ticked_is_refused(sandbox):
    form = {
        "response_type": "code",
        "client_id": DEMO_CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": SCOPE,
        "action": "allow",
    }
    response = requests.post(
        f"{sandbox.url}/identity/connect/authorize", data=form, allow_redirects=False, timeout=5
    )
    assert response.status_code == 400
    assert "Select at least one organisation" in response.text


def test_code_exchange_returns_xero_like_tokens_and_code_is_single_use(sandbox):
    code = query_of(sandbox.approve(authorize_url(sandbox), [DEMO_TENANT_ID]))["code"]

    first = exchange(sandbox, code)
    second = exchange(sandbox, code)

    assert first.status_code == 200
    token = first.json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 1800
    assert token["scope"] == SCOPE and token["refresh_token"] and token["id_token"]
    payload = jwt_payload(token["access_token"])
    assert payload["client_id"] == DEMO_CLIENT_ID
    assert payload["scope"] == SCOPE.split()
    assert payload["xero_userid"] and payload["authentication_event_id"]
    assert payload["exp"] > datetime.now(timezone.utc).timestamp() + 1700
    assert second.status_code == 400 and second.json() == {"error": "invalid_grant"}


def test_code_needs_the_same_redirect_uri_and_expires_after_five_minutes(sandbox):
    with freeze_time(datetime.now(timezone.utc)) as frozen:
        code = query_of(sandbox.approve(authorize_url(sandbox)))["code"]
        wrong_uri = exchange(sandbox, code, redirect_uri="http://127.0.0.1:8069/other")
        late = query_of(sandbox.approve(authorize_url(sandbox)))["code"]
        frozen.tick(timedelta(minutes=5, seconds=1))
        expired = exchange(sandbox, late)
    assert wrong_uri.status_code == 400 and wrong_uri.json()["error"] == "invalid_grant"
    assert expired.status_code == 400 and expired.json()["error"] == "invalid_grant"


def test_client_authentication_by_basic_or_body_and_bad_secret_is_invalid_client(sandbox):
    bad = exchange(sandbox, "whatever", auth=(DEMO_CLIENT_ID, "wrong"))
    code = query_of(sandbox.approve(authorize_url(sandbox)))["code"]
    in_body = requests.post(
        f"{sandbox.url}/connect/token",
        timeout=5,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
        },
    )
    assert bad.status_code == 401 and bad.json() == {"error": "invalid_client"}
    assert in_body.status_code == 200 and in_body.json()["access_token"]


def test_refresh_rotates_and_the_previous_token_has_a_30_minute_grace(sandbox):
    with freeze_time(datetime.now(timezone.utc)) as frozen:
        first = connect(sandbox)
        rotated = refresh(sandbox, first["refresh_token"])
        assert rotated.status_code == 200
        new = rotated.json()
        assert new["refresh_token"] != first["refresh_token"]
        assert new["access_token"] != first["access_token"]

        frozen.tick(timedelta(minutes=29))
        within_grace = refresh(sandbox, first["refresh_token"])
        frozen.tick(timedelta(minutes=2))
        after_grace = refresh(sandbox, first["refresh_token"])
        newest = refresh(sandbox, new["refresh_token"])

    assert within_grace.status_code == 200 and within_grace.json()["access_token"]
    assert after_grace.status_code == 400 and after_grace.json() == {"error": "invalid_grant"}
    assert newest.status_code == 200


def test_refresh_tokens_expire_after_60_days(sandbox):
    with freeze_time(datetime.now(timezone.utc)) as frozen:
        token = connect(sandbox)
        frozen.tick(timedelta(days=60, seconds=1))
        response = refresh(sandbox, token["refresh_token"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_expire_helpers_make_tokens_unusable(sandbox):
    token = connect(sandbox)
    sandbox.expire_access_tokens()
    sandbox.expire_refresh_tokens()

    api = connections(sandbox, token["access_token"])
    again = refresh(sandbox, token["refresh_token"])

    assert api.status_code == 401 and api.json()["Detail"].startswith("TokenExpired: token expired at ")
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_revocation_ends_the_refresh_token_and_its_access_tokens(sandbox):
    token = connect(sandbox)
    response = requests.post(
        f"{sandbox.url}/connect/revocation", auth=AUTH, data={"token": token["refresh_token"]}, timeout=5
    )
    assert response.status_code == 200
    assert refresh(sandbox, token["refresh_token"]).json() == {"error": "invalid_grant"}
    assert connections(sandbox, token["access_token"]).status_code == 401


def test_connections_are_narrowed_by_auth_event_id(sandbox):
    first = connect(sandbox, [DEMO_TENANT_ID])
    second = connect(sandbox, [SECOND_TENANT_ID])
    event = jwt_payload(second["access_token"])["authentication_event_id"]

    everything = connections(sandbox, second["access_token"]).json()
    narrowed = connections(sandbox, second["access_token"], path="/Connections", authEventId=event).json()

    assert {c["tenantId"] for c in everything} == {DEMO_TENANT_ID, SECOND_TENANT_ID}
    assert [c["tenantId"] for c in narrowed] == [SECOND_TENANT_ID]
    assert narrowed[0]["tenantName"] == "Kowloon Trading Ltd"
    assert narrowed[0]["tenantType"] == "ORGANISATION" and narrowed[0]["authEventId"] == event
    assert jwt_payload(first["access_token"])["authentication_event_id"] != event


def test_deleting_a_connection_takes_away_the_organisation(sandbox):
    token = connect(sandbox)
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    (demo,) = [
        c for c in connections(sandbox, token["access_token"]).json() if c["tenantId"] == DEMO_TENANT_ID
    ]
    before = requests.get(
        f"{sandbox.url}/api.xro/2.0/Organisation",
        timeout=5,
        headers={**headers, "xero-tenant-id": DEMO_TENANT_ID},
    )

    deleted = requests.delete(f"{sandbox.url}/connections/{demo['id']}", headers=headers, timeout=5)
    after = requests.get(
        f"{sandbox.url}/api.xro/2.0/Organisation",
        timeout=5,
        headers={**headers, "xero-tenant-id": DEMO_TENANT_ID},
    )

    assert before.status_code == 200
    assert deleted.status_code == 204
    assert after.status_code == 403
    assert [c["tenantId"] for c in connections(sandbox, token["access_token"]).json()] == [SECOND_TENANT_ID]


def test_api_without_token_is_401_and_unconnected_tenant_is_403(sandbox):
    token = connect(sandbox, [SECOND_TENANT_ID])
    anonymous = requests.get(
        f"{sandbox.url}/api.xro/2.0/Organisation", timeout=5, headers={"xero-tenant-id": DEMO_TENANT_ID}
    )
    forged = requests.get(
        f"{sandbox.url}/api.xro/2.0/Organisation",
        timeout=5,
        headers={"Authorization": "Bearer a.b.c", "xero-tenant-id": DEMO_TENANT_ID},
    )
    other = requests.get(
        f"{sandbox.url}/api.xro/2.0/Organisation",
        timeout=5,
        headers={"Authorization": f"Bearer {token['access_token']}", "xero-tenant-id": DEMO_TENANT_ID},
    )
    assert anonymous.status_code == 401 and anonymous.json()["Title"] == "Unauthorized"
    assert forged.status_code == 401
    assert other.status_code == 403
