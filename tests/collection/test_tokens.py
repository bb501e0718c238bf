"""Collection tokens: issuance, the JWKS, verification by another JOSE library, rotation, and rejection."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet
from rest_framework.test import APIClient

from collection.models import Batch
from consent.services import consent_withdraw, subject_for_employee
from signing.keyring import Purpose, keyring
from tests.collection.conftest import T0, TS0, batch, ev, fetch_token, upload

pytestmark = pytest.mark.django_db


def test_token_has_the_specified_header_claims_and_policy(device, subject, settings):
    response = fetch_token(device["device_secret"])
    assert response.status_code == 201
    body = response.json()
    header = jwt.get_unverified_header(body["token"])
    assert header == {"alg": "EdDSA", "typ": "capture+jwt", "kid": keyring(Purpose.COLLECTION).current().kid}
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    state = subject.state
    assert claims == {
        "iss": settings.SERVICE_ORIGIN,
        "aud": "collection",
        "sub": subject.pseudonym,
        "iat": int(TS0),
        "nbf": int(TS0),
        "exp": int(TS0) + 600,
        "jti": claims["jti"],
        "dev": device["device_id"],
        "cid": str(state.last_event_id),
        "cep": state.epoch,
        "scope": ["app_focus", "clicks", "keystroke_timing", "keystrokes", "mouse"],
        "apps": ["com.microsoft.VSCode", "org.mozilla.firefox"],
    }
    uuid.UUID(claims["jti"])
    assert "alice" not in json.dumps(claims)
    assert body["expires_at"] == "2026-06-01T12:10:00Z"
    assert body["policy"] == {"categories": claims["scope"], "apps": claims["apps"]}


@pytest.mark.filterwarnings("ignore:EdDSA is deprecated")
def test_another_jose_library_verifies_our_token_with_only_the_jwks(device, client, settings):
    token = fetch_token(device["device_secret"]).json()["token"]
    key_set = KeySet.import_key_set(client.get("/.well-known/jwks.json").json())
    decoded = jose_jwt.decode(token, key_set, algorithms=["EdDSA"])
    assert decoded.header["typ"] == "capture+jwt" and decoded.header["alg"] == "EdDSA"
    jose_jwt.JWTClaimsRegistry(
        now=int(TS0),
        iss={"essential": True, "value": settings.SERVICE_ORIGIN},
        aud={"essential": True, "value": "collection"},
    ).validate(decoded.claims)


def test_scope_is_the_granted_categories_on_allowed_apps(frozen, alice, notice, allowlist, enroll):
    from consent.services import consent_grant

    consent_grant(employee=alice, categories=["keystrokes", "mouse"], notice_version=1)
    body = fetch_token(enroll(alice)["device_secret"]).json()
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["scope"] == ["keystrokes", "mouse"]
    assert claims["apps"] == ["com.microsoft.VSCode", "org.mozilla.firefox"]  # the browser allows mouse


def test_token_lifetime_is_configurable_up_to_an_hour(device, settings):
    settings.COLLECTION_TOKEN_LIFETIME_SECONDS = 3600
    claims = jwt.decode(fetch_token(device["device_secret"]).json()["token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 3600


def test_no_token_without_active_consent(frozen, alice, notice, allowlist, enroll):
    secret = enroll(alice)["device_secret"]
    response = fetch_token(secret)
    assert response.status_code == 403 and response.json()["error"] == "consent_required"


def test_no_token_after_withdrawal(device, consenting):
    consent_withdraw(employee=consenting)
    response = fetch_token(device["device_secret"])
    assert response.status_code == 403 and response.json()["error"] == "consent_required"


@pytest.mark.parametrize("header", ["Device nonsense", "Device ", "Device a b", "Token abc", ""])
def test_bad_device_credentials_get_401(device, header):
    response = APIClient().post("/api/v1/collection/tokens", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401


def test_rotation_keeps_live_tokens_valid_and_publishes_both_keys(device, token, client, frozen):
    old_kid = jwt.get_unverified_header(token)["kid"]
    call_command("rotate_signing_key")
    new_token = fetch_token(device["device_secret"]).json()["token"]
    new_kid = jwt.get_unverified_header(new_token)["kid"]
    assert new_kid != old_kid
    kids = {k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]}
    assert {old_kid, new_kid} <= kids
    frozen.move_to(T0 + timedelta(minutes=5), tick=False)
    assert upload(token, batch([ev("mouse.move")])).status_code == 202
    assert upload(new_token, batch([ev("mouse.move")])).status_code == 202


# --- Rejected tokens -------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _resign(token: str, key=None, *, header: dict | None = None, **changes) -> str:
    """The token's claims, changed, signed by ``key`` (the real collection key by default)."""
    real = keyring(Purpose.COLLECTION).current()
    claims = {**_claims(token), **changes}
    head = {"kid": real.kid, "typ": "capture+jwt", **(header or {})}
    return jwt.encode(claims, key or real.private_key, algorithm="EdDSA", headers=head)


def _alg_none(token: str) -> str:
    head = {"alg": "none", "typ": "capture+jwt", "kid": keyring(Purpose.COLLECTION).current().kid}
    return f"{_b64(json.dumps(head).encode())}.{_b64(json.dumps(_claims(token)).encode())}."


def _hs256_confused(secret_of):
    """Classic confusion: HMAC keyed with the public key the verifier would use."""

    def make(token: str) -> str:
        real = keyring(Purpose.COLLECTION).current()
        head = {"alg": "HS256", "typ": "capture+jwt", "kid": real.kid}
        signing_input = f"{_b64(json.dumps(head).encode())}.{_b64(json.dumps(_claims(token)).encode())}"
        signature = hmac.new(secret_of(real), signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(signature)}"

    return make


