"""Plain language on the employee's pages: categories in words, one date format with its time zone,
readable names for who did what, a readable receipt next to its .jwt, and a public notice page."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from collection.services import device_enroll, devices_revoke_all
from consent.models import ConsentNotice
from consent.services import consent_grant, consent_withdraw, notice_create
from erasure.services import consent_withdraw_with_erasure, erasure_request_carry_out
from tests.conftest import ALL_CATEGORIES
from tests.consent.portal_helpers import store_events, visible_text

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 5, 2, 9, 30, tzinfo=UTC)
CODES = ("keystroke_timing", "app_focus")
ONE_FORMAT = re.compile(r"\b\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}, \d{2}:\d{2} UTC\b")
OTHER_FORMATS = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}(?! UTC)")


@pytest.fixture
def history(time_machine, alice, notice, allowlist):
    """alice opted in to everything on 2 May, withdrew keystroke timing with erasure, and it was erased."""
    time_machine.move_to(T0, tick=False)
    consent_grant(employee=alice, categories=ALL_CATEGORIES, notice_version=1)
    laptop, _ = device_enroll(employee=alice, name="Work laptop", platform="macos")
    store_events(alice, laptop, at=T0, counts={"keystroke_timing": 500, "app_focus": 20})
    time_machine.move_to(datetime(2026, 5, 3, 14, 5, tzinfo=UTC), tick=False)
    _, request = consent_withdraw_with_erasure(employee=alice, categories=["keystroke_timing"])
    erasure_request_carry_out(request_id=request.pk)
    return alice


def test_the_portal_shows_categories_in_words_never_their_codes(portal_as, history):
    text = visible_text(portal_as(history).get("/portal"))
    for code in CODES:
        assert code not in text
    # The history, the erasure request and the erasure steps name the category.
    assert "Consent withdrawn, erasure requested Keystroke timing" in text
    assert "Withdrawal with erasure Keystroke timing" in text
    assert "Encrypted data deleted (Keystroke timing) 500 recorded events" in text


def test_every_date_on_the_portal_has_one_format_with_its_time_zone(portal_as, history):
    text = visible_text(portal_as(history).get("/portal"))
    assert "On since 2 May 2026, 09:30 UTC" in text
    assert "3 May 2026, 14:05 UTC" in text  # the withdrawal in the history
    assert "2 Jun 2026, 14:05 UTC" in text  # the erasure deadline, 30 days on
    assert len(ONE_FORMAT.findall(text)) >= 6
    assert OTHER_FORMATS.findall(ONE_FORMAT.sub("", text)) == []


def test_automatic_jobs_are_named_in_words_never_as_system_accounts(portal_as, history, adam):
    devices_revoke_all(employee=history, actor="system:add_user", reason="account disabled")
    page = portal_as(history).get("/portal")
    text = visible_text(page)
    assert "system:" not in page.content.decode() and "user:" not in text
    steps = text.split("What was erased")[1].split("Ask for erasure")[0]
    assert "Automatic erasure job Encrypted data deleted" in steps
    assert "Automatic erasure job Erasure completed" in steps
    accesses = text.split("Who accessed data about you")[1]
    assert "An automatic job of this service Capture device revoked" in accesses
    assert "device.revoke" not in accesses


def test_the_history_links_a_readable_receipt_next_to_the_jwt(portal_as, history):
    client = portal_as(history)
    receipt = history.subject.consent_events.get(kind="granted").receipt
    page = client.get("/portal").content.decode()
    assert f'href="/portal/receipts/{receipt.id}/details">View</a>' in page
    assert f'href="/portal/receipts/{receipt.id}">Download</a>' in page

    details = client.get(f"/portal/receipts/{receipt.id}/details")
    assert details.status_code == 200
    text = visible_text(details)
    assert "You agreed to recording" in text and "When 2 May 2026, 09:30 UTC" in text
    assert "Keystroke timing (key events without characters): kept for at most 90 days" in text
    assert "Recording computer use to train agents, version 1" in text
    assert 'href="/notices/v1"' in details.content.decode()
    assert f"Receipt id {receipt.id}" in text
    assert f"take the key with id {receipt.kid}" in text and "http://testserver/.well-known/jwks.json" in text
    assert f'href="/portal/receipts/{receipt.id}"' in details.content.decode()
    for code in CODES:
        assert code not in text


def test_a_withdrawal_receipt_says_erasure_was_asked_for(portal_as, history):
    receipt = history.subject.consent_events.get(kind="withdrawn").receipt
    text = visible_text(portal_as(history).get(f"/portal/receipts/{receipt.id}/details"))
    assert "You withdrew consent" in text and "Consent withdrawn, and erasure of the data asked for" in text
    assert "Keystroke timing (key events without characters)" in text


def test_nobody_else_reads_an_employees_receipt_page(portal_as, client, alice, bob, olivia, notice):
    receipt = consent_grant(employee=alice, categories=["mouse"], notice_version=1).receipt
    assert portal_as(bob).get(f"/portal/receipts/{receipt.id}/details").status_code == 404
    assert portal_as(olivia).get(f"/portal/receipts/{receipt.id}/details").status_code == 403
    client.logout()
    assert client.get(f"/portal/receipts/{receipt.id}/details")["Location"].startswith("/login")


def test_the_published_notice_is_readable_without_signing_in(client, notice, olivia):
    page = client.get("/notices/v1")
    assert page.status_code == 200
    text = visible_text(page)
    assert "Recording computer use to train agents" in text
    assert "Keystroke timing (key events without characters) 90 days" in text
    assert re.search(ONE_FORMAT, text)
    for code in CODES:
        assert code not in text
    assert "Sign out" not in text and "olivia" not in text


def test_drafts_and_unknown_versions_are_not_found_for_anyone(client, portal_as, notice, olivia, alice):
    draft = notice_create(
        actor=olivia,
        title="Secret draft",
        summary="s",
        purposes=[{"id": "p", "description": "d"}],
        categories=["mouse"],
        access="a",
        rights="r",
        contact="c",
    )
    assert draft.version is None
    for version in (0, 2, 7):
        assert client.get(f"/notices/v{version}").status_code == 404
        assert portal_as(alice).get(f"/notices/v{version}").status_code == 404
    assert b"Secret draft" not in client.get("/notices/v1").content


def test_a_superseded_notice_stays_readable_and_says_so(client, notice):
    ConsentNotice.objects.filter(pk=notice.pk).update(status=ConsentNotice.Status.SUPERSEDED)
    page = client.get("/notices/v1")
    assert page.status_code == 200 and "This version has been superseded by a newer one." in visible_text(page)


def test_withdrawing_all_shows_no_code_in_the_history(portal_as, alice, notice):
    consent_grant(employee=alice, categories=["app_focus", "keystroke_timing"], notice_version=1)
    consent_withdraw(employee=alice, categories=None)
    text = visible_text(portal_as(alice).get("/portal"))
    assert "Consent withdrawn Application focus, Keystroke timing" in text
    assert "Consent given Application focus, Keystroke timing" in text
    for code in CODES:
        assert code not in text


def test_excluded_applications_in_the_history_go_by_their_names(portal_as, alice, notice, allowlist):
    portal_as(alice).post(
        "/portal/exclusions", {"excluded_apps": ["org.mozilla.firefox"], "other_apps": "com.spotify.client\n"}
    )
    text = visible_text(portal_as(alice).get("/portal")).split("Your history")[1]
    assert "Excluded applications changed Excluded: com.spotify.client, Firefox" in text
