"""Erasure while consent stays: what was captured up to the request goes, what comes after is kept readable.

The request is cut under the employee's consent state, which every upload
holds while it stores.  A batch stored before the request is erased by the
job; a batch still in flight when the request commits drops the events
captured before the cutoff (``dropped.erased_by_request``).  The data key is
shredded at request time; later uploads store under a fresh key, which the
job leaves alone.  Both orders of the race are driven with two PostgreSQL
connections (an upload thread and the test).
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from django.db import connection, connections

from collection.models import Batch, ErasureCutoff, EventChunk, SubjectKey
from collection.services import subject_events
from erasure.models import DeletionReceipt, ErasureRequest
from erasure.receipts import data_key_id, receipt_claims
from erasure.services import erasure_request_carry_out, erasure_request_create
from tests.collection.conftest import TS0, batch, ev, upload

ERASURE_REQUESTS = "/api/v1/consent/me/erasure-requests"
EXPORT = "/api/v1/collection/me/export"


@pytest.fixture
def held_job(monkeypatch):
    """The request's job is not started on commit: each test runs it when the race is over."""
    monkeypatch.setattr("erasure.tasks.erase_subject_task.delay", lambda request_id: None)


def key_id(subject) -> str:
    return data_key_id(SubjectKey.objects.values_list("wrapped_key", flat=True).get(subject=subject))


def exported_timestamps(client) -> list[float]:
    response = client.get(EXPORT)
    assert response.status_code == 200
    lines = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()[1:]]
    return sorted(event["timestamp"] for line in lines for event in line["events"])


def carry_out_with_receipt(request: ErasureRequest, django_capture_on_commit_callbacks) -> dict:
    with django_capture_on_commit_callbacks(execute=True):
        assert erasure_request_carry_out(request_id=request.pk) is True
    request.refresh_from_db()
    assert request.status == ErasureRequest.Status.DONE
    return receipt_claims(DeletionReceipt.objects.get(request=request))


@pytest.mark.django_db
def test_a_request_while_consent_stays_erases_what_came_before_and_keeps_what_comes_after(
    live_token, consenting, subject, frozen, api_as, held_job, django_capture_on_commit_callbacks
):
    first = upload(live_token, batch([ev("mouse.move", 61), ev("mouse.down", 62)]))
    assert first.status_code == 202 and first.json()["accepted"] == 2
    old_key = key_id(subject)

    frozen.move_to(TS0 + 200, tick=False)
    response = api_as(consenting).post(ERASURE_REQUESTS, {}, format="json")
    assert response.status_code == 201, response.content
    request = ErasureRequest.objects.get(subject=subject)
    # At once: the key those chunks were stored under is gone, so they are unreadable before the job runs.
    assert not SubjectKey.objects.filter(subject=subject).exists()
    assert EventChunk.objects.filter(subject=subject).count() == 2
    cutoff = ErasureCutoff.objects.get(erasure_request=request.pk)
    assert cutoff.before.timestamp() == TS0 + 200 and cutoff.data_key == old_key

    # Capture goes on. A late upload keeps what was captured after the request and drops what came before.
    frozen.move_to(TS0 + 260, tick=False)
    late = upload(live_token, batch([ev("mouse.move", 150), ev("mouse.move", 230), ev("mouse.down", 240)]))
    assert late.status_code == 202, late.content
    assert late.json()["accepted"] == 2 and late.json()["dropped"] == {"erased_by_request": 1}
    assert key_id(subject) != old_key  # a fresh key for the new data
    assert EventChunk.objects.filter(subject=subject).count() == 4
    # The employee's export reads the new data; the old chunks are skipped until they are deleted.
    assert exported_timestamps(api_as(consenting)) == [TS0 + 230, TS0 + 240]

    claims = carry_out_with_receipt(request, django_capture_on_commit_callbacks)
    assert (claims["chunks"], claims["events"]) == (2, 2)
    assert claims["data_key_id"] == old_key and claims["data_key_destroyed_at"] is not None
    # What was recorded after the request is still there, readable under the new key.
    assert sorted(e.timestamp for _c, _a, events in subject_events(subject) for e in events) == [
        TS0 + 230,
        TS0 + 240,
    ]
    assert not Batch.objects.filter(batch_id=first.json()["batch_id"]).exists()
    assert Batch.objects.filter(batch_id=late.json()["batch_id"]).exists()
    assert exported_timestamps(api_as(consenting)) == [TS0 + 230, TS0 + 240]


