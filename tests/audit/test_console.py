"""The auditor console and the periodic checkpoint task."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditCheckpoint
from audit.tasks import make_checkpoint_task


@pytest.mark.django_db
def test_the_auditor_console_lists_and_filters_entries(aaron, portal_as, record):
    record(3)
    record(1, actor="user:oscar", action="retention.change", target="category:mouse")
    client = portal_as(aaron)
    page = client.get(reverse("audit:console"))
    assert page.status_code == 200
    assert b"retention.change" in page.content and b"notice.publish" in page.content
    # No checkpoint yet: nothing vouches for the entries (tests/audit/test_anchor.py).
    assert b"Does NOT verify" in page.content and b"no checkpoint: cannot vouch for entries 0..4" in page.content
    filtered = client.get(reverse("audit:console"), {"actor": "user:oscar"})
    assert b"retention.change" in filtered.content
    assert b"notice.publish" not in filtered.content
    assert b"format=jsonl" in filtered.content and b"actor=user%3Aoscar" in filtered.content


@pytest.mark.django_db
def test_bad_filters_on_the_console_are_shown_not_crashed(aaron, portal_as, record):
    record(2)
    client = portal_as(aaron)
    page = client.get(reverse("audit:console"), {"from_seq": "99"})
    assert page.status_code == 200
    assert b"beyond the end of the log" in page.content
    page = client.get(reverse("audit:console"), {"since": "not a date", "from_seq": "-3"})
    assert page.status_code == 200
    assert b"Enter a valid date/time" in page.content


@pytest.mark.django_db
def test_the_console_pages_through_older_entries(aaron, portal_as, record):
    record(60)
    client = portal_as(aaron)
    page = client.get(reverse("audit:console"))
    assert b"before=11" in page.content
    older = client.get(reverse("audit:console"), {"before": "11"})
    assert b"<td>10</td>" in older.content and b"<td>11</td>" not in older.content


@pytest.mark.django_db
def test_the_auditor_signs_a_checkpoint_and_verifies_from_the_console(aaron, portal_as, record):
    record(2)
    client = portal_as(aaron)
    response = client.post(reverse("audit:console"), {"action": "checkpoint"}, follow=True)
    assert b"Checkpoint signed at size 3" in response.content
    checkpoint = AuditCheckpoint.objects.get()
    assert checkpoint.root_hash.encode() in response.content
    response = client.post(reverse("audit:console"), {"action": "verify"}, follow=True)
    assert b"The stored log verifies (3 entries)" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["alice", "olivia", "rita", "adam"])
def test_other_roles_cannot_open_the_console(persona, request, portal_as):
    client = portal_as(request.getfixturevalue(persona))
    assert client.get(reverse("audit:console")).status_code == 403
    assert client.post(reverse("audit:console"), {"action": "checkpoint"}).status_code == 403
    assert not AuditCheckpoint.objects.exists()


@pytest.mark.django_db
def test_the_periodic_task_checkpoints_only_a_grown_log(record):
    record(3)
    first = make_checkpoint_task.delay().get()
    assert make_checkpoint_task.delay().get() == first
    record(1)
    second = make_checkpoint_task.delay().get()
    assert second != first
    assert AuditCheckpoint.objects.get(pk=second).size == 4


@pytest.mark.django_db
def test_verify_now_says_what_to_do_when_nothing_vouches_yet_and_verifies_after_a_checkpoint(aaron, portal_as, record):
    record(3)
    client = portal_as(aaron)

    first = client.post(reverse("audit:console"), {"action": "verify"}, follow=True).content.decode()
    assert "Nothing to vouch against yet: no signed checkpoint covers the log." in first
    assert "does NOT verify" not in first

    client.post(reverse("audit:console"), {"action": "checkpoint"})
    second = client.post(reverse("audit:console"), {"action": "verify"}, follow=True).content.decode()
    assert "The stored log verifies (" in second


@pytest.mark.django_db
def test_verify_now_names_the_first_problem_of_a_broken_log(aaron, portal_as, record, monkeypatch):
    from audit import views
    from audit.verification import VerificationReport

    broken = VerificationReport(
        ok=False, size=3, problems=["entry 1: its leaf bytes do not hash to the stored leaf hash"]
    )
    monkeypatch.setattr(views, "audit_log_verify", lambda *a, **k: broken)
    record(3)

    page = portal_as(aaron).post(reverse("audit:console"), {"action": "verify"}, follow=True).content.decode()

    assert "The stored log does NOT verify: entry 1: its leaf bytes do not hash to the stored leaf hash" in page


@pytest.mark.django_db
def test_the_console_works_while_redis_is_down(aaron, portal_as, record):
    from django.test import override_settings

    from tests.collection.test_cache_outage import REDIS_DOWN

    record(3)
    client = portal_as(aaron)
    client.post(reverse("audit:console"), {"action": "checkpoint"})
    with override_settings(CACHES=REDIS_DOWN):
        page = client.get(reverse("audit:console"))
        verified = client.post(reverse("audit:console"), {"action": "verify"}, follow=True)
    assert page.status_code == 200 and b"Verifies" in page.content
    assert "The stored log verifies (" in verified.content.decode()


@pytest.mark.django_db
def test_paging_back_keeps_a_date_filter_as_the_date_the_auditor_picked(aaron, portal_as, record):
    from django.utils import timezone

    record(60)
    today = timezone.now().date().isoformat()
    client = portal_as(aaron)

    page = client.get(reverse("audit:console"), {"since": today, "until": today}).content.decode()

    older = page[page.index("Older entries") - 200 : page.index("Older entries")]
    assert f"since={today}&amp;until={today}&amp;before=" in older
    again = client.get(reverse("audit:console"), {"since": today, "until": today, "before": "11"}).content.decode()
    assert f'value="{today}"' in again, "the date picker still shows the date"
