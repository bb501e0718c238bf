"""One sign-in path, locked per username and address, that keeps working while Redis is down."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.models import ApiToken
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.66"
HOME = "198.51.100.7"  # eve's own address
# A cache whose Redis is not there: port 1 refuses at once, so the tests run
# on SQLite and on PostgreSQL + Redis alike, without waiting on a timeout.
REDIS_DOWN = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}


@pytest.fixture(autouse=True)
def _one_window(time_machine):
    """Failures are counted per fixed window: keep every test inside one."""
    time_machine.move_to(datetime(2026, 6, 1, 12, 0, 1, tzinfo=UTC), tick=False)


@pytest.fixture
def eve(db):
    return make_user("eve", "employee")


def token_from(address: str, username: str, password: str):
    return APIClient(REMOTE_ADDR=address).post(
        "/api/v1/auth/token", {"username": username, "password": password}, format="json"
    )


def signed_in_as(client) -> str | None:
    me = client.get("/api/v1/me")
    return me.json()["username"] if me.status_code == 200 else None


# --- 1. The Django admin signs in through the portal only -------------------------


def test_the_admin_login_page_sends_to_the_portal_sign_in(client):
    response = client.get("/django-admin/login/?next=/django-admin/accounts/user/")
    assert response.status_code == 302
    assert response["Location"] == "/login?next=%2Fdjango-admin%2Faccounts%2Fuser%2F"


def test_the_admin_login_accepts_no_credentials(client, adam, settings):
    settings.LOGIN_RATE_LIMIT_PER_ACCOUNT = 2
    for _ in range(5):  # guesses there are neither checked nor answered
        wrong = client.post("/django-admin/login/", {"username": "adam", "password": "guess"})
        assert wrong.status_code == 302 and wrong["Location"] == "/login?next=%2Fdjango-admin%2F"
    right = client.post("/django-admin/login/?next=/django-admin/", {"username": "adam", "password": PASSWORD})
    assert right.status_code == 302 and right["Location"] == "/login?next=%2Fdjango-admin%2F"
    assert signed_in_as(client) is None
    assert client.get("/django-admin/").status_code == 302


def test_guesses_through_the_admin_path_end_in_the_portal_lockout(client, adam, settings):
    settings.LOGIN_RATE_LIMIT_PER_ACCOUNT = 2
    for _ in range(2):
        landing = client.post("/django-admin/login/", {"username": "adam", "password": "guess"}, follow=True)
        # The admin path only leads to the portal's page; guessing there counts.
        assert landing.redirect_chain == [("/login?next=%2Fdjango-admin%2F", 302)]
        assert client.post("/login", {"username": "adam", "password": "guess"}).status_code == 400
    locked = client.post("/login?next=/django-admin/", {"username": "adam", "password": PASSWORD})
    assert locked.status_code == 429
    assert signed_in_as(client) is None


def test_an_admin_signs_in_through_the_portal_and_lands_in_the_admin(client, adam):
    first = client.get("/django-admin/", follow=True)
    assert first.redirect_chain == [
        ("/django-admin/login/?next=/django-admin/", 302),
        ("/login?next=%2Fdjango-admin%2F", 302),
    ]
    signed_in = client.post("/login", {"username": "adam", "password": PASSWORD, "next": "/django-admin/"})
    assert signed_in.status_code == 302 and signed_in["Location"] == "/django-admin/"
    assert client.get("/django-admin/").status_code == 200
    # Signed in, the admin's login URL goes straight on to where it was asked to.
    again = client.get("/django-admin/login/?next=/django-admin/accounts/user/")
    assert again.status_code == 302 and again["Location"] == "/django-admin/accounts/user/"


def test_a_signed_in_non_admin_is_refused_instead_of_looping(client, alice):
    client.force_login(alice)
    response = client.get("/django-admin/login/?next=/django-admin/")
    assert response.status_code == 403
    assert client.get("/django-admin/", follow=True).status_code == 403


def test_the_admin_login_does_not_forward_to_another_site(client):
    response = client.get("/django-admin/login/?next=https://evil.example/")
    assert response.status_code == 302 and response["Location"] == "/login?next=%2Fdjango-admin%2F"


# --- 3. The lock is on the (username, address) pair ---------------------------------


def test_failures_from_another_address_do_not_lock_the_owner_out(eve):
    for _ in range(5):
        assert token_from(ATTACKER, "eve", "guess").status_code == 401
    # The attacker's address stays blocked for eve, even with her password...
    blocked = token_from(ATTACKER, "eve", PASSWORD)
    assert blocked.status_code == 429 and blocked.json()["error"] == "rate_limited"
    assert int(blocked["Retry-After"]) > 0
    assert not ApiToken.objects.exists()
    # ...while eve signs in from her own address, by API and in the portal.
    assert token_from(HOME, "eve", PASSWORD).status_code == 201
    portal = APIClient(REMOTE_ADDR=HOME)
    assert portal.post("/login", {"username": "eve", "password": PASSWORD}).status_code == 302
    assert signed_in_as(portal) == "eve"
    assert ApiToken.objects.filter(user=eve).count() == 1


def test_the_username_is_locked_in_any_spelling_from_that_address(eve):
    for spelling in ["eve", "EVE", " Eve", "eve ", "eVe"]:
        assert token_from(ATTACKER, spelling, "guess").status_code == 401
    assert token_from(ATTACKER, "eve", PASSWORD).status_code == 429


def test_portal_failures_lock_the_pair_and_not_the_account(eve):
    attacker = APIClient(REMOTE_ADDR=ATTACKER)
    for _ in range(5):
        assert attacker.post("/login", {"username": "eve", "password": "guess"}).status_code == 400
    locked = attacker.post("/login", {"username": "eve", "password": PASSWORD})
    assert locked.status_code == 429 and b"Too many failed sign-in attempts" in locked.content
    assert signed_in_as(attacker) is None
    home = APIClient(REMOTE_ADDR=HOME)
    assert home.post("/login", {"username": "eve", "password": PASSWORD}).status_code == 302
    assert signed_in_as(home) == "eve"


def test_one_address_trying_many_usernames_is_blocked_for_all_of_them(eve, settings):
    settings.LOGIN_RATE_LIMIT_PER_ADDRESS = 4
    for name in ["alice", "bob", "carol", "dave"]:
        assert token_from(ATTACKER, name, "guess").status_code == 401
    assert token_from(ATTACKER, "eve", PASSWORD).status_code == 429
    assert token_from(HOME, "eve", PASSWORD).status_code == 201


def test_the_account_ceiling_stops_guessing_spread_over_many_addresses(eve, settings):
    settings.LOGIN_RATE_LIMIT_ACCOUNT_CEILING = 6
    for n in range(3):  # two guesses from each of three addresses: under the pair limit everywhere
        for _ in range(2):
            assert token_from(f"203.0.113.{n + 1}", "eve", "guess").status_code == 401
    blocked = token_from(HOME, "eve", PASSWORD)
    assert blocked.status_code == 429 and blocked.json()["error"] == "rate_limited"
    assert not ApiToken.objects.exists()


def test_the_ceiling_is_far_above_the_pair_limit_by_default(settings):
    # Locking an owner out everywhere takes failures from this many addresses.
    assert settings.LOGIN_RATE_LIMIT_ACCOUNT_CEILING // settings.LOGIN_RATE_LIMIT_PER_ACCOUNT >= 20


def test_the_lock_lifts_with_the_next_window(eve, time_machine):
    for _ in range(5):
        token_from(ATTACKER, "eve", "guess")
    assert token_from(ATTACKER, "eve", PASSWORD).status_code == 429
    time_machine.shift(900)
    assert token_from(ATTACKER, "eve", PASSWORD).status_code == 201


# --- 4. Redis down: sign-in degrades, it does not fail -------------------------------


def limiter_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "accounts.throttling" and r.levelno == logging.WARNING]


@pytest.fixture
def redis_down():
    with override_settings(CACHES=REDIS_DOWN):
        yield


def test_the_portal_signs_in_and_keeps_the_session_while_redis_is_down(eve, redis_down, caplog):
    client = APIClient(REMOTE_ADDR=HOME)
    page = client.get("/login")
    assert page.status_code == 200 and b"Sign in" in page.content
    with caplog.at_level(logging.WARNING, logger="accounts.throttling"):
        response = client.post("/login", {"username": "eve", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    # The session lives in the database, not the cache.
    assert signed_in_as(client) == "eve"
    assert client.get("/").status_code == 302
    assert limiter_warnings(caplog) == ["sign-in rate limit not checked, the cache is unavailable; attempt allowed"]
    assert client.post("/logout").status_code == 302
    assert signed_in_as(client) is None


def test_a_wrong_password_is_still_refused_while_redis_is_down(eve, redis_down, caplog):
    with caplog.at_level(logging.WARNING, logger="accounts.throttling"):
        portal = APIClient(REMOTE_ADDR=HOME).post("/login", {"username": "eve", "password": "guess"})
        api = token_from(HOME, "eve", "guess")
    assert portal.status_code == 400 and b"correct username and password" in portal.content
    assert api.status_code == 401
    assert api.json() == {"error": "invalid_credentials", "detail": "The username or password is not correct."}
    assert not ApiToken.objects.exists()
    # One warning for the check and one for the failure it could not count, per attempt.
    assert (
        limiter_warnings(caplog)
        == [
            "sign-in rate limit not checked, the cache is unavailable; attempt allowed",
            "failed sign-in not counted, the cache is unavailable",
        ]
        * 2
    )


def test_the_api_issues_tokens_while_redis_is_down(eve, redis_down):
    response = token_from(HOME, "eve", PASSWORD)
    assert response.status_code == 201
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert api.get("/api/v1/me").json()["username"] == "eve"
    assert ApiToken.objects.filter(user=eve).count() == 1
