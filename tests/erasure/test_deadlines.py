"""Officers see how erasure requests stand against their deadlines, as counts only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from config.errors import NotPermitted
from erasure.selectors import erasure_deadlines_for_officer
from erasure.services import erasure_request_create
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def test_officers_see_erasure_deadlines_as_counts_only(portal_as, olivia, alice, bob, notice, time_machine):
    start = datetime(2026, 3, 1, tzinfo=UTC)
    time_machine.move_to(start, tick=False)
    erasure_request_create(employee=alice)
    time_machine.move_to(start + timedelta(days=20), tick=False)
    erasure_request_create(employee=bob)
    erasure_request_create(employee=make_user("cara", "employee"))
    time_machine.move_to(start + timedelta(days=31), tick=False)
    deadlines = erasure_deadlines_for_officer(actor=olivia)
    assert (deadlines.pending, deadlines.overdue, deadlines.due_within_day) == (3, 1, 0)
    assert deadlines.next_due == start + timedelta(days=30)
    time_machine.move_to(start + timedelta(days=49, hours=12), tick=False)
    deadlines = erasure_deadlines_for_officer(actor=olivia)
    assert (deadlines.pending, deadlines.overdue, deadlines.due_within_day) == (3, 1, 2)
    page = portal_as(olivia).get("/officer").content.decode()
    assert "Deletion deadlines" in page
    assert "alice" not in page and "bob" not in page and "cara" not in page
    # The chart and its table: one on schedule (none), two due within a day, one overdue.
    assert "Erasure requests against their deadlines" in page and 'role="img"' in page
    assert '<th scope="row">Pending, on schedule</th><td>0</td>' in page
    assert '<th scope="row">Due within a day</th><td>2</td>' in page
    assert '<th scope="row">Overdue</th><td>1</td>' in page


def test_only_officers_read_erasure_deadlines(alice):
    with pytest.raises(NotPermitted) as denied:
        erasure_deadlines_for_officer(actor=alice)
    assert denied.value.code == "permission_denied"


def test_the_erasure_deadlines_api_is_for_officers(api_as, olivia, alice, notice):
    erasure_request_create(employee=alice)
    body = api_as(olivia).get("/api/v1/consent/erasure-deadlines").json()
    assert body["pending"] == 1 and body["overdue"] == 0 and body["due_within_day"] == 0 and body["next_due"]
    denied = api_as(alice).get("/api/v1/consent/erasure-deadlines")
    assert denied.status_code == 403 and denied.json()["error"] == "permission_denied"
