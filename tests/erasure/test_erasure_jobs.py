"""Erasure requests and retention deadlines, carried out by the background jobs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from audit.models import AuditEntry
from collection.models import EventChunk, SubjectKey
from consent.models import RetentionRule
from erasure.models import ErasureRequest
from erasure.services import (
    consent_withdraw_with_erasure,
    erasure_request_carry_out,
    erasure_request_create,
    erasure_requests_process,
    retention_enforce,
)
from erasure.tasks import enforce_retention_task, process_erasures_task
from tests.collection.conftest import BROWSER, T0, batch, ev, typed, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(live_token, subject):
    events = [ev("mouse.move", 61), ev("mouse.move", 62, BROWSER), ev("mouse.down", 63), *typed("hi", 64)]
    response = upload(live_token, batch(events))
    assert response.status_code == 202, response.content
    assert set(EventChunk.objects.filter(subject=subject).values_list("category", flat=True)) == {
        "mouse",
        "clicks",
        "keystrokes",
    }
    return response.json()


def test_withdrawing_everything_with_erasure_shreds_all_data_as_soon_as_it_commits(
    stored, consenting, subject, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        consent_withdraw_with_erasure(employee=consenting)
    request = ErasureRequest.objects.get(subject=subject)
    assert request.status == ErasureRequest.Status.DONE and request.completed_at is not None
    assert request.categories == []
    assert not SubjectKey.objects.filter(subject=subject).exists()
    assert not EventChunk.objects.filter(subject=subject).exists()
    steps = list(
        AuditEntry.objects.filter(target=f"subject:{subject.pseudonym}", action__startswith="collection.erase")
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert steps == ["collection.erase.key_destroyed", "collection.erase.ciphertext_deleted"]
    done = AuditEntry.objects.get(action="erasure.completed")
    assert done.detail["erasure_request_id"] == str(request.id) and done.detail["overdue"] is False


def test_withdrawing_one_category_with_erasure_deletes_only_that_category(stored, consenting, subject):
    consent_withdraw_with_erasure(employee=consenting, categories=["keystrokes"])
    request = ErasureRequest.objects.get(subject=subject)
    assert request.categories == ["keystrokes"]
    assert erasure_request_carry_out(request_id=request.pk) is True
    assert set(EventChunk.objects.filter(subject=subject).values_list("category", flat=True)) == {"mouse", "clicks"}
    assert SubjectKey.objects.filter(subject=subject).exists(), "the rest stays readable"


def test_a_request_is_carried_out_once_however_often_it_is_delivered(stored, consenting, subject):
    request = erasure_request_create(employee=consenting)
    assert erasure_request_carry_out(request_id=request.pk) is True
    assert erasure_request_carry_out(request_id=request.pk) is False
    assert AuditEntry.objects.filter(action="erasure.completed").count() == 1


def test_the_periodic_sweep_does_pending_requests_earliest_deadline_first(stored, consenting, bob, notice, subject):
    erasure_request_create(employee=consenting, categories=["mouse"])
    erasure_request_create(employee=consenting, categories=["clicks"])
    assert process_erasures_task.delay().get() == 2
    assert not ErasureRequest.objects.filter(status=ErasureRequest.Status.PENDING).exists()
    assert set(EventChunk.objects.filter(subject=subject).values_list("category", flat=True)) == {"keystrokes"}
    assert erasure_requests_process() == 0


def test_retention_deletes_only_chunks_past_their_category_limit(stored, subject, frozen):
    RetentionRule.objects.filter(category="mouse").update(max_age_days=7)
    frozen.move_to(T0 + timedelta(days=8), tick=False)
    assert enforce_retention_task.delay().get() == {"mouse": 2}
    assert set(EventChunk.objects.filter(subject=subject).values_list("category", flat=True)) == {
        "clicks",
        "keystrokes",
    }
    entry = AuditEntry.objects.get(action="collection.retention.purged")
    assert entry.target == "retention:mouse"
    assert entry.detail["events"] == 2 and entry.detail["subjects"] == 1
    assert retention_enforce() == {}, "nothing left to purge"


def test_a_broker_outage_does_not_fail_a_committed_withdrawal(
    stored, consenting, subject, api_as, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr("erasure.tasks.erase_subject_task.delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(consenting).post("/api/v1/consent/me/withdrawals", {"erase": True}, format="json")
    assert response.status_code == 201
    request = ErasureRequest.objects.get(subject=subject)
    assert request.status == ErasureRequest.Status.PENDING, "left for the periodic sweep"
    assert erasure_requests_process() == 1


def test_an_upload_racing_a_withdrawal_is_refused_and_stores_nothing(live_token, consenting, subject, monkeypatch):
    """The withdrawal commits after the upload checked consent but before it stored anything."""
    from collection.services import ingestion

    real = ingestion.apply_safeguards

    def withdraw_meanwhile(events, rules):
        consent_withdraw_with_erasure(employee=consenting)
        return real(events, rules)

    monkeypatch.setattr(ingestion, "apply_safeguards", withdraw_meanwhile)
    response = upload(live_token, batch([ev("mouse.move", 61)]))
    assert response.status_code == 403
    assert response.json()["error"] == "consent_withdrawn"
    assert not EventChunk.objects.filter(subject=subject).exists()


def test_the_key_stays_destroyed_when_deleting_the_ciphertext_fails(stored, consenting, subject, monkeypatch):
    request = erasure_request_create(employee=consenting)

    def disk_full(**kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("erasure.services.subject_ciphertext_delete", disk_full)
    with pytest.raises(OSError):
        erasure_request_carry_out(request_id=request.pk)
    assert not SubjectKey.objects.filter(subject=subject).exists(), "unreadable at once, whatever happens next"
    request.refresh_from_db()
    assert request.status == ErasureRequest.Status.PENDING
    monkeypatch.undo()
    assert erasure_request_carry_out(request_id=request.pk) is True
    assert not EventChunk.objects.filter(subject=subject).exists()
