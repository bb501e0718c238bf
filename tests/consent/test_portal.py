"""The employee portal and the officer console, for each role, allowed and denied."""

import io

import pytest
from django.core.management import call_command

from consent.models import AllowedApplication, ConsentEvent, ConsentNotice, ConsentState, RetentionRule
from consent.services import consent_grant, notice_create, subject_for_employee
from erasure.models import ErasureRequest

pytestmark = pytest.mark.django_db


def state_of(employee):
    return ConsentState.objects.get(subject=subject_for_employee(employee))


def test_the_portal_explains_what_is_collected_with_everything_off(portal_as, alice, notice, allowlist):
    page = portal_as(alice).get("/portal")
    assert page.status_code == 200
    text = page.content.decode()
    for expected in (
        "Recording computer use to train agents",  # what
        "Train AI agents that operate computers.",  # why
        "Firefox",  # where
        "90 days",  # how long
        "Approved ML team members, per request.",  # who may access
        "Withdraw at any time in the portal.",  # how to withdraw
    ):
        assert expected in text
    assert "checked" not in text.split('id="choices"')[1].split("</form>")[0]
    assert "Withdraw all consent now" not in text  # nothing to withdraw yet


def test_an_employee_switches_categories_on_and_off_on_the_portal(portal_as, alice, notice, allowlist):
    client = portal_as(alice)
    response = client.post("/portal/choices", {"notice_version": "1", "categories": ["mouse", "clicks"]})
    assert response.status_code == 302 and response["Location"] == "/portal"
    assert sorted(state_of(alice).granted) == ["clicks", "mouse"]

    client.post("/portal/choices", {"notice_version": "1", "categories": ["clicks", "app_focus"]})
    assert sorted(state_of(alice).granted) == ["app_focus", "clicks"]
    kinds = list(ConsentEvent.objects.order_by("epoch").values_list("kind", "categories", "channel"))
    assert kinds == [
        ("granted", ["clicks", "mouse"], "portal"),
        ("withdrawn", ["mouse"], "portal"),
        ("granted", ["app_focus"], "portal"),
    ]

    page = client.get("/portal").content.decode()
    assert page.count("Download</a>") == 3


def test_withdrawing_everything_is_one_click_with_optional_erasure(portal_as, alice, notice, allowlist):
    consent_grant(employee=alice, categories=["mouse", "keystrokes"], notice_version=1)
    client = portal_as(alice)
    assert "Withdraw all consent now" in client.get("/portal").content.decode()
    # Erasure cannot be undone: the first post leads to a confirmation page and changes nothing.
    asked = client.post("/portal/withdraw", {"erase": "on"})
    assert asked.status_code == 302 and asked["Location"] == "/portal/withdraw?erase=on"
    assert len(state_of(alice).granted) == 2 and not ErasureRequest.objects.exists()
    confirmed = client.post("/portal/withdraw", {"erase": "on", "confirm": "on"})
    assert confirmed.status_code == 302 and confirmed["Location"] == "/portal"
    response = client.get("/portal")
    assert state_of(alice).granted == {}
    assert ErasureRequest.objects.get().reason == "withdrawal"
    text = response.content.decode()
    assert "Capture stopped at once" in text and "Withdrawal with erasure" in text and "Pending" in text


def test_a_stale_page_cannot_grant_under_a_superseded_notice(portal_as, alice, olivia, notice, allowlist):
    from consent.services import notice_publish

    notice_publish(
        actor=olivia,
        notice=notice_create(
            actor=olivia,
            title="v2",
            summary="s",
            purposes=[{"id": "p", "description": "d"}],
            categories=["mouse"],
            access="a",
            rights="r",
            contact="c",
        ),
    )
    response = portal_as(alice).post("/portal/choices", {"notice_version": "1", "categories": ["mouse"]}, follow=True)
    assert "not the current one" in response.content.decode()
    assert not ConsentEvent.objects.exists()


def test_an_employee_excludes_applications_on_the_portal(portal_as, alice, notice, allowlist):
    portal_as(alice).post(
        "/portal/exclusions", {"excluded_apps": ["org.mozilla.firefox"], "other_apps": "com.spotify.client\n"}
    )
    assert state_of(alice).excluded_apps == ["com.spotify.client", "org.mozilla.firefox"]
    text = portal_as(alice).get("/portal").content.decode()
    assert "com.spotify.client" in text.split('id="other_apps"')[1]


def test_the_portal_links_collection_pages_only_when_they_exist(portal_as, alice, notice, monkeypatch):
    from consent.views import employee as views

    monkeypatch.setattr(views, "_optional_url", lambda name: None)
    assert b"Capture devices" not in portal_as(alice).get("/portal").content
    monkeypatch.setattr(
        views, "_optional_url", lambda name: {"collection:devices": "/devices", "collection:my_data": "/my-data"}[name]
    )
    text = portal_as(alice).get("/portal").content.decode()
    assert 'href="/devices"' in text and 'href="/my-data"' in text


def test_the_portal_works_before_any_notice(portal_as, alice):
    page = portal_as(alice).get("/portal")
    assert page.status_code == 200 and b"has not published a consent notice" in page.content


@pytest.mark.parametrize("who", ["olivia", "rita", "aaron", "adam"])
def test_only_employees_have_a_portal(portal_as, request, who, notice):
    client = portal_as(request.getfixturevalue(who))
    assert client.get("/portal").status_code == 403
    assert client.post("/portal/choices", {"notice_version": "1", "categories": ["mouse"]}).status_code == 403
    assert client.post("/portal/withdraw").status_code == 403
    assert not ConsentEvent.objects.exists()


