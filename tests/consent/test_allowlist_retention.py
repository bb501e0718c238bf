"""Officers manage the application allowlist and the retention rules; every change is audited with old and new values."""

import pytest

from audit.models import AuditEntry
from consent.models import AllowedApplication, RetentionRule

pytestmark = pytest.mark.django_db

SLACK = {"app_id": "com.tinyspeck.slackmacgap", "display_name": "Slack", "categories": ["mouse", "clicks"]}


def test_an_officer_adds_changes_and_removes_an_application(api_as, olivia):
    client = api_as(olivia)
    created = client.post("/api/v1/consent/allowlist", SLACK, format="json")
    assert created.status_code == 201 and created.json() == {**SLACK, "categories": ["clicks", "mouse"]}

    changed = client.patch(f"/api/v1/consent/allowlist/{SLACK['app_id']}", {"categories": ["app_focus"]}, format="json")
    assert changed.status_code == 200 and changed.json()["categories"] == ["app_focus"]

    assert client.delete(f"/api/v1/consent/allowlist/{SLACK['app_id']}").status_code == 204
    assert not AllowedApplication.objects.exists()

    entries = list(AuditEntry.objects.filter(action__startswith="allowlist.").order_by("seq"))
    assert [e.action for e in entries] == ["allowlist.added", "allowlist.updated", "allowlist.removed"]
    assert entries[1].detail["old"]["categories"] == ["clicks", "mouse"] and entries[1].detail["new"]["categories"] == [
        "app_focus"
    ]
    assert entries[2].detail["new"] is None and entries[2].target == "app:com.tinyspeck.slackmacgap"


def test_everyone_signed_in_reads_the_allowlist_but_only_officers_write(api_as, api, alice, allowlist):
    assert [a["app_id"] for a in api_as(alice).get("/api/v1/consent/allowlist").json()] == [
        "org.mozilla.firefox",
        "com.microsoft.VSCode",
    ]
    anonymous = api.get("/api/v1/consent/allowlist")
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "not_authenticated"
    assert api_as(alice).post("/api/v1/consent/allowlist", SLACK, format="json").status_code == 403
    assert api_as(alice).delete("/api/v1/consent/allowlist/org.mozilla.firefox").status_code == 403
    assert AllowedApplication.objects.count() == 2


@pytest.mark.parametrize(
    ("app_id", "code"),
    [
        ("", "invalid_app_id"),
        ("   ", "invalid_app_id"),
        ("*", "invalid_app_id"),
        ("com.example.*", "invalid_app_id"),
        ("Slack - general", "invalid_app_id"),
        ("%slack%", "invalid_app_id"),
    ],
)
def test_empty_or_wildcard_application_ids_are_refused(api_as, olivia, app_id, code):
    response = api_as(olivia).post("/api/v1/consent/allowlist", {**SLACK, "app_id": app_id}, format="json")
    assert response.status_code == 400 and response.json()["error"] == code
    assert not AllowedApplication.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="allowlist").exists()


def test_an_application_is_listed_once(api_as, olivia, allowlist):
    response = api_as(olivia).post(
        "/api/v1/consent/allowlist", {**SLACK, "app_id": "org.mozilla.firefox"}, format="json"
    )
    assert response.status_code == 409 and response.json()["error"] == "app_exists"


def test_allowlist_entries_need_known_categories(api_as, olivia):
    response = api_as(olivia).post("/api/v1/consent/allowlist", {**SLACK, "categories": ["screenshots"]}, format="json")
    assert response.status_code == 400 and response.json()["error"] == "unknown_category"


def test_changing_an_unknown_application_is_not_found(api_as, olivia):
    assert (
        api_as(olivia).patch("/api/v1/consent/allowlist/com.nope", {"display_name": "x"}, format="json").status_code
        == 404
    )


def test_an_officer_sets_retention_and_the_others_keep_their_rule(api_as, olivia, allowlist):
    response = api_as(olivia).put("/api/v1/consent/retention", {"rules": {"keystrokes": 14}}, format="json")
    assert response.status_code == 200
    assert response.json()["rules"] == {
        "app_focus": 90,
        "clicks": 90,
        "keystroke_timing": 90,
        "keystrokes": 14,
        "mouse": 90,
    }
    entry = AuditEntry.objects.get(action="retention.changed")
    assert entry.detail["old"]["keystrokes"] == 90 and entry.detail["new"]["keystrokes"] == 14


@pytest.mark.parametrize(
    ("rules", "code"),
    [
        ({"keystrokes": -1}, "invalid_retention"),
        ({"keystrokes": 0}, "invalid_retention"),
        ({"mouse": 30, "keystrokes": -5}, "invalid_retention"),
        ({"telepathy": 3}, "unknown_category"),
        ({}, "invalid"),
    ],
)
def test_bad_retention_is_refused_and_nothing_changes(api_as, olivia, allowlist, rules, code):
    response = api_as(olivia).put("/api/v1/consent/retention", {"rules": rules}, format="json")
    assert response.status_code == 400 and response.json()["error"] == code
    assert set(RetentionRule.objects.values_list("max_age_days", flat=True)) == {90}
    assert not AuditEntry.objects.filter(action="retention.changed").exists()


def test_only_officers_set_retention(api_as, alice, aaron, allowlist):
    for user in (alice, aaron):
        assert api_as(user).put("/api/v1/consent/retention", {"rules": {"mouse": 1}}, format="json").status_code == 403
    assert api_as(alice).get("/api/v1/consent/retention").json()["rules"]["mouse"] == 90