def _without(claim: str):
    def make(token: str) -> str:
        real = keyring(Purpose.COLLECTION).current()
        claims = {k: v for k, v in _claims(token).items() if k != claim}
        return jwt.encode(claims, real.private_key, algorithm="EdDSA", headers={"kid": real.kid, "typ": "capture+jwt"})

    return make


def _forged(token: str) -> str:
    return _resign(token, Ed25519PrivateKey.generate())


def _tampered(token: str) -> str:
    head, payload, signature = token.split(".")
    claims = _claims(token)
    claims["apps"].append("com.evil.Keylogger")
    return f"{head}.{_b64(json.dumps(claims).encode())}.{signature}"


def _audit_key(token: str) -> str:
    audit = keyring(Purpose.AUDIT).current()
    return _resign(token, audit.private_key, header={"kid": audit.kid})


REJECTIONS = [
    ("missing", lambda t: None),
    ("garbage", lambda t: "not-a-token"),
    ("forged signature", _forged),
    ("tampered claims", _tampered),
    ("alg none", _alg_none),
    ("HS256 keyed with the raw public key", _hs256_confused(lambda key: key.public_bytes())),
    ("HS256 keyed with the JWK x value", _hs256_confused(lambda key: key.public_jwk()["x"].encode())),
    ("expired", lambda t: _resign(t, exp=int(TS0) - 120, iat=int(TS0) - 720, nbf=int(TS0) - 720)),
    ("not yet valid", lambda t: _resign(t, nbf=int(TS0) + 600)),
    ("another audience", lambda t: _resign(t, aud="audit")),
    ("another issuer", lambda t: _resign(t, iss="https://evil.example")),
    ("wrong typ", lambda t: _resign(t, header={"typ": "JWT"})),
    ("unknown kid", lambda t: _resign(t, header={"kid": "collection-unknown"})),
    ("key of another purpose", _audit_key),
    ("missing cep claim", _without("cep")),
    ("missing exp claim", _without("exp")),
    ("cep of the wrong type", lambda t: _resign(t, cep="1")),
    ("device of another subject", lambda t: _resign(t, dev=str(uuid.uuid4()))),
    ("lifetime of a day", lambda t: _resign(t, exp=int(TS0) + 86400)),
    ("issued in the future", lambda t: _resign(t, iat=int(TS0) + 300, exp=int(TS0) + 900)),
    ("iat not whole seconds", lambda t: _resign(t, iat=TS0 + 0.5)),
]


@pytest.mark.parametrize(("name", "make"), REJECTIONS, ids=[r[0] for r in REJECTIONS])
def test_bad_tokens_get_401_and_store_nothing(token, name, make):
    response = upload(make(token), batch([ev("mouse.move")]))
    assert response.status_code == 401, (name, response.content)
    assert response.json()["error"] in ("authentication_failed", "not_authenticated")
    assert not Batch.objects.exists()


def test_a_token_expires_after_its_lifetime(token, frozen):
    frozen.move_to(T0 + timedelta(seconds=600 + 31), tick=False)
    response = upload(token, batch([ev("mouse.move")]))
    assert response.status_code == 401 and "expired" in response.json()["detail"]


def test_a_retired_key_stops_verifying_after_its_publication_window(token, frozen, settings):
    call_command("rotate_signing_key")
    frozen.move_to(T0 + timedelta(seconds=settings.SIGNING_KEY_RETIRED_TTL_SECONDS + 1), tick=False)
    assert upload(token, batch([ev("mouse.move")])).status_code == 401


def test_token_subject_is_a_pseudonym(token, consenting):
    assert _claims(token)["sub"] == subject_for_employee(consenting).pseudonym


# --- The lifetime is capped when verifying, not only when issuing --------------------


def test_a_correctly_signed_token_living_longer_than_allowed_is_refused(token, settings):
    long_lived = _resign(token, exp=int(TS0) + 7200)
    response = upload(long_lived, batch([ev("mouse.move")]))
    assert response.status_code == 401
    assert response.json() == {
        "error": "authentication_failed",
        "detail": "The token's lifetime of 7200 seconds exceeds the 600 seconds allowed; fetch a new one.",
    }
    assert not Batch.objects.exists()


def test_a_token_issued_under_a_longer_setting_stops_when_the_setting_is_lowered(device, settings, frozen):
    settings.COLLECTION_TOKEN_LIFETIME_SECONDS = 3600
    token = fetch_token(device["device_secret"]).json()["token"]
    frozen.move_to(TS0 + 120, tick=False)
    assert upload(token, batch([ev("mouse.move")])).status_code == 202
    settings.COLLECTION_TOKEN_LIFETIME_SECONDS = 600
    response = upload(token, batch([ev("mouse.move")]))
    assert response.status_code == 401 and "exceeds the 600 seconds allowed" in response.json()["detail"]


def test_a_token_issued_in_the_future_is_refused_beyond_the_leeway(token, settings):
    within = _resign(token, iat=int(TS0) + 20, nbf=int(TS0), exp=int(TS0) + 600)
    assert upload(within, batch([ev("mouse.move", at=-60)])).status_code == 202
    beyond = _resign(token, iat=int(TS0) + 31, nbf=int(TS0), exp=int(TS0) + 600)
    response = upload(beyond, batch([ev("mouse.move")]))
    assert response.status_code == 401
    assert response.json()["detail"] == "The token is not valid yet: it was issued for, or at, a time still to come."
