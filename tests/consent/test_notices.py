"""Officers write, edit and publish notices; publishing supersedes; employees are asked to review."""

import pytest

from audit.models import AuditEntry
from consent.models import ConsentEvent, ConsentNotice, ConsentState, RetentionRule
from consent.services import consent_grant, notice_create, notice_publish, subject_for_employee

pytestmark = pytest.mark.django_db


def test_an_officer_writes_a_draft_that_employees_cannot_see(api_as, olivia, alice, notice_body):
    created = api_as(olivia).post("/api/v1/consent/notices", notice_body, format="json")
    assert created.status_code == 201
    body = created.json()
    assert (
        body["status"] == "draft" and body["version"] is None and body["categories"] == ["app_focus", "clicks", "mouse"]
    )

    assert api_as(alice).get(f"/api/v1/consent/notices/{body['id']}").status_code == 404
    assert api_as(alice).get("/api/v1/consent/notices").json() == []
    assert [n["id"] for n in api_as(olivia).get("/api/v1/consent/notices").json()] == [body["id"]]
    entry = AuditEntry.objects.get(action="notice.created")
    assert (
        entry.actor == "user:olivia"
        and entry.detail["old"] is None
        and entry.detail["new"]["title"] == notice_body["title"]
    )


@pytest.mark.parametrize("who", ["alice", "rita", "aaron", "adam"])
def test_only_officers_write_notices(api_as, request, who, notice_body, olivia):
    user = request.getfixturevalue(who)
    draft = notice_create(actor=olivia, **notice_body)
    client = api_as(user)
    assert client.post("/api/v1/consent/notices", notice_body, format="json").status_code == 403
    assert client.patch(f"/api/v1/consent/notices/{draft.pk}", {"title": "x"}, format="json").status_code == 403
    assert client.post(f"/api/v1/consent/notices/{draft.pk}/publish").status_code == 403
    assert ConsentNotice.objects.get(pk=draft.pk).title == notice_body["title"]


def test_drafts_are_editable_with_old_and_new_values_audited(api_as, olivia, notice_body):
    draft = notice_create(actor=olivia, **notice_body)
    response = api_as(olivia).patch(f"/api/v1/consent/notices/{draft.pk}", {"title": "Clearer title"}, format="json")
    assert response.status_code == 200 and response.json()["title"] == "Clearer title"
    entry = AuditEntry.objects.get(action="notice.updated")
    assert entry.detail["old"]["title"] == notice_body["title"] and entry.detail["new"]["title"] == "Clearer title"


def test_publishing_gives_the_next_version_and_supersedes_the_old(api_as, olivia, notice, allowlist, notice_body):
    RetentionRule.objects.filter(category="mouse").update(max_age_days=30)
    draft = notice_create(actor=olivia, **notice_body)
    response = api_as(olivia).post(f"/api/v1/consent/notices/{draft.pk}/publish")
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == 2 and body["status"] == "published"
    assert body["retention_days"] == {"app_focus": 90, "clicks": 90, "mouse": 30}
    notice.refresh_from_db()
    assert notice.status == "superseded"
    assert api_as(olivia).get("/api/v1/consent/notices/current").json()["version"] == 2
    entry = AuditEntry.objects.get(action="notice.published")
    assert entry.detail["old"]["status"] == "draft" and entry.detail["new"]["version"] == 2
    assert entry.detail["superseded_versions"] == [1]


def test_published_notices_are_immutable(api_as, olivia, notice):
    client = api_as(olivia)
    response = client.patch(f"/api/v1/consent/notices/{notice.pk}", {"title": "Rewritten"}, format="json")
    assert response.status_code == 409 and response.json()["error"] == "notice_immutable"
    again = client.post(f"/api/v1/consent/notices/{notice.pk}/publish")
    assert again.status_code == 409
    notice.refresh_from_db()
    assert notice.title == "Recording computer use to train agents" and notice.version == 1
    assert not AuditEntry.objects.filter(action__startswith="notice.").exists()


