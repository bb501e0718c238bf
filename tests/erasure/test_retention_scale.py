"""Retention at scale: bounded batches, one transaction each, and the exact rule for a chunk straddling the cutoff."""

from __future__ import annotations

from datetime import timedelta

import pytest

from audit.models import AuditEntry
from collection.models import EventChunk
from erasure.tasks import enforce_retention_task
from tests.collection.conftest import T0, TS0, batch, ev, fetch_token, upload

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def _upload_at(frozen, device, seconds_after_t0: float, offsets: list[float]) -> None:
    """Upload mouse events at ``offsets`` (seconds after T0) once the clock reads T0 + ``seconds_after_t0``."""
    frozen.move_to(TS0 + seconds_after_t0, tick=False)
    token = fetch_token(device["device_secret"]).json()["token"]
    response = upload(token, batch([ev("mouse.move", at) for at in offsets]))
    assert response.status_code == 202, response.content


def _mouse_chunks(subject) -> list[tuple]:
    return list(
        EventChunk.objects.filter(subject=subject, category="mouse")
        .order_by("first_ts")
        .values_list("first_ts", "last_ts")
    )


@pytest.fixture
def seven_days(api_as, olivia, consenting):
    response = api_as(olivia).put("/api/v1/consent/retention", {"rules": {"mouse": 7}}, format="json")
    assert response.status_code == 200, response.content


def test_a_chunk_straddling_the_cutoff_goes_once_its_oldest_event_is_past_the_limit(
    device, subject, frozen, seven_days
):
    # One upload spanning an hour (T0+60 s .. T0+3660 s), then a later one wholly inside it (T0+3670 s).
    _upload_at(frozen, device, 3700, [60, 1800, 3660])
    _upload_at(frozen, device, 3710, [3670, 3680])
    straddling = (T0 + timedelta(seconds=60), T0 + timedelta(seconds=3660))
    later = (T0 + timedelta(seconds=3670), T0 + timedelta(seconds=3680))
    assert _mouse_chunks(subject) == [straddling, later]

    # The cutoff is exactly the chunk's oldest event: not past the limit yet, nothing goes.
    frozen.move_to(straddling[0] + 7 * DAY, tick=False)
    assert enforce_retention_task.delay().get() == {}
    assert _mouse_chunks(subject) == [straddling, later]

    # A second later the oldest event is past it: the whole chunk goes, although its newest event
    # (T0+3660 s) still had 3599 s to live: deleted early by less than the upload's span (3600 s).
    frozen.move_to(straddling[0] + 7 * DAY + timedelta(seconds=1), tick=False)
    assert enforce_retention_task.delay().get() == {"mouse": 3}
    assert _mouse_chunks(subject) == [later]
    early = straddling[1] + 7 * DAY - (straddling[0] + 7 * DAY + timedelta(seconds=1))
    assert early == timedelta(seconds=3599) < straddling[1] - straddling[0]
    entry = AuditEntry.objects.get(action="collection.retention.purged")
    assert entry.detail["by"] == "first_ts" and entry.detail["chunks"] == 1 and entry.detail["events"] == 3
    assert entry.detail["cutoff"] == (straddling[0] + timedelta(seconds=1)).isoformat()

    # No event is ever kept past its limit: the later chunk goes the moment its oldest is past it.
    frozen.move_to(later[0] + 7 * DAY + timedelta(microseconds=1), tick=False)
    assert enforce_retention_task.delay().get() == {"mouse": 2}
    assert _mouse_chunks(subject) == []


def test_retention_deletes_in_bounded_batches_one_audit_entry_each(device, subject, frozen, seven_days, settings):
    for i in range(5):
        _upload_at(frozen, device, 200 + i, [60 + i, 61 + i])
    assert len(_mouse_chunks(subject)) == 5
    settings.RETENTION_BATCH_CHUNKS = 2
    frozen.move_to(T0 + 8 * DAY, tick=False)
    assert enforce_retention_task.delay().get() == {"mouse": 10}
    assert _mouse_chunks(subject) == []
    purges = list(AuditEntry.objects.filter(action="collection.retention.purged").order_by("seq"))
    assert [(e.detail["chunks"], e.detail["events"], e.detail["subjects"]) for e in purges] == [
        (2, 4, 1),
        (2, 4, 1),
        (1, 2, 1),
    ]
    assert enforce_retention_task.delay().get() == {}


def test_a_failing_batch_keeps_the_batches_before_it_and_the_next_run_resumes(
    device, subject, frozen, seven_days, settings, monkeypatch
):
    for i in range(5):
        _upload_at(frozen, device, 200 + i, [60 + i])
    settings.RETENTION_BATCH_CHUNKS = 2
    frozen.move_to(T0 + 8 * DAY, tick=False)

    from erasure import services

    real = services.audit_record
    calls = []

    def fail_second(**kwargs):
        calls.append(kwargs)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(**kwargs)

    monkeypatch.setattr(services, "audit_record", fail_second)
    with pytest.raises(OSError):
        enforce_retention_task.delay().get()
    # The first batch committed with its entry; the second rolled back whole: its chunks are still there.
    assert len(_mouse_chunks(subject)) == 3
    assert AuditEntry.objects.filter(action="collection.retention.purged").count() == 1

    monkeypatch.setattr(services, "audit_record", real)
    assert enforce_retention_task.delay().get() == {"mouse": 3}
    assert _mouse_chunks(subject) == []
    assert AuditEntry.objects.filter(action="collection.retention.purged").count() == 3


def test_the_officer_console_states_which_side_of_the_limit_a_straddling_chunk_falls(portal_as, olivia):
    page = portal_as(olivia).get("/officer").content.decode()
    assert 'id="retention-bound"' in page
    assert "A chunk is deleted as soon as its <em>oldest</em> event is past its category's limit" in page
    assert "so no event is ever kept longer than the limit" in page
    assert "at most the time span of that one upload early" in page


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_retention_runs_at_once_delete_and_count_each_chunk_once(device, subject, frozen, seven_days, settings):
    from erasure.services import retention_enforce
    from tests.erasure.test_watchdog import _at_once

    for i in range(6):
        _upload_at(frozen, device, 200 + i, [60 + i, 61 + i])
    settings.RETENTION_BATCH_CHUNKS = 2
    frozen.move_to(T0 + 8 * DAY, tick=False)
    results = _at_once(3, retention_enforce)
    assert sum(r.get("mouse", 0) for r in results) == 12
    assert _mouse_chunks(subject) == []
    purges = AuditEntry.objects.filter(action="collection.retention.purged")
    assert sum(e.detail["chunks"] for e in purges) == 6 and sum(e.detail["events"] for e in purges) == 12
