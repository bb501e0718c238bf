"""Writing a new notice: it starts from the current one, shows what changes, and publishing is confirmed."""

from __future__ import annotations

import pytest

from consent.models import ConsentNotice, RetentionRule
from consent.services import consent_grant
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def _draft_form(**overrides):
    form = {
        "title": "Recording computer use to train agents",
        "summary": "We record how you use selected applications to train AI agents.\nNothing else.",
        "purposes": "agent-training: Train AI agents that operate computers.\n",
        "categories": ["mouse", "clicks", "app_focus", "keystroke_timing"],
        "access": "Approved ML team members, per request.",
        "rights": "Withdraw at any time in the portal.",
        "contact": "privacy@example.com",
    }
    return {**form, **overrides}


def test_a_new_notice_starts_from_the_published_one(portal_as, olivia, notice):
    page = portal_as(olivia).get("/officer/notices/new").content.decode()

    assert 'value="Recording computer use to train agents"' in page
    assert "Approved ML team members, per request." in page
    assert "starts as a copy of version 1" in page
    assert not ConsentNotice.objects.filter(status="draft").exists(), "opening the editor saves nothing"


def test_a_draft_shows_its_changes_and_whose_consent_ends(portal_as, olivia, alice, bob, notice, allowlist):
    consent_grant(employee=alice, categories=["keystrokes", "mouse"], notice_version=1)
    consent_grant(employee=bob, categories=["keystrokes"], notice_version=1)
    consent_grant(employee=make_user("cara", "employee"), categories=["mouse"], notice_version=1)
    client = portal_as(olivia)
    client.post("/officer/notices/new", _draft_form())
    draft = ConsentNotice.objects.get(status="draft")

    page = client.get(f"/officer/notices/{draft.pk}").content.decode()

    assert "Changes against version 1" in page
    # The summary gained a line; line diffs are marked as insertions, not by colour alone.
    assert '<ins><span class="visually-hidden">Added: </span>Nothing else.</ins>' in page
    assert "publishing ends Keystrokes consent for 2 employees" in page


def test_publishing_is_confirmed_on_a_page_that_states_the_effect(portal_as, olivia, alice, notice, allowlist):
    consent_grant(employee=alice, categories=["keystrokes", "mouse"], notice_version=1)
    client = portal_as(olivia)
    client.post("/officer/notices/new", _draft_form())
    draft = ConsentNotice.objects.get(status="draft")

    confirm = client.get(f"/officer/notices/{draft.pk}/publish")

    assert confirm.status_code == 200
    text = confirm.content.decode()
    assert "Publish this notice?" in text and "superseding version 1" in text
    assert "publishing ends Keystrokes consent for 1 employee." in text
    draft.refresh_from_db()
    assert draft.status == "draft", "looking at the confirmation publishes nothing"

    done = client.post(f"/officer/notices/{draft.pk}/publish")
    assert done.status_code == 302
    draft.refresh_from_db()
    assert draft.status == "published" and draft.version == 2


def test_retention_that_differs_from_the_notice_is_flagged(portal_as, olivia, notice, allowlist):
    client = portal_as(olivia)
    assert "differ from what version 1" not in client.get("/officer").content.decode()

    RetentionRule.objects.filter(category="keystrokes").update(max_age_days=30)

    home = client.get("/officer").content.decode()
    assert "These rules differ from what version 1 of the notice told employees:" in home
    assert "Keystrokes 30 days (the notice says 90 days)" in home
    client.post("/officer/notices/new", _draft_form(categories=["keystrokes", "mouse"]))
    draft = ConsentNotice.objects.get(status="draft")
    editor = client.get(f"/officer/notices/{draft.pk}").content.decode()
    assert "Retention differs from what employees were told." in editor
    assert "Keystrokes: 30 days (version 1 says 90 days)" in editor


def test_a_draft_without_retention_rules_cannot_be_published_from_the_confirmation(portal_as, olivia, notice):
    client = portal_as(olivia)
    client.post("/officer/notices/new", _draft_form(categories=["mouse"]))
    draft = ConsentNotice.objects.get(status="draft")

    confirm = client.get(f"/officer/notices/{draft.pk}/publish").content.decode()

    assert "Set a retention rule before publishing; none for: Mouse movement." in confirm
    assert "disabled" in confirm


def test_a_draft_is_previewed_as_employees_will_see_it(portal_as, olivia, notice, allowlist):
    client = portal_as(olivia)
    client.post("/officer/notices/new", _draft_form(title="Recording, revised", categories=["mouse", "clicks"]))
    draft = ConsentNotice.objects.get(status="draft")

    page = client.get(f"/officer/notices/{draft.pk}").content.decode()

    preview = page[page.index("Preview: as employees will see it") :]
    assert "<h3>Recording, revised</h3>" in preview
    assert "<td>Mouse movement</td><td>90 days</td>" in preview, "the retention publishing would state"
    assert "agent-training" in preview and "privacy@example.com" in preview
