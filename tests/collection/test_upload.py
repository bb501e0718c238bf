"""The upload endpoint: acceptance, idempotency, and every rejection the SPEC names."""

from __future__ import annotations

import gzip
import json
import uuid

import pytest
from django.db import DatabaseError

from collection.models import Batch, EventChunk, SubjectKey
from collection.services import subject_events
from consent.services import consent_grant, consent_set_exclusions, consent_withdraw
from tests.collection.conftest import EDITOR, batch, ev, fetch_token, upload

pytestmark = pytest.mark.django_db


def _nothing_stored():
    return not Batch.objects.exists() and not EventChunk.objects.exists()


def test_a_clean_batch_is_accepted_and_stored_encrypted(live_token, subject):
    events = [
        ev("mouse.move", 60),
        ev("mouse.down", 61),
        ev("mouse.up", 61.1),
        ev("window.focus", 62, title="notes.md"),
    ]
    body = batch(events)
    response = upload(live_token, body)
    assert response.status_code == 202
    assert response.json() == {"batch_id": body["batch_id"], "accepted": 4, "dropped": {}, "redacted": 0}
    stored = {(c, a): [e.__class__.__name__ for e in evs] for c, a, evs in subject_events(subject)}
    assert stored == {
        ("mouse", EDITOR): ["MouseMove"],
        ("clicks", EDITOR): ["MouseDown", "MouseUp"],
        ("app_focus", EDITOR): ["WindowFocus"],
    }
    assert sorted(EventChunk.objects.values_list("category", "count")) == [
        ("app_focus", 1),
        ("clicks", 2),
        ("mouse", 1),
    ]


def test_gzip_bodies_are_accepted(live_token):
    response = upload(live_token, batch([ev("mouse.move")]), gzip_it=True)
    assert response.status_code == 202 and response.json()["accepted"] == 1


def test_the_same_batch_again_returns_200_with_the_same_body_and_stores_nothing_twice(live_token):
    body = batch([ev("mouse.move"), ev("mouse.move", app="com.unknown.App")])
    first = upload(live_token, body)
    chunks = EventChunk.objects.count()
    again = upload(live_token, body, gzip_it=True)
    assert first.status_code == 202 and again.status_code == 200
    assert again.json() == first.json()
    assert Batch.objects.count() == 1 and EventChunk.objects.count() == chunks


def test_a_replayed_batch_id_with_other_content_is_refused(live_token):
    batch_id = uuid.uuid4()
    upload(live_token, batch([ev("mouse.move")], batch_id))
    response = upload(live_token, batch([ev("mouse.move"), ev("mouse.move", 61)], batch_id))
    assert response.status_code == 409 and response.json()["error"] == "batch_id_reused"
    assert EventChunk.objects.get().count == 1


# --- Malformed batches: 400 naming the event and the field ---------------------------

BIG = 1e400
MALFORMED = [
    ("unknown top-level field", {"extra": 1}, None, "extra"),
    ("unknown event field", {"events": [ev("mouse.move", pressure=0.5)]}, 0, "pressure"),
    ("unknown event type", {"events": [ev("mouse.move"), {**ev("mouse.move"), "type": "mouse.teleport"}]}, 1, "type"),
    ("missing field", {"events": [{"type": "mouse.move", "timestamp": 1.78e9, "app": EDITOR, "x": 1}]}, 0, "y"),
    ("string for a number", {"events": [ev("mouse.move", x="10")]}, 0, "x"),
    ("boolean for a number", {"events": [ev("mouse.move", y=True)]}, 0, "y"),
    ("float for an integer", {"events": [ev("key.down", key_vk=65.5)]}, 0, "key_vk"),
    ("number for a string", {"events": [ev("key.type", text=5)]}, 0, "text"),
    ("huge number", {"events": [ev("mouse.move", x=1e300)]}, 0, "x"),
    ("timestamp out of range", {"events": [{**ev("mouse.move"), "timestamp": 1e12}]}, 0, "timestamp"),
    ("over-long string", {"events": [ev("key.type", text="a" * 4097)]}, 0, "text"),
    ("over-long app id", {"events": [ev("mouse.move", app="a" * 201)]}, 0, "app"),
    ("empty app id", {"events": [ev("mouse.move", app="")]}, 0, "app"),
    ("bad field object", {"events": [ev("key.down", field={"role": "text", "secure": "no"})]}, 0, "secure"),
    ("unknown button", {"events": [ev("mouse.down", button="thumb")]}, 0, "button"),
    ("bad schema", {"schema": "capture/v2"}, None, "schema"),
    ("bad batch id", {"batch_id": "not-a-uuid"}, None, "batch_id"),
    ("events not a list", {"events": {"0": ev("mouse.move")}}, None, "events"),
    ("text that is not UTF-8", None, None, None),
]


