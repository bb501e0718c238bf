"""Signing in: portal login, API tokens, rate limiting, logout."""

import pytest

from accounts.models import ApiToken
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_it_issues_a_token_that_authenticates_api_calls(api, alice):
    response = api.post("/api/v1/auth/token", {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 201
    token = response.json()["token"]
    assert ApiToken.objects.filter(user=alice).count() == 1
    assert not ApiToken.objects.filter(digest=token).exists(), "only the hash is stored"

    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = api.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json() == {
        "username": "alice",
        "email": "alice@example.com",
        "department": "Engineering",
        "roles": ["employee"],
        "is_active": True,
    }


def test_it_rejects_wrong_credentials_with_json(api, alice):
    response = api.post("/api/v1/auth/token", {"username": "alice", "password": "nope"}, format="json")
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_credentials", "detail": "The username or password is not correct."}


def test_it_rejects_a_forged_token(api, alice):
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = api.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"] == "authentication_failed"


def test_it_rejects_malformed_json(api):
    response = api.post("/api/v1/auth/token", data=b"{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "malformed_request"


def test_it_names_missing_fields(api):
    response = api.post("/api/v1/auth/token", {"username": "alice"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid"
    assert "password" in body["detail"]


def test_me_requires_authentication(api):
    response = api.get("/api/v1/me")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["error"] == "not_authenticated"


def test_unknown_api_path_is_a_json_404(api):
    response = api.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_api_login_is_rate_limited_per_account(api, alice, settings):
    settings.LOGIN_RATE_LIMIT_PER_ACCOUNT = 3
    for _ in range(3):
        assert api.post("/api/v1/auth/token", {"username": "alice", "password": "x"}, format="json").status_code == 401
    # Even the right password is refused while the account is locked out.
    blocked = api.post("/api/v1/auth/token", {"username": "alice", "password": PASSWORD}, format="json")
    assert blocked.status_code == 429
    assert blocked.json()["error"] == "rate_limited"
    assert int(blocked["Retry-After"]) > 0


def test_login_is_rate_limited_per_address_across_accounts(api, alice, bob, settings):
    settings.LOGIN_RATE_LIMIT_PER_ADDRESS = 4
    for name in ["alice", "bob", "carol", "dave"]:
        api.post("/api/v1/auth/token", {"username": name, "password": "x"}, format="json")
    blocked = api.post("/api/v1/auth/token", {"username": "bob", "password": PASSWORD}, format="json")
    assert blocked.status_code == 429


def test_portal_login_and_logout(client, alice):
    page = client.get("/login")
    assert page.status_code == 200 and b"Sign in" in page.content
    response = client.post("/login", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/api/v1/me").json()["username"] == "alice"
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/api/v1/me").status_code == 401


def test_portal_login_shows_an_error_and_locks_out(client, alice, settings):
    settings.LOGIN_RATE_LIMIT_PER_ACCOUNT = 2
    first = client.post("/login", {"username": "alice", "password": "wrong"})
    assert first.status_code == 400
    assert b"correct username and password" in first.content
    client.post("/login", {"username": "alice", "password": "wrong"})
    locked = client.post("/login", {"username": "alice", "password": PASSWORD})
    assert locked.status_code == 429
    assert b"Too many failed sign-in attempts" in locked.content
