"""The erasure watchdog: requests due within the hour or overdue are flagged once per state, and counted.

Flagging is an ``erasure.overdue`` audit entry and an error-level log line
naming the request id (never the person), shown in the officer console and
published at ``GET /metrics``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings

from audit.models import AuditEntry
from consent.services import subject_for_employee
from erasure.models import ErasureRequest
from erasure.services import erasure_request_carry_out
from erasure.tasks import flag_overdue_erasures_task
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
API = "/api/v1/consent/me/erasure-requests"


def _ask(api_as, employee) -> ErasureRequest:
    response = api_as(employee).post(API, {}, format="json")
    assert response.status_code == 201, response.content
    return ErasureRequest.objects.get(pk=response.json()["id"])


def _flags() -> list[tuple[str, str]]:
    return list(
        AuditEntry.objects.filter(action="erasure.overdue")
        .order_by("seq")
        .values_list("detail__erasure_request_id", "detail__state")
    )


def _watchdog_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "erasure.watchdog"]


def test_a_request_is_flagged_once_within_the_hour_and_once_overdue_and_never_again(
    api_as, alice, notice, time_machine, caplog
):
    time_machine.move_to(START, tick=False)
    request = _ask(api_as, alice)
    due = START + timedelta(days=settings.ERASURE_DUE_DAYS)
    assert request.due_at == due
    caplog.set_level(logging.INFO, logger="erasure.watchdog")

    for before in (timedelta(minutes=61), timedelta(minutes=60)):
        time_machine.move_to(due - before, tick=False)
        assert flag_overdue_erasures_task.delay().get() == {"due_within_hour": 0, "overdue": 0}
    assert _flags() == [] and _watchdog_lines(caplog) == []

    time_machine.move_to(due - timedelta(minutes=59), tick=False)
    assert flag_overdue_erasures_task.delay().get() == {"due_within_hour": 1, "overdue": 0}
    assert _flags() == [(str(request.id), "due_within_hour")]
    request.refresh_from_db()
    assert request.due_soon_flagged_at == due - timedelta(minutes=59) and request.overdue_flagged_at is None
    entry = AuditEntry.objects.get(action="erasure.overdue")
    assert entry.actor == "system:erasure-watchdog"
    assert entry.detail["due_at"] == due.isoformat() and entry.detail["reason"] == "employee_request"

    # Every minute until it is due, and at the due time itself (not past it yet): nothing new.
    for minutes in (58, 30, 1, 0):
        time_machine.move_to(due - timedelta(minutes=minutes), tick=False)
        assert flag_overdue_erasures_task.delay().get() == {"due_within_hour": 0, "overdue": 0}
    assert len(_flags()) == 1 and len(_watchdog_lines(caplog)) == 1

    time_machine.move_to(due + timedelta(minutes=1), tick=False)
    assert flag_overdue_erasures_task.delay().get() == {"due_within_hour": 0, "overdue": 1}
    assert _flags() == [(str(request.id), "due_within_hour"), (str(request.id), "overdue")]

    for later in (timedelta(minutes=2), timedelta(hours=5), timedelta(days=3)):
        time_machine.move_to(due + later, tick=False)
        assert flag_overdue_erasures_task.delay().get() == {"due_within_hour": 0, "overdue": 0}
    assert len(_flags()) == 2

    lines = _watchdog_lines(caplog)
    assert [r.levelno for r in lines] == [logging.ERROR, logging.ERROR]
    assert "due within the hour" in lines[0].getMessage() and "overdue" in lines[1].getMessage()
    pseudonym = subject_for_employee(alice).pseudonym
    for line in lines:
        text = line.getMessage()
        assert str(request.id) in text
        for secret in (alice.username, alice.first_name, alice.last_name, alice.email, str(pseudonym)):
            assert not secret or secret not in text, f"{secret!r} leaked into the log line"
        # Nor in anything attached to the record.
        assert not any(str(pseudonym) in str(arg) for arg in line.args or ())


def test_a_request_first_seen_overdue_is_flagged_overdue_only(alice, api_as, notice, time_machine, caplog):
    time_machine.move_to(START, tick=False)
    request = _ask(api_as, alice)
    time_machine.move_to(request.due_at + timedelta(hours=2), tick=False)
    assert flag_overdue_erasures_task.delay().get() == {"due_within_hour": 0, "overdue": 1}
    assert flag_overdue_erasures_task.delay().get() == {"due_within_hour": 0, "overdue": 0}
    assert _flags() == [(str(request.id), "overdue")]


def test_a_request_done_in_time_is_never_flagged(stored_request, time_machine):
    request = stored_request
    assert erasure_request_carry_out(request_id=request.pk) is True
    time_machine.move_to(request.due_at + timedelta(days=1), tick=False)
    assert flag_overdue_erasures_task.delay().get() == {"due_within_hour": 0, "overdue": 0}
    assert _flags() == []


@pytest.fixture
def stored_request(alice, api_as, notice, time_machine):
    time_machine.move_to(START, tick=False)
    return _ask(api_as, alice)


def test_the_watchdog_is_on_the_beat_schedule_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["erasure-watchdog"]
    assert entry["task"] == "erasure.tasks.flag_overdue_erasures_task"
    assert entry["schedule"] == timedelta(seconds=60)
    assert flag_overdue_erasures_task.name == entry["task"]


def test_every_step_of_a_request_is_an_audit_entry(alice, api_as, notice, time_machine):
    """Asked, flagged due soon, flagged overdue, carried out (key, ciphertext), completed: none is silent."""
    time_machine.move_to(START, tick=False)
    request = _ask(api_as, alice)
    time_machine.move_to(request.due_at - timedelta(minutes=10), tick=False)
    flag_overdue_erasures_task.delay().get()
    time_machine.move_to(request.due_at + timedelta(minutes=10), tick=False)
    flag_overdue_erasures_task.delay().get()
    assert erasure_request_carry_out(request_id=request.pk) is True
    pseudonym = subject_for_employee(alice).pseudonym
    steps = list(
        AuditEntry.objects.filter(target=f"subject:{pseudonym}").order_by("seq").values_list("action", flat=True)
    )
    # Erasing everything shreds the data key when the request is made (unreadable at once);
    # the job deletes the ciphertext later.
    assert steps == [
        "erasure.requested",
        "collection.erase.key_destroyed",
        "erasure.overdue",
        "erasure.overdue",
        "collection.erase.ciphertext_deleted",
        "erasure.completed",
    ]
    completed = AuditEntry.objects.get(action="erasure.completed")
    assert completed.detail["overdue"] is True
    # Done: nothing more to flag, and it no longer counts as flagged.
    assert flag_overdue_erasures_task.delay().get() == {"due_within_hour": 0, "overdue": 0}


def test_the_officer_console_counts_flagged_requests(portal_as, olivia, alice, bob, notice, time_machine):
    time_machine.move_to(START, tick=False)
    from erasure.services import erasure_request_create

    first = erasure_request_create(employee=alice)
    time_machine.move_to(START + timedelta(days=10), tick=False)
    erasure_request_create(employee=bob)
    page = portal_as(olivia).get("/officer").content.decode()
    assert 'id="erasure-flagged">0</td>' in page
    time_machine.move_to(first.due_at - timedelta(minutes=30), tick=False)
    flag_overdue_erasures_task.delay().get()
    page = portal_as(olivia).get("/officer").content.decode()
    assert "Flagged by the watchdog" in page
    assert 'class="bad" id="erasure-flagged">1</td>' in page
    assert "alice" not in page and "bob" not in page


# --- GET /metrics -------------------------------------------------------------------------


def _metrics_sample(body: str, name: str) -> str:
    values = [line.split(" ", 1)[1] for line in body.splitlines() if line.startswith(name + " ")]
    assert len(values) == 1, body
    return values[0]


@pytest.fixture
def due_mix(alice, bob, notice, time_machine):
    """Three pending requests at START + 30 days + 30 minutes: one overdue, one due in 30 minutes, one later."""
    from erasure.services import erasure_request_create

    time_machine.move_to(START - timedelta(minutes=30), tick=False)
    erasure_request_create(employee=alice)  # due 30 minutes before "now"
    time_machine.move_to(START + timedelta(hours=1), tick=False)
    erasure_request_create(employee=bob)  # due 30 minutes after "now"
    time_machine.move_to(START + timedelta(days=5), tick=False)
    erasure_request_create(employee=make_user("cara", "employee"))
    time_machine.move_to(START + timedelta(days=30, minutes=30), tick=False)
    flag_overdue_erasures_task.delay().get()


def test_metrics_publish_the_erasure_figures_to_a_scraper_with_the_token(client, settings, due_mix):
    settings.METRICS_TOKEN = "scrape-me-0123456789"
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me-0123456789")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    body = response.content.decode()
    assert "# TYPE erasure_requests_pending gauge" in body
    assert _metrics_sample(body, "erasure_requests_pending") == "3"
    assert _metrics_sample(body, "erasure_requests_overdue") == "1"
    assert _metrics_sample(body, "erasure_requests_due_within_hour") == "1"
    # The oldest was asked 30 days and an hour ago.
    assert _metrics_sample(body, "erasure_oldest_pending_age_seconds") == str(30 * 86400 + 3600)
    assert 'erasure_requests_flagged{state="due_within_hour"} 1' in body
    assert 'erasure_requests_flagged{state="overdue"} 1' in body
    assert "alice" not in body and "bob" not in body


def test_metrics_are_read_by_officers_and_auditors_signed_in(portal_as, olivia, aaron, alice, due_mix):
    for reader in (olivia, aaron):
        response = portal_as(reader).get("/metrics")
        assert response.status_code == 200
        assert _metrics_sample(response.content.decode(), "erasure_requests_pending") == "3"
    denied = portal_as(alice).get("/metrics")
    assert denied.status_code == 403 and denied.json()["error"] == "permission_denied"


@pytest.mark.parametrize(
    ("configured", "header"),
    [
        ("scrape-me-0123456789", None),
        ("scrape-me-0123456789", "Bearer wrong-token"),
        ("scrape-me-0123456789", "Basic c2NyYXBlLW1lLTAxMjM0NTY3ODk="),
        ("scrape-me-0123456789", "Bearer "),
        # No token configured: no bearer token opens it, not even an empty one.
        ("", "Bearer "),
        ("", "Bearer anything"),
    ],
)
def test_metrics_refuse_anyone_without_the_token_or_a_session(client, settings, db, configured, header):
    settings.METRICS_TOKEN = configured
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = client.get("/metrics", **extra)
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'


def test_metrics_with_nothing_pending_are_zero(client, settings, db):
    settings.METRICS_TOKEN = "scrape-me-0123456789"
    body = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me-0123456789").content.decode()
    for name in (
        "erasure_requests_pending",
        "erasure_requests_overdue",
        "erasure_requests_due_within_hour",
        "erasure_oldest_pending_age_seconds",
    ):
        assert _metrics_sample(body, name) == "0"


def _at_once(n: int, work) -> list:
    """Run ``work`` in ``n`` threads released together; returns their results (raises what any raised)."""
    import threading

    from django.db import connections

    start, results, errors = threading.Barrier(n), [], []

    def worker() -> None:
        try:
            start.wait(timeout=30)
            results.append(work())
        except Exception as exc:  # reported below: a thread's exception is otherwise lost
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_watchdogs_running_at_once_flag_each_request_once(alice, bob, notice, time_machine, monkeypatch):
    from erasure.services import erasure_overdue_flag, erasure_request_create

    # Committed for real here, so hold back the erasure that would start at once: they stay pending.
    monkeypatch.setattr("erasure.tasks.erase_subject_task.delay", lambda request_id: None)
    time_machine.move_to(START, tick=False)
    requests = [erasure_request_create(employee=alice), erasure_request_create(employee=bob)]
    time_machine.move_to(requests[0].due_at + timedelta(minutes=5), tick=False)
    results = _at_once(4, erasure_overdue_flag)
    assert sum(r["overdue"] for r in results) == 2
    assert sorted(_flags()) == sorted((str(r.id), "overdue") for r in requests)
