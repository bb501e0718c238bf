"""API tokens expire, and their owners list and revoke them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiToken
from audit.models import AuditEntry
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(T0, tick=False)
    return time_machine


def sign_in(username: str) -> dict:
    response = APIClient().post("/api/v1/auth/token", {"username": username, "password": PASSWORD}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def with_token(value: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {value}")
    return client


def test_signing_in_says_when_the_token_expires(frozen, alice):
    body = sign_in("alice")
    assert set(body) == {"token", "expires_at"}
    assert body["expires_at"] == "2026-07-01T12:00:00Z"
    assert ApiToken.objects.get(user=alice).expires_at == T0 + timedelta(days=30)


def test_the_lifetime_is_configurable(frozen, alice, settings):
    settings.API_TOKEN_LIFETIME_DAYS = 1
    assert sign_in("alice")["expires_at"] == "2026-06-02T12:00:00Z"


def test_an_expired_token_is_refused_with_401_naming_the_expiry(frozen, alice):
    client = with_token(sign_in("alice")["token"])
    frozen.move_to(T0 + timedelta(days=30) - timedelta(seconds=1), tick=False)
    assert client.get("/api/v1/me").status_code == 200
    frozen.move_to(T0 + timedelta(days=30), tick=False)
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json() == {
        "error": "authentication_failed",
        "detail": "This API token expired at 2026-07-01T12:00:00Z; sign in again for a new one.",
    }
    assert response["WWW-Authenticate"] == "Token"


def test_owners_list_their_tokens_without_values_or_digests(frozen, alice, bob):
    first = sign_in("alice")
    frozen.move_to(T0 + timedelta(hours=1), tick=False)
    second = sign_in("alice")
    sign_in("bob")
    frozen.move_to(T0 + timedelta(hours=2), tick=False)
    response = with_token(second["token"]).get("/api/v1/auth/tokens")
    assert response.status_code == 200
    tokens = {t.created_at: t for t in ApiToken.objects.filter(user=alice)}
    newest, oldest = tokens[T0 + timedelta(hours=1)], tokens[T0]
    assert response.json() == [
        {
            "id": str(newest.public_id),
            "created_at": "2026-06-01T13:00:00Z",
            "expires_at": "2026-07-01T13:00:00Z",
            "last_used_at": "2026-06-01T14:00:00Z",
        },
        {
            "id": str(oldest.public_id),
            "created_at": "2026-06-01T12:00:00Z",
            "expires_at": "2026-07-01T12:00:00Z",
            "last_used_at": None,
        },
    ]
    text = response.content.decode()
    assert first["token"] not in text and second["token"] not in text and oldest.digest not in text


def test_last_use_is_recorded_to_the_minute(frozen, alice):
    client = with_token(sign_in("alice")["token"])
    client.get("/api/v1/me")
    token = ApiToken.objects.get(user=alice)
    assert token.last_used_at == T0
    frozen.move_to(T0 + timedelta(seconds=59), tick=False)
    client.get("/api/v1/me")
    token.refresh_from_db()
    assert token.last_used_at == T0
    frozen.move_to(T0 + timedelta(seconds=60), tick=False)
    client.get("/api/v1/me")
    token.refresh_from_db()
    assert token.last_used_at == T0 + timedelta(seconds=60)


def test_an_owner_revokes_a_token_and_it_stops_at_once(frozen, alice):
    keep = sign_in("alice")["token"]
    doomed = sign_in("alice")["token"]
    doomed_id = ApiToken.objects.get(digest=ApiToken.digest_of(doomed)).public_id
    response = with_token(keep).delete(f"/api/v1/auth/tokens/{doomed_id}")
    assert response.status_code == 204
    refused = with_token(doomed).get("/api/v1/me")
    assert refused.status_code == 401 and refused.json()["detail"] == "Invalid or revoked token."
    assert with_token(keep).get("/api/v1/me").status_code == 200
    entry = AuditEntry.objects.get(action="account.api_token_revoke")
    assert (entry.actor, entry.target, entry.detail) == ("user:alice", "user:alice", {"token_id": str(doomed_id)})


def test_a_token_revokes_itself(frozen, alice):
    value = sign_in("alice")["token"]
    own_id = ApiToken.objects.get().public_id
    assert with_token(value).delete(f"/api/v1/auth/tokens/{own_id}").status_code == 204
    assert with_token(value).get("/api/v1/me").status_code == 401


def test_someone_elses_token_is_not_found_and_stays(frozen, alice, bob):
    bobs = sign_in("bob")["token"]
    bobs_id = ApiToken.objects.get(user=bob).public_id
    client = with_token(sign_in("alice")["token"])
    for token_id in (bobs_id, uuid.uuid4()):
        response = client.delete(f"/api/v1/auth/tokens/{token_id}")
        assert response.status_code == 404
        assert response.json() == {"error": "not_found", "detail": "No such API token."}
    assert client.delete("/api/v1/auth/tokens/not-a-uuid").status_code == 404
    assert with_token(bobs).get("/api/v1/me").status_code == 200
    assert not AuditEntry.objects.filter(action="account.api_token_revoke").exists()


def test_the_portal_session_lists_its_owners_tokens_too(frozen, alice, portal_as):
    sign_in("alice")
    listed = portal_as(alice).get("/api/v1/auth/tokens")
    assert listed.status_code == 200 and len(listed.json()) == 1


def test_listing_and_revoking_need_a_signed_in_caller(api):
    assert api.get("/api/v1/auth/tokens").status_code == 401
    assert api.delete(f"/api/v1/auth/tokens/{uuid.uuid4()}").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_existing_tokens_thirty_days_from_their_creation():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from tests.conftest import make_user

    alice = make_user("alice", "employee")
    executor = MigrationExecutor(connection)
    executor.migrate([("accounts", "0001_initial")])
    old_state = executor.loader.project_state([("accounts", "0001_initial")]).apps
    OldToken = old_state.get_model("accounts", "ApiToken")
    made = OldToken.objects.create(user_id=alice.pk, digest="a" * 64)
    OldToken.objects.filter(pk=made.pk).update(created_at=T0)
    OldToken.objects.create(user_id=alice.pk, digest="b" * 64)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    migrated = ApiToken.objects.get(digest="a" * 64)
    assert migrated.expires_at == T0 + timedelta(days=30)
    assert len({t.public_id for t in ApiToken.objects.all()}) == 2