@pytest.mark.django_db
def test_a_category_request_while_consent_stays_leaves_the_key_and_later_data_of_that_category(
    live_token, consenting, subject, frozen, api_as, held_job, django_capture_on_commit_callbacks
):
    assert upload(live_token, batch([ev("mouse.move", 61), ev("mouse.down", 62)])).status_code == 202
    key = key_id(subject)
    frozen.move_to(TS0 + 200, tick=False)
    response = api_as(consenting).post(ERASURE_REQUESTS, {"categories": ["mouse"]}, format="json")
    assert response.status_code == 201, response.content
    request = ErasureRequest.objects.get(subject=subject)
    late = upload(live_token, batch([ev("mouse.move", 150), ev("mouse.move", 210), ev("mouse.down", 190)]))
    assert late.json()["accepted"] == 2 and late.json()["dropped"] == {"erased_by_request": 1}

    claims = carry_out_with_receipt(request, django_capture_on_commit_callbacks)
    assert (claims["chunks"], claims["events"]) == (1, 1) and claims["data_key_id"] is None
    assert key_id(subject) == key
    kept = sorted((c, e.timestamp) for c, _a, events in subject_events(subject) for e in events)
    assert kept == [("clicks", TS0 + 62), ("clicks", TS0 + 190), ("mouse", TS0 + 210)]


# --- The race, on PostgreSQL: an upload in flight when the request commits ----------------


def _wait_for(what: str, check, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _lock_waiters() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def _in_thread(target, results: dict, name: str) -> threading.Thread:
    def run() -> None:
        try:
            results[name] = target()
        except Exception as exc:  # reported by the test: a thread's exception is otherwise lost
            results[name] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_batch_that_commits_before_the_request_is_erased_by_it(
    live_token, consenting, subject, monkeypatch, held_job, django_capture_on_commit_callbacks
):
    from collection.services import ingestion

    locked, go = threading.Event(), threading.Event()
    take_lock = ingestion.consent_epoch_lock

    def holding(subject_id):
        row = take_lock(subject_id)
        locked.set()
        assert go.wait(30)
        return row

    monkeypatch.setattr(ingestion, "consent_epoch_lock", holding)
    results: dict = {}
    uploading = _in_thread(
        lambda: upload(live_token, batch([ev("mouse.move", 61), ev("mouse.down", 62)])), results, "upload"
    )
    assert locked.wait(30)
    requesting = _in_thread(lambda: erasure_request_create(employee=consenting), results, "request")
    # The request waits for the consent state the upload holds while it stores.
    _wait_for("the request to wait for the upload's lock", lambda: _lock_waiters() >= 1)
    go.set()
    uploading.join(60)
    requesting.join(60)

    assert results["upload"].status_code == 202
    assert results["upload"].json()["accepted"] == 2 and results["upload"].json()["dropped"] == {}
    request = results["request"]
    assert isinstance(request, ErasureRequest)
    stored = set(EventChunk.objects.filter(subject=subject).values_list("pk", flat=True))
    assert len(stored) == 2 and max(stored) <= ErasureCutoff.objects.get(erasure_request=request.pk).last_chunk

    claims = carry_out_with_receipt(request, django_capture_on_commit_callbacks)
    assert (claims["chunks"], claims["events"]) == (2, 2) and claims["data_key_id"] is not None
    assert not EventChunk.objects.filter(subject=subject).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_batch_in_flight_when_the_request_commits_keeps_nothing_captured_before_it(
    live_token, consenting, subject, monkeypatch, api_as, held_job, django_capture_on_commit_callbacks
):
    from collection.services import ingestion

    arrived, go = threading.Event(), threading.Event()
    take_lock = ingestion.consent_epoch_lock

    def arriving(subject_id):
        arrived.set()
        assert go.wait(30)
        return take_lock(subject_id)

    monkeypatch.setattr(ingestion, "consent_epoch_lock", arriving)
    results: dict = {}
    # Captured at T0+61 and T0+62 (before the request, at T0+120) and T0+130 (after it).
    events = [ev("mouse.move", 61), ev("mouse.down", 62), ev("mouse.move", 130)]
    uploading = _in_thread(lambda: upload(live_token, batch(events)), results, "upload")
    assert arrived.wait(30)  # parsed and policed, about to store
    request = erasure_request_create(employee=consenting)  # commits on this connection
    go.set()
    uploading.join(60)

    body = results["upload"].json()
    assert results["upload"].status_code == 202
    assert body["accepted"] == 1 and body["dropped"] == {"erased_by_request": 2}
    assert [e.timestamp for _c, _a, evs in subject_events(subject) for e in evs] == [TS0 + 130]

    claims = carry_out_with_receipt(request, django_capture_on_commit_callbacks)
    assert (claims["chunks"], claims["events"]) == (0, 0)
    # The event captured after the request stays, readable under the key made after it.
    assert [e.timestamp for _c, _a, evs in subject_events(subject) for e in evs] == [TS0 + 130]
