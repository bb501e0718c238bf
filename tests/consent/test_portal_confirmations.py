"""Consequences before actions: erasure and withdrawing with erasure are confirmed on a page that states the effect.

A confirmation is a second, server-rendered step: its GET shows what will
happen with real numbers and writes nothing; only a POST carrying ``confirm``
acts, and every POST redirects, so reloading never repeats an action.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from audit.models import AuditEntry
from collection.services import device_enroll
from consent.models import ConsentEvent, ConsentState
from consent.services import consent_grant, subject_for_employee
from erasure.models import ErasureRequest
from tests.consent.portal_helpers import messages_on, store_events, visible_text

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 5, 2, 9, 30, tzinfo=UTC)
LATER = datetime(2026, 5, 20, 16, 0, tzinfo=UTC)


@pytest.fixture
def recording(time_machine, alice, notice, allowlist):
    """alice has switched keystrokes and mouse on since 2 May, and her Work laptop uploaded 4,024 events."""
    time_machine.move_to(T0, tick=False)
    consent_grant(employee=alice, categories=["keystrokes", "mouse"], notice_version=1)
    laptop, _ = device_enroll(employee=alice, name="Work laptop", platform="macos")
    store_events(alice, laptop, at=T0, counts={"keystrokes": 1000, "mouse": 3000})
    store_events(alice, laptop, at=LATER, counts={"mouse": 24})
    time_machine.move_to(LATER, tick=False)
    return laptop


def granted(employee) -> list[str]:
    return sorted(ConsentState.objects.get(subject=subject_for_employee(employee)).granted)


def nothing_written() -> bool:
    return not ErasureRequest.objects.exists() and ConsentEvent.objects.count() == 1


# --- Erasure from the erasure form: a clear choice whether recording goes on ----------


def test_the_erasure_form_offers_keep_recording_or_stop_recording(portal_as, alice, recording):
    page = visible_text(portal_as(alice).get("/portal"))
    assert "Erase what was recorded so far and keep recording" in page
    assert "Erase and stop recording (withdraw consent)" in page
    assert "On its own it does not stop recording" in page


def test_erasing_and_keeping_recording_says_recording_continues_before_and_after(portal_as, alice, recording):
    client = portal_as(alice)
    confirm = client.get("/portal/erasure?mode=keep")
    assert confirm.status_code == 200
    text = visible_text(confirm)
    assert "Deletes 4,024 events recorded since 2 May 2026, 09:30 UTC" in text
    assert "Recording continues. Work laptop keeps uploading Keystrokes, Mouse movement" in text
    assert 'href="/portal/erasure?mode=withdraw"' in confirm.content.decode()
    assert nothing_written()

    done = client.post("/portal/erasure", {"mode": "keep", "confirm": "on"})
    assert done.status_code == 302 and done["Location"] == "/portal"
    request = ErasureRequest.objects.get()
    assert request.categories == [] and request.reason == "employee_request"
    assert granted(alice) == ["keystrokes", "mouse"]
    message = messages_on(client.get("/portal"))
    assert "Recording continues: your devices keep sending new events." in message
    assert "To stop it, withdraw your consent." in message


def test_erasing_and_stopping_withdraws_consent_with_the_erasure(portal_as, alice, recording):
    client = portal_as(alice)
    text = visible_text(client.get("/portal/erasure?mode=withdraw"))
    assert "Deletes 4,024 events recorded since 2 May 2026, 09:30 UTC" in text
    assert "recording of Keystrokes, Mouse movement stops at once" in text
    assert "Work laptop will stop uploading at once." in text
    assert nothing_written()

    done = client.post("/portal/erasure", {"mode": "withdraw", "confirm": "on"})
    assert done.status_code == 302 and done["Location"] == "/portal"
    assert granted(alice) == []
    request = ErasureRequest.objects.get()
    assert request.reason == "withdrawal" and request.categories == []
    withdrawal = ConsentEvent.objects.get(kind="withdrawn")
    assert withdrawal.erasure_requested and request.event == withdrawal
    assert "recording stopped at once" in messages_on(client.get("/portal"))


def test_an_unconfirmed_erasure_post_leads_to_the_confirmation_and_writes_nothing(portal_as, alice, recording):
    response = portal_as(alice).post("/portal/erasure", {"mode": "withdraw"})
    assert response.status_code == 302 and response["Location"] == "/portal/erasure?mode=withdraw"
    assert nothing_written() and granted(alice) == ["keystrokes", "mouse"]


@pytest.mark.parametrize("posted", [{}, {"confirm": "on"}, {"mode": "everything", "confirm": "on"}])
def test_an_erasure_post_without_a_valid_choice_is_refused_by_name(portal_as, alice, recording, posted):
    client = portal_as(alice)
    response = client.post("/portal/erasure", posted)
    assert response.status_code == 302 and response["Location"] == "/portal#erasure"
    assert "Choose whether recording should go on after the erasure, or stop." in messages_on(client.get("/portal"))
    assert nothing_written()


def test_the_confirmation_page_asks_again_for_a_choice_it_does_not_know(portal_as, alice, recording):
    client = portal_as(alice)
    unknown = client.get("/portal/erasure?mode=everything")
    assert unknown.status_code == 400
    assert "Choose whether recording should go on after the erasure, or stop." in visible_text(unknown)
    assert 'name="confirm"' not in unknown.content.decode()
    plain = client.get("/portal/erasure")
    assert plain.status_code == 200 and "Should recording go on afterwards?" in visible_text(plain)
    assert nothing_written()


def test_stopping_recording_is_not_offered_when_nothing_is_switched_on(portal_as, alice, notice):
    client = portal_as(alice)
    page = client.get("/portal/erasure?mode=withdraw")
    assert page.status_code == 400 and "there is nothing to withdraw" in visible_text(page)
    refused = client.post("/portal/erasure", {"mode": "withdraw", "confirm": "on"}, follow=True)
    assert "You have not given consent to any category." in messages_on(refused)
    assert not ErasureRequest.objects.exists() and not ConsentEvent.objects.exists()


def test_reloading_after_an_erasure_does_not_ask_again(portal_as, alice, recording):
    client = portal_as(alice)
    done = client.post("/portal/erasure", {"mode": "keep", "confirm": "on"}, follow=True)
    # The browser is left on a GET of the portal: reloading it repeats a GET, never the POST.
    assert done.redirect_chain == [("/portal", 302)] and done.request["REQUEST_METHOD"] == "GET"
    client.get(done.redirect_chain[-1][0])
    assert ErasureRequest.objects.count() == 1


# --- Withdrawing with erasure ------------------------------------------------------------


def test_withdrawing_with_erasure_states_the_effect_before_it_happens(portal_as, alice, recording):
    client = portal_as(alice)
    asked = client.post("/portal/withdraw", {"erase": "on"})
    assert asked.status_code == 302 and asked["Location"] == "/portal/withdraw?erase=on"
    assert nothing_written()
    text = visible_text(client.get(asked["Location"]))
    assert "Recording of Keystrokes, Mouse movement stops at once." in text
    assert "Work laptop will stop uploading at once." in text
    assert "Deletes 4,024 events recorded since 2 May 2026, 09:30 UTC" in text
    assert nothing_written()

    done = client.post("/portal/withdraw", {"erase": "on", "confirm": "on"})
    assert done.status_code == 302 and done["Location"] == "/portal"
    assert granted(alice) == [] and ErasureRequest.objects.get().reason == "withdrawal"


def test_withdrawing_one_category_with_erasure_counts_only_that_category(portal_as, alice, recording):
    client = portal_as(alice)
    asked = client.post("/portal/withdraw", {"erase": "on", "category": "keystrokes"})
    assert asked["Location"] == "/portal/withdraw?erase=on&category=keystrokes"
    text = visible_text(client.get(asked["Location"]))
    assert "Deletes 1,000 events recorded since 2 May 2026, 09:30 UTC (Keystrokes only)" in text
    assert "You keep Mouse movement switched on." in text
    assert "Work laptop stops uploading Keystrokes at once." in text
    client.post("/portal/withdraw", {"erase": "on", "category": "keystrokes", "confirm": "on"})
    assert granted(alice) == ["mouse"]
    assert ErasureRequest.objects.get().categories == ["keystrokes"]


def test_withdrawing_without_erasure_stays_one_click(portal_as, alice, recording):
    response = portal_as(alice).post("/portal/withdraw", {})
    assert response.status_code == 302 and response["Location"] == "/portal"
    assert granted(alice) == [] and not ErasureRequest.objects.exists()


def test_the_withdraw_confirmation_for_something_not_held_changes_nothing(portal_as, alice, notice):
    client = portal_as(alice)
    consent_grant(employee=alice, categories=["mouse"], notice_version=1)
    response = client.get("/portal/withdraw?erase=on&category=keystrokes")
    assert response.status_code == 302 and response["Location"] == "/portal"
    assert "Keystrokes: You have nothing switched on there" in messages_on(client.get("/portal"))
    assert nothing_written()
    assert AuditEntry.objects.filter(action="erasure.requested").count() == 0


@pytest.mark.parametrize("who", ["olivia", "rita", "aaron", "adam"])
def test_only_employees_reach_the_confirmation_pages(portal_as, request, who, notice):
    client = portal_as(request.getfixturevalue(who))
    assert client.get("/portal/erasure?mode=keep").status_code == 403
    assert client.get("/portal/withdraw?erase=on").status_code == 403
    assert client.post("/portal/erasure", {"mode": "keep", "confirm": "on"}).status_code == 403
    assert not ErasureRequest.objects.exists()
