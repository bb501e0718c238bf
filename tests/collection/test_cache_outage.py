"""With Redis down, uploads answer 503 with Retry-After and store nothing; the rest of the protocol works."""

from __future__ import annotations

import logging

import pytest
from django.test import override_settings

from collection.models import Batch, Device, EventChunk, SubjectKey
from tests.collection.conftest import batch, ev, fetch_token, upload

pytestmark = pytest.mark.django_db

# Port 1 refuses at once: the outage is the same on SQLite and on PostgreSQL + Redis.
REDIS_DOWN = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}


@pytest.fixture
def redis_down():
    with override_settings(CACHES=REDIS_DOWN):
        yield


def _nothing_stored() -> bool:
    return not Batch.objects.exists() and not EventChunk.objects.exists() and not SubjectKey.objects.exists()


def test_an_upload_answers_503_with_retry_after_and_stores_nothing(live_token, redis_down, caplog):
    with caplog.at_level(logging.WARNING, logger="collection.ratelimit"):
        response = upload(live_token, batch([ev("mouse.move"), ev("mouse.down", 61)]))
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json() == {
        "error": "unavailable",
        "detail": "The upload rate limiter's cache (Redis) is unavailable; nothing was stored. Retry later.",
    }
    assert _nothing_stored()
    assert [r.levelname for r in caplog.records if r.name == "collection.ratelimit"] == ["WARNING"]


def test_the_same_batch_is_stored_once_redis_is_back(live_token, settings):
    body = batch([ev("mouse.move")])
    with override_settings(CACHES=REDIS_DOWN):
        assert upload(live_token, body).status_code == 503
    assert _nothing_stored()
    again = upload(live_token, body)
    assert again.status_code == 202 and again.json()["accepted"] == 1
    assert Batch.objects.count() == 1


def test_a_gzip_upload_is_refused_the_same_way(live_token, redis_down):
    response = upload(live_token, batch([ev("mouse.move")]), gzip_it=True)
    assert response.status_code == 503 and response.json()["error"] == "unavailable"
    assert _nothing_stored()


def test_devices_enroll_and_fetch_tokens_while_redis_is_down(consenting, enroll, redis_down):
    # Neither uses the cache: a client can get ready and wait for uploads to come back.
    device = enroll(consenting)
    assert Device.objects.filter(pk=device["device_id"]).exists()
    response = fetch_token(device["device_secret"])
    assert response.status_code == 201 and response.json()["token"]


def test_other_unavailable_errors_carry_retry_after_too(live_token, settings):
    settings.MASTER_KEY_FILE = settings.MASTER_KEY_FILE.parent / "missing.key"
    response = upload(live_token, batch([ev("mouse.move")]))
    assert response.status_code == 503 and response.json()["error"] == "storage_unavailable"
    assert response["Retry-After"] == "30"
    assert _nothing_stored()