def test_signed_out_visitors_are_sent_to_sign_in(client):
    assert client.get("/portal")["Location"].startswith("/login")
    assert client.get("/officer")["Location"].startswith("/login")


def test_the_officer_writes_and_publishes_a_notice_on_the_console(portal_as, olivia, allowlist):
    client = portal_as(olivia)
    form = {
        "title": "Recording for agents",
        "summary": "We record.",
        "purposes": "agent-training: Train agents\n",
        "categories": ["mouse", "clicks"],
        "access": "ML team",
        "rights": "Withdraw any time",
        "contact": "privacy@example.com",
    }
    response = client.post("/officer/notices/new", form)
    draft = ConsentNotice.objects.get()
    assert response["Location"] == f"/officer/notices/{draft.pk}"
    assert draft.purposes == [{"id": "agent-training", "description": "Train agents"}]

    client.post(f"/officer/notices/{draft.pk}", {**form, "title": "Recording for AI agents"})
    client.post(f"/officer/notices/{draft.pk}/publish")
    draft.refresh_from_db()
    assert draft.status == "published" and draft.version == 1 and draft.title == "Recording for AI agents"

    refused = client.post(f"/officer/notices/{draft.pk}", {**form, "title": "Changed after publishing"})
    assert refused.status_code == 409
    draft.refresh_from_db()
    assert draft.title == "Recording for AI agents"
    assert b"Published notices cannot be changed" in client.get(f"/officer/notices/{draft.pk}").content


def test_a_bad_notice_form_shows_the_problem(portal_as, olivia):
    response = portal_as(olivia).post("/officer/notices/new", {"title": "x", "purposes": "no colon here"})
    assert response.status_code == 400 and not ConsentNotice.objects.exists()


def test_the_officer_manages_the_allowlist_and_retention_on_the_console(portal_as, olivia, allowlist):
    client = portal_as(olivia)
    client.post(
        "/officer/allowlist", {"app_id": "com.apple.Terminal", "display_name": "Terminal", "categories": ["keystrokes"]}
    )
    assert AllowedApplication.objects.get(app_id="com.apple.Terminal").categories == ["keystrokes"]

    wildcard = client.post(
        "/officer/allowlist",
        {"app_id": "com.apple.*", "display_name": "All Apple", "categories": ["mouse"]},
        follow=True,
    )
    assert "Wildcards are not allowed" in wildcard.content.decode()

    # The table is one form: every row is posted together.
    saved = client.post(
        "/officer/allowlist/save",
        {
            "app": ["com.apple.Terminal", "com.microsoft.VSCode", "org.mozilla.firefox"],
            "name:com.apple.Terminal": "Terminal",
            "categories:com.apple.Terminal": ["keystroke_timing"],
            "name:com.microsoft.VSCode": "VS Code",
            "categories:com.microsoft.VSCode": list(allowlist[0].categories),
            "name:org.mozilla.firefox": "Firefox",
            "categories:org.mozilla.firefox": list(allowlist[1].categories),
        },
    )
    assert saved.status_code == 302
    assert AllowedApplication.objects.get(app_id="com.apple.Terminal").categories == ["keystroke_timing"]
    confirm = client.get("/officer/allowlist/com.apple.Terminal/remove")
    assert confirm.status_code == 200 and "Remove Terminal from the allowlist?" in confirm.content.decode()
    assert AllowedApplication.objects.filter(app_id="com.apple.Terminal").exists(), "the confirmation removes nothing"
    client.post("/officer/allowlist/com.apple.Terminal/remove")
    assert not AllowedApplication.objects.filter(app_id="com.apple.Terminal").exists()

    negative = client.post("/officer/retention", {"keystrokes": "-3", "mouse": "10"}, follow=True)
    assert "between 1 and" in negative.content.decode()
    assert RetentionRule.objects.get(category="mouse").max_age_days == 90
    client.post("/officer/retention", {"keystrokes": "7"})
    assert RetentionRule.objects.get(category="keystrokes").max_age_days == 7


def test_the_officer_console_never_shows_an_individual(portal_as, olivia, alice, notice, allowlist):
    consent_grant(employee=alice, categories=["keystrokes"], notice_version=1)
    text = portal_as(olivia).get("/officer").content.decode()
    assert "alice" not in text.replace("olivia", "") and subject_for_employee(alice).pseudonym not in text


def test_seed_demo_is_idempotent(settings, olivia):
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    counts = (ConsentNotice.objects.count(), AllowedApplication.objects.count(), ConsentEvent.objects.count())
    call_command("seed_demo", stdout=io.StringIO())
    assert (ConsentNotice.objects.count(), AllowedApplication.objects.count(), ConsentEvent.objects.count()) == counts
    assert ConsentNotice.objects.get().version == 1 and counts[1] == 4
    from accounts.models import User

    alice = User.objects.get(username="alice")
    assert sorted(state_of(alice).granted) == ["app_focus", "clicks", "keystroke_timing", "mouse"]
    granted = ConsentState.objects.exclude(last_event=None).count()
    assert 10 < granted < User.objects.filter(roles__role="employee").count()


def test_an_employee_withdraws_a_single_category_on_the_portal(portal_as, alice, notice, allowlist):
    consent_grant(employee=alice, categories=["mouse", "clicks"], notice_version=1)
    portal_as(alice).post("/portal/withdraw", {"category": "mouse"})
    assert sorted(state_of(alice).granted) == ["clicks"]
    assert not ErasureRequest.objects.exists()
    refused = portal_as(alice).post("/portal/withdraw", {"category": "mouse"}, follow=True)
    assert "nothing to withdraw there" in refused.content.decode()
