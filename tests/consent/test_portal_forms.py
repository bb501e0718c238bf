"""What the portal forms accept and refuse, and how a refusal reads on the page."""

from __future__ import annotations

import pytest

from consent.models import AllowedApplication, ConsentEvent, ConsentNotice, ConsentState, RetentionRule
from consent.services import consent_grant, notice_create, subject_for_employee
from erasure.models import ErasureRequest
from tests.conftest import ALL_CATEGORIES

pytestmark = pytest.mark.django_db


def messages_on(response) -> str:
    return response.content.decode().split('class="messages"')[1].split("</ul>")[0]


def test_choices_without_a_notice_version_ask_for_a_reload(portal_as, alice, notice):
    for posted in ({"categories": ["mouse"]}, {"notice_version": "one", "categories": ["mouse"]}):
        response = portal_as(alice).post("/portal/choices", posted, follow=True)
        assert "The page did not say which notice you read" in messages_on(response)
    assert not ConsentEvent.objects.exists()


def test_an_unknown_category_is_refused_by_name(portal_as, alice, notice):
    response = portal_as(alice).post("/portal/choices", {"notice_version": "1", "categories": ["webcam"]}, follow=True)
    assert "Unknown data categories: webcam." in messages_on(response)
    assert not ConsentEvent.objects.exists()


def test_saving_the_same_choices_again_changes_nothing(portal_as, alice, notice):
    consent_grant(employee=alice, categories=["mouse"], notice_version=1)
    response = portal_as(alice).post("/portal/choices", {"notice_version": "1", "categories": ["mouse"]}, follow=True)
    assert "Nothing changed." in messages_on(response)
    assert ConsentEvent.objects.count() == 1


def test_withdrawing_without_erasure_records_no_request(portal_as, alice, notice):
    consent_grant(employee=alice, categories=["mouse"], notice_version=1)
    response = portal_as(alice).post("/portal/withdraw", {}, follow=True)
    text = messages_on(response)
    assert "Capture stopped at once." in text and "erasure request" not in text
    assert not ErasureRequest.objects.exists()


def test_reviewing_confirms_held_categories_under_the_current_notice(portal_as, alice, olivia, notice, allowlist):
    from consent.services import notice_publish

    consent_grant(employee=alice, categories=["mouse"], notice_version=1)
    body = {"summary": "s", "purposes": [{"id": "p", "description": "d"}], "access": "a", "rights": "r"}
    notice_publish(
        actor=olivia, notice=notice_create(actor=olivia, title="v2", categories=ALL_CATEGORIES, contact="c", **body)
    )
    missing = portal_as(alice).post("/portal/review", {}, follow=True)
    assert "There is no notice version 0" in messages_on(missing)
    response = portal_as(alice).post("/portal/review", {"notice_version": "2"}, follow=True)
    assert "Your choices now follow the current notice." in messages_on(response)
    state = ConsentState.objects.get(subject=subject_for_employee(alice))
    assert state.granted["mouse"]["notice_version"] == 2
    again = portal_as(alice).post("/portal/review", {"notice_version": "2"}, follow=True)
    assert "already under the current notice" in messages_on(again)


def test_the_erasure_button_asks_for_everything(portal_as, alice, notice):
    # Nothing switched on: the portal offers only the erasure, which the next page confirms.
    assert 'type="hidden" name="mode" value="keep"' in portal_as(alice).get("/portal").content.decode()
    response = portal_as(alice).post("/portal/erasure", {"mode": "keep", "confirm": "on"}, follow=True)
    assert "Your erasure request is recorded" in messages_on(response)
    assert "Nothing is being recorded now." in messages_on(response)
    request = ErasureRequest.objects.get()
    assert request.categories == [] and request.reason == "employee_request"


def test_a_draft_opens_with_its_fields_filled_in(portal_as, olivia, notice_body):
    draft = notice_create(actor=olivia, **notice_body)
    page = portal_as(olivia).get(f"/officer/notices/{draft.pk}")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'value="Recording computer use, version two"' in text
    assert ">agent-training: Train AI agents that operate computers.</textarea>" in text
    assert 'value="mouse" checked' in text and 'value="keystrokes" >' in text
    assert 'value="privacy@example.com"' in text


def test_a_refused_draft_keeps_what_the_officer_typed(portal_as, olivia):
    form = {
        "title": "Recording for agents",
        "summary": "We record.",
        "purposes": "Not An Id: described",
        "categories": ["mouse"],
        "access": "ML team",
        "rights": "Withdraw any time",
        "contact": "privacy@example.com",
    }
    response = portal_as(olivia).post("/officer/notices/new", form)
    assert response.status_code == 400 and not ConsentNotice.objects.exists()
    text = response.content.decode()
    assert "must be lowercase letters, digits and hyphens" in messages_on(response)
    assert 'value="Recording for agents"' in text and ">Not An Id: described</textarea>" in text
    assert 'value="mouse" checked' in text


def test_an_overlong_title_is_refused_before_the_service(portal_as, olivia):
    response = portal_as(olivia).post("/officer/notices/new", {"title": "x" * 201})
    assert response.status_code == 400 and not ConsentNotice.objects.exists()
    assert "at most 200 characters" in messages_on(response)


def test_an_allowlist_row_without_a_name_is_refused_by_name(portal_as, olivia, allowlist):
    client = portal_as(olivia)
    blank = client.post(
        "/officer/allowlist/save",
        {"app": ["org.mozilla.firefox"], "name:org.mozilla.firefox": " ", "categories:org.mozilla.firefox": ["mouse"]},
    )
    assert blank.status_code == 302
    assert "Give org.mozilla.firefox a display name; nothing was saved." in messages_on(client.get("/officer"))
    firefox = AllowedApplication.objects.get(app_id="org.mozilla.firefox")
    assert firefox.display_name == "Firefox" and "mouse" in firefox.categories and len(firefox.categories) == 4


def test_a_retention_value_that_is_not_a_number_is_named(portal_as, olivia, allowlist):
    response = portal_as(olivia).post("/officer/retention", {"mouse": "ten", "clicks": "10"}, follow=True)
    assert "mouse: the maximum age must be a whole number of days." in messages_on(response)
    assert RetentionRule.objects.get(category="clicks").max_age_days == 90
    nothing = portal_as(olivia).post("/officer/retention", {"mouse": " "}, follow=True)
    assert "Give at least one category" in messages_on(nothing)