def test_grants_under_the_old_notice_keep_only_what_the_new_one_still_covers(
    olivia, alice, bob, notice, allowlist, notice_body
):
    consent_grant(employee=alice, categories=["keystrokes", "mouse"], notice_version=1)
    consent_grant(employee=bob, categories=["clicks"], notice_version=1)
    notice_publish(actor=olivia, notice=notice_create(actor=olivia, **notice_body))  # drops keystrokes

    alice_state = ConsentState.objects.get(subject=subject_for_employee(alice))
    assert sorted(alice_state.granted) == ["mouse"]
    assert alice_state.granted["mouse"]["notice_version"] == 1
    assert alice_state.epoch == 2
    superseded = ConsentEvent.objects.get(kind="superseded")
    assert superseded.subject.employee == alice and superseded.categories == ["keystrokes"]
    assert superseded.channel == "system"
    assert AuditEntry.objects.get(action="consent.superseded").actor == "user:olivia"
    # bob held nothing the new notice drops: no event, same epoch
    assert ConsentState.objects.get(subject=subject_for_employee(bob)).epoch == 1


def test_employees_are_asked_to_review_a_new_version_and_can_confirm(
    olivia, alice, notice, allowlist, notice_body, portal_as, api_as
):
    consent_grant(employee=alice, categories=["mouse"], notice_version=1)
    notice_publish(actor=olivia, notice=notice_create(actor=olivia, **notice_body))

    page = portal_as(alice).get("/portal")
    assert b"The notice has changed (now version 2)" in page.content
    assert api_as(alice).get("/api/v1/consent/me").json()["needs_review"] == ["mouse"]

    response = portal_as(alice).post("/portal/review", {"notice_version": "2"})
    assert response.status_code == 302
    state = ConsentState.objects.get(subject=subject_for_employee(alice))
    assert state.granted["mouse"]["notice_version"] == 2
    assert b"The notice has changed" not in portal_as(alice).get("/portal").content


def test_granting_under_the_superseded_version_is_refused(olivia, alice, notice, allowlist, notice_body, api_as):
    notice_publish(actor=olivia, notice=notice_create(actor=olivia, **notice_body))
    response = api_as(alice).post(
        "/api/v1/consent/me/grants", {"categories": ["mouse"], "notice_version": 1}, format="json"
    )
    assert response.status_code == 409 and response.json()["error"] == "notice_superseded"
    assert not ConsentEvent.objects.exists()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"categories": ["telepathy"]}, "unknown_category"),
        ({"purposes": [{"id": "Bad Id!", "description": "x"}]}, "invalid_purposes"),
        ({"title": "   "}, "invalid"),
        ({"categories": []}, "invalid"),
    ],
)
def test_bad_notices_are_refused(api_as, olivia, notice_body, change, code):
    response = api_as(olivia).post("/api/v1/consent/notices", {**notice_body, **change}, format="json")
    assert response.status_code == 400 and response.json()["error"] == code
    assert not ConsentNotice.objects.exists()


def test_publishing_needs_a_retention_rule_for_every_category(api_as, olivia, notice_body):
    draft = notice_create(actor=olivia, **notice_body)
    RetentionRule.objects.create(category="mouse", max_age_days=10)
    response = api_as(olivia).post(f"/api/v1/consent/notices/{draft.pk}/publish")
    assert response.status_code == 400 and response.json()["error"] == "retention_missing"
    assert "app_focus, clicks" in response.json()["detail"]
    draft.refresh_from_db()
    assert draft.status == "draft" and draft.version is None


def test_there_is_no_current_notice_before_the_first_is_published(api_as, alice):
    response = api_as(alice).get("/api/v1/consent/notices/current")
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_a_published_notice_page_is_readable_by_employees(portal_as, alice, notice):
    page = portal_as(alice).get("/notices/v1")
    assert page.status_code == 200 and b"Recording computer use to train agents" in page.content
    assert portal_as(alice).get("/notices/v7").status_code == 404
