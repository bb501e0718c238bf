"""Behind trusted proxies the lockout keys on the client's address, not the proxy's."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.test import RequestFactory
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.throttling import client_address
from tests.conftest import PASSWORD, make_user

ROOT = Path(__file__).resolve().parents[2]
PROXY = "10.0.0.5"
ATTACKER = "203.0.113.66"
HOME = "198.51.100.7"


@pytest.fixture(autouse=True)
def _one_window(time_machine):
    time_machine.move_to(datetime(2026, 6, 1, 12, 0, 1, tzinfo=UTC), tick=False)


@pytest.fixture
def eve(db):
    return make_user("eve", "employee")


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24", "2001:db8::/32"]


def token_via(forwarded_for: str | None, username: str, password: str, *, remote: str = PROXY):
    extra = {"REMOTE_ADDR": remote}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return APIClient(**extra).post("/api/v1/auth/token", {"username": username, "password": password}, format="json")


# --- Through the API --------------------------------------------------------------


@pytest.mark.django_db
def test_behind_a_trusted_proxy_one_client_does_not_lock_out_the_others(eve, behind_proxy):
    for _ in range(5):
        assert token_via(ATTACKER, "eve", "guess").status_code == 401
    assert token_via(ATTACKER, "eve", PASSWORD).status_code == 429
    assert token_via(HOME, "eve", PASSWORD).status_code == 201
    assert ApiToken.objects.filter(user=eve).count() == 1


@pytest.mark.django_db
def test_addresses_the_client_writes_itself_are_not_believed(eve, behind_proxy):
    # The client prepends a new address on every guess; the proxy appends the real one.
    for n in range(5):
        assert token_via(f"192.0.2.{n}, {ATTACKER}", "eve", "guess").status_code == 401
    assert token_via(f"{HOME}, {ATTACKER}", "eve", PASSWORD).status_code == 429
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_without_trusted_proxies_the_header_is_ignored(eve):
    # Nothing is trusted by default: a client cannot pick its own bucket.
    for n in range(5):
        assert token_via(f"192.0.2.{n}", "eve", "guess", remote=ATTACKER).status_code == 401
    assert token_via(HOME, "eve", PASSWORD, remote=ATTACKER).status_code == 429
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_a_malformed_header_from_a_trusted_proxy_is_keyed_on_the_proxy(eve, behind_proxy):
    for _ in range(5):
        assert token_via("not an address", "eve", "guess").status_code == 401
    # Those failures counted against the proxy's own address, not a made-up one...
    assert token_via("", "eve", PASSWORD).status_code == 429
    # ...and well-formed clients behind the proxy are unaffected.
    assert token_via(HOME, "eve", PASSWORD).status_code == 201


@pytest.mark.django_db
def test_the_portal_sign_in_keys_on_the_forwarded_address(eve, behind_proxy):
    attacker = APIClient(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=ATTACKER)
    for _ in range(5):
        assert attacker.post("/login", {"username": "eve", "password": "guess"}).status_code == 400
    assert attacker.post("/login", {"username": "eve", "password": PASSWORD}).status_code == 429
    home = APIClient(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=HOME)
    assert home.post("/login", {"username": "eve", "password": PASSWORD}).status_code == 302


# --- Which address is the client's --------------------------------------------------


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        (PROXY, ATTACKER, ATTACKER),
        (PROXY, f"{ATTACKER}, 10.0.0.9", ATTACKER),  # two proxies of ours
        (PROXY, f"192.0.2.1, {ATTACKER}", ATTACKER),  # what the client wrote is left of the real one
        (PROXY, f" {ATTACKER} ,10.0.0.9 ", ATTACKER),
        (PROXY, "2A00:1450::7, 2001:0db8::1", "2a00:1450::7"),  # canonical form, v6 proxy trusted
        (PROXY, "::ffff:203.0.113.66", ATTACKER),  # a mapped IPv4 address is that address
        (PROXY, "10.0.0.9, 10.0.0.8", PROXY),  # only our proxies: nobody else to believe
        (PROXY, None, PROXY),
        (PROXY, "", PROXY),
        (PROXY, "garbage", PROXY),
        (PROXY, f"{ATTACKER}, garbage", PROXY),  # a broken chain: believe nothing
        (PROXY, f"{ATTACKER}:443", PROXY),
        (PROXY, "unknown, , ", PROXY),
        (ATTACKER, "192.0.2.1", ATTACKER),  # not from a trusted proxy: the header is the client's
        ("10.0.1.5", ATTACKER, "10.0.1.5"),  # outside the trusted network
        ("", ATTACKER, "unknown"),
    ],
)
def test_client_address(behind_proxy, remote, forwarded, expected):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    assert client_address(RequestFactory().get("/", **meta)) == expected


def test_a_bad_trusted_proxy_stops_the_service_with_a_message_naming_it(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "VAR_DIR": str(tmp_path), "TRUSTED_PROXIES": "10.0.0.1, 10.0.0.300/24"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "TRUSTED_PROXIES: '10.0.0.300/24' is not an IP address or CIDR network" in result.stderr
