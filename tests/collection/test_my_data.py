"""An employee's own data: summary, download, and the audit entries they leave."""

from __future__ import annotations

import json

import pytest

from audit.models import AuditEntry
from tests.collection.conftest import BROWSER, EDITOR, batch, ev, typed, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(live_token):
    upload(live_token, batch([ev("mouse.move", 60), ev("mouse.move", 70), ev("mouse.down", 65, BROWSER)]))
    upload(live_token, batch([*typed("hi a@b.io", at=80, ups=False), ev("window.focus", 90, BROWSER, title="Docs")]))


def test_the_summary_counts_per_category_and_app_with_the_date_range(stored, consenting, subject, api_as):
    response = api_as(consenting).get("/api/v1/collection/me/summary")
    assert response.status_code == 200
    assert response.json() == {
        "subject": subject.pseudonym,
        "events": 13,
        "first_ts": "2026-06-01T12:01:00Z",
        "last_ts": "2026-06-01T12:01:30Z",
        "categories": {"app_focus": 1, "clicks": 1, "keystrokes": 9, "mouse": 2},
        # The last 30 days, today (2026-06-01, frozen) last, zero-filled.
        "daily": {
            "dates": [f"2026-05-{d:02d}" for d in range(3, 32)] + ["2026-06-01"],
            "categories": {
                c: [0] * 29 + [n] for c, n in [("app_focus", 1), ("clicks", 1), ("keystrokes", 9), ("mouse", 2)]
            },
        },
        "groups": [
            {
                "category": "app_focus",
                "app": BROWSER,
                "events": 1,
                "first_ts": "2026-06-01T12:01:30Z",
                "last_ts": "2026-06-01T12:01:30Z",
            },
            {
                "category": "clicks",
                "app": BROWSER,
                "events": 1,
                "first_ts": "2026-06-01T12:01:05Z",
                "last_ts": "2026-06-01T12:01:05Z",
            },
            {
                "category": "keystrokes",
                "app": EDITOR,
                "events": 9,
                "first_ts": "2026-06-01T12:01:20Z",
                "last_ts": "2026-06-01T12:01:20.800000Z",
            },
            {
                "category": "mouse",
                "app": EDITOR,
                "events": 2,
                "first_ts": "2026-06-01T12:01:00Z",
                "last_ts": "2026-06-01T12:01:10Z",
            },
        ],
    }
    entry = AuditEntry.objects.get(action="collection.summary_view")
    assert entry.target == f"subject:{subject.pseudonym}" and entry.detail == {"events": 13}


def test_the_download_is_decrypted_redacted_and_audited_each_time(stored, consenting, subject, api_as):
    client = api_as(consenting)
    for attempt in (1, 2):
        response = client.get("/api/v1/collection/me/export")
        assert response.status_code == 200 and response["Content-Type"] == "application/x-ndjson"
        lines = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
        assert AuditEntry.objects.filter(action="collection.data_export").count() == attempt
    header, *chunks = lines
    assert header["subject"] == subject.pseudonym
    assert sum(c["count"] for c in chunks) == 13
    typed_chars = "".join(e.get("key_char") or "" for c in chunks if c["category"] == "keystrokes" for e in c["events"])
    assert typed_chars == "hi [EMAIL]"
    assert "a@b.io" not in json.dumps(lines)
    entry = AuditEntry.objects.filter(action="collection.data_export").last()
    assert entry.detail == {"events": 13} and "alice" not in entry.leaf


def test_the_audit_entry_precedes_any_byte_of_the_download(stored, consenting, api_as):
    response = api_as(consenting).get("/api/v1/collection/me/export")
    assert AuditEntry.objects.filter(action="collection.data_export").exists()  # before streaming starts
    assert b"".join(response.streaming_content)


def test_each_employee_sees_only_their_own_data(stored, bob, api_as):
    assert api_as(bob).get("/api/v1/collection/me/summary").json()["events"] == 0
    lines = b"".join(api_as(bob).get("/api/v1/collection/me/export").streaming_content).splitlines()
    assert len(lines) == 1


@pytest.mark.parametrize("user", ["olivia", "aaron", "adam"])
def test_other_roles_cannot_read_an_employees_data(stored, user, api_as, request):
    client = api_as(request.getfixturevalue(user))
    assert client.get("/api/v1/collection/me/summary").status_code == 403
    assert client.get("/api/v1/collection/me/export").status_code == 403


def test_the_portal_page_shows_the_summary_and_downloads(stored, consenting, portal_as):
    client = portal_as(consenting)
    page = client.get("/portal/my-data")
    assert page.status_code == 200
    text = page.content.decode()
    assert "<strong>13</strong> events" in text and BROWSER in text
    # The chart of the last 30 days, with its numbers as a table: a line per category, labelled in words.
    assert '<svg class="chart"' in text and 'role="img"' in text
    assert "Events recorded per day, last 30 days" in text
    assert '<th scope="col">Keystrokes</th>' in text and "keystrokes</th>" not in text
    assert '<th scope="row">06-01</th><td>1</td><td>1</td><td>9</td><td>2</td>' in text
    download = client.post("/portal/my-data/download")
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    assert len(b"".join(download.streaming_content).splitlines()) == 5
    assert AuditEntry.objects.filter(action__in=["collection.summary_view", "collection.data_export"]).count() == 2