@pytest.mark.parametrize(("name", "changes", "index", "field"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_batches_get_400_naming_event_and_field(live_token, name, changes, index, field):
    if changes is None:  # raw bytes: invalid UTF-8 inside a string
        body = json.dumps(batch([ev("key.type", text="PLACEHOLDER")])).encode().replace(b"PLACEHOLDER", b"\xff\xfe")
        response = upload(live_token, body)
        assert response.status_code == 400 and response.json()["error"] == "invalid_batch"
        assert not Batch.objects.exists()
        return
    response = upload(live_token, {**batch([ev("mouse.move")]), **changes})
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "invalid_batch"
    assert body["event_index"] == index and body["field"] == field
    if index is not None:
        assert f"$.events[{index}]" in body["detail"]
    assert _nothing_stored()


RAW_MALFORMED = [
    (
        "NaN",
        b'{"batch_id": "%s", "schema": "capture/v1", "events": [{"type": "mouse.move", "timestamp": 1780315260, "app": "a", "x": NaN, "y": 1}]}',
    ),
    (
        "Infinity",
        b'{"batch_id": "%s", "schema": "capture/v1", "events": [{"type": "mouse.move", "timestamp": 1780315260, "app": "a", "x": Infinity, "y": 1}]}',
    ),
    (
        "number beyond double",
        b'{"batch_id": "%s", "schema": "capture/v1", "events": [{"type": "mouse.move", "timestamp": 1780315260, "app": "a", "x": 1e400, "y": 1}]}',
    ),
    ("truncated JSON", b'{"batch_id": "%s", "schema": "capture/v1", "events": ['),
    ("not JSON", b"%s hello"),
    ("empty body", b""),
    ("not an object", b'["%s"]'),
]


@pytest.mark.parametrize(("name", "raw"), RAW_MALFORMED, ids=[m[0] for m in RAW_MALFORMED])
def test_unparsable_bodies_get_400(live_token, name, raw):
    body = raw % str(uuid.uuid4()).encode() if b"%s" in raw else raw
    response = upload(live_token, body)
    assert response.status_code == 400 and response.json()["error"] == "invalid_batch"
    assert _nothing_stored()


# --- Size, encoding, rate ----------------------------------------------------------


def _padded(size: int) -> bytes:
    text = json.dumps(batch([ev("key.type", text="a" * 4000)] * 600)).encode()
    assert len(text) > size
    return text


def test_bodies_over_2_mib_get_413(live_token):
    response = upload(live_token, _padded(2 * 1024 * 1024))
    assert response.status_code == 413 and response.json()["error"] == "too_large"
    assert _nothing_stored()


def test_gzip_expanding_over_2_mib_gets_413(live_token):
    response = upload(live_token, _padded(2 * 1024 * 1024), gzip_it=True)
    assert response.status_code == 413
    assert _nothing_stored()


def test_a_gzip_bomb_gets_413_without_expanding_it(live_token):
    bomb = gzip.compress(b" " * (200 * 1024 * 1024))
    response = upload(live_token, bomb, headers={"HTTP_CONTENT_ENCODING": "gzip"})
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("name", "raw", "encoding", "status", "error"),
    [
        ("bad gzip", b"\x1f\x8b\x08\x00garbage", "gzip", 400, "bad_gzip"),
        ("plain JSON labelled gzip", b'{"a": 1}', "gzip", 400, "bad_gzip"),
        ("truncated gzip", gzip.compress(b'{"a": 1}')[:-6], "gzip", 400, "bad_gzip"),
        ("trailing data after gzip", gzip.compress(b'{"a": 1}') + b"junk", "gzip", 400, "bad_gzip"),
        ("brotli", b"...", "br", 415, "unsupported_encoding"),
    ],
)
def test_bad_encodings_are_refused(live_token, name, raw, encoding, status, error):
    response = upload(live_token, raw, headers={"HTTP_CONTENT_ENCODING": encoding})
    assert response.status_code == status and response.json()["error"] == error
    assert _nothing_stored()


def test_a_declared_length_over_the_limit_is_refused_before_reading(live_token):
    response = upload(live_token, b"{}", headers={"CONTENT_LENGTH": str(3 * 1024 * 1024)})
    assert response.status_code == 413


def test_other_content_types_are_refused(live_token):
    response = upload(live_token, batch([ev("mouse.move")]), headers={"CONTENT_TYPE": "text/plain"})
    assert response.status_code == 415


def test_uploads_are_rate_limited_per_device_with_retry_after(live_token, settings, consenting, enroll):
    settings.COLLECTION_RATE_LIMIT_BURST = 2
    settings.COLLECTION_RATE_LIMIT_PER_MINUTE = 6
    assert upload(live_token, batch([ev("mouse.move")])).status_code == 202
    assert upload(live_token, batch([ev("mouse.move")])).status_code == 202
    limited = upload(live_token, batch([ev("mouse.move")]))
    assert limited.status_code == 429 and limited.json()["error"] == "rate_limited"
    assert limited["Retry-After"] == "10"
    other = fetch_token(enroll(consenting, name="second")["device_secret"]).json()["token"]
    assert upload(other, batch([ev("mouse.move")])).status_code == 202  # per device


def test_the_bucket_refills_over_time(live_token, settings, frozen):
    settings.COLLECTION_RATE_LIMIT_BURST = 1
    settings.COLLECTION_RATE_LIMIT_PER_MINUTE = 60
    assert upload(live_token, batch([ev("mouse.move")])).status_code == 202
    assert upload(live_token, batch([ev("mouse.move")])).status_code == 429
    frozen.shift(1.1)
    assert upload(live_token, batch([ev("mouse.move")])).status_code == 202


def test_authentication_is_checked_before_size(live_token):
    response = upload(None, _padded(2 * 1024 * 1024))
    assert response.status_code == 401


# --- Consent changes -----------------------------------------------------------------


def test_the_first_upload_after_a_withdrawal_is_refused(live_token, consenting):
    assert upload(live_token, batch([ev("mouse.move")])).status_code == 202
    consent_withdraw(employee=consenting)
    response = upload(live_token, batch([ev("mouse.move")]))
    assert response.status_code == 403 and response.json()["error"] == "consent_withdrawn"
    assert Batch.objects.count() == 1


def test_a_partial_withdrawal_asks_for_a_new_token(live_token, consenting, device):
    consent_withdraw(employee=consenting, categories=["keystrokes"])
    response = upload(live_token, batch([ev("mouse.move")]))
    assert response.status_code == 403 and response.json()["error"] == "consent_changed"
    fresh = fetch_token(device["device_secret"]).json()["token"]
    assert upload(fresh, batch([ev("mouse.move")])).status_code == 202


def test_new_exclusions_also_invalidate_older_tokens(live_token, consenting):
    consent_set_exclusions(employee=consenting, excluded_apps=[EDITOR])
    assert upload(live_token, batch([ev("mouse.move")])).json()["error"] == "consent_changed"


def test_a_replay_after_withdrawal_gets_the_first_answer(live_token, consenting):
    """A client retrying after a lost response learns its batch was stored; new batches are refused."""
    body = batch([ev("mouse.move")])
    first = upload(live_token, body)
    consent_withdraw(employee=consenting)
    again = upload(live_token, body)
    assert again.status_code == 200 and again.json() == first.json()
    assert upload(live_token, batch([ev("mouse.move")])).json()["error"] == "consent_withdrawn"


def test_more_than_5000_events_get_413(live_token):
    response = upload(live_token, batch([ev("mouse.move")] * 5001))
    assert response.status_code == 413
    assert response.json()["error"] == "too_many_events"
    assert not Batch.objects.exists()
    assert upload(live_token, batch([ev("mouse.move")] * 5000)).status_code == 202


def test_regranting_after_withdrawal_needs_a_new_token(live_token, consenting, device):
    consent_withdraw(employee=consenting)
    consent_grant(employee=consenting, categories=["mouse"], notice_version=1)
    assert upload(live_token, batch([ev("mouse.move")])).json()["error"] == "consent_changed"


# --- Fail closed -----------------------------------------------------------------------


def test_without_a_master_key_nothing_is_stored(live_token, settings):
    settings.MASTER_KEY_FILE = settings.MASTER_KEY_FILE.parent / "missing.key"
    response = upload(live_token, batch([ev("mouse.move")]))
    assert response.status_code == 503 and response.json()["error"] == "storage_unavailable"
    assert _nothing_stored() and not SubjectKey.objects.exists()


def test_if_the_policy_cannot_be_loaded_nothing_is_stored(live_token, monkeypatch):
    def broken(**kwargs):
        raise DatabaseError("relation does not exist")

    monkeypatch.setattr("collection.services.ingestion.capture_policy_for_subject", broken)
    response = upload(live_token, batch([ev("mouse.move")]))
    assert response.status_code == 503 and response.json()["error"] == "policy_unavailable"
    assert _nothing_stored()


def test_a_revoked_device_cannot_upload_with_its_live_token(live_token, consenting, device, api_as):
    api_as(consenting).delete(f"/api/v1/collection/devices/{device['device_id']}")
    assert upload(live_token, batch([ev("mouse.move")])).status_code == 401


def test_the_documented_upload_body_has_the_enforced_fields_and_limits():
    from drf_spectacular.generators import SchemaGenerator

    components = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    body = components["BatchUploadInputRequest"]["properties"]
    event = components["CaptureEventRequest"]
    assert body["events"]["maxItems"] == 5000
    assert set(components["TypeEnum"]["enum"]) == {
        "mouse.move",
        "mouse.down",
        "mouse.up",
        "mouse.scroll",
        "key.down",
        "key.up",
        "key.type",
        "window.focus",
    }
    assert sorted(event["required"]) == ["app", "timestamp", "type"]
    assert event["properties"]["key_vk"]["maximum"] == 65535 and event["properties"]["app"]["maxLength"] == 200
    assert event["properties"]["timestamp"]["minimum"] == 946684800.0
