"""One journey per console, as its person walks it, at desktop and phone width.

Each ends on what the person sees; the phone runs prove that nothing they need is
off screen or out of reach at 390 px (Playwright refuses to click what it cannot reach).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from access.models import DataRequest
from collection.models import Device
from consent.models import ConsentState
from consent.services import subject_for_employee
from tests.browser.conftest import WIDTHS
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", WIDTHS)
def test_an_employee_opts_in_sees_their_data_enrolls_a_device_and_withdraws(page, sign_in, alice, notice, allowlist):
    sign_in("alice", PASSWORD)
    assert page.url.endswith("/portal")
    page.check("#cat-mouse")
    page.check("#cat-clicks")
    page.click("text=Save my choices")
    page.wait_for_load_state()
    assert "On since" in page.locator("table.consent-table tr", has_text="Mouse movement").inner_text()
    assert "Off" in page.locator("table.consent-table tr", has_text="Keystrokes (the characters typed)").inner_text()

    page.click("text=My data")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "What has been stored about me"
    assert "Nothing has been stored about you." in page.inner_text("main")

    page.go_back()
    page.click("text=Capture devices")
    page.wait_for_load_state()
    page.fill("#device-name", "Work laptop")
    page.select_option("#device-platform", "linux")
    page.click('button:has-text("Enroll")')
    page.wait_for_load_state()
    assert page.locator(".device-secret h2").inner_text() == "Work laptop is enrolled"
    assert "Active" in page.locator("table.devices tr", has_text="Work laptop").inner_text()

    page.goto("/portal")
    page.click("text=Withdraw all consent now")
    page.wait_for_load_state()
    assert "Off" in page.locator("table.consent-table tr", has_text="Mouse movement").inner_text()
    assert page.locator("text=Withdraw all consent now").count() == 0
    assert ConsentState.objects.get(subject=subject_for_employee(alice)).granted == {}
    assert Device.objects.get(employee=alice).name == "Work laptop"


@pytest.mark.parametrize("width", WIDTHS)
def test_an_officer_opens_the_queue_and_rejects_a_request(page, sign_in, organisation):
    sign_in("olivia", PASSWORD)
    assert page.url.endswith("/officer")
    assert "1 request waiting for review." in page.inner_text("#data-requests")
    page.click("text=Open the review queue")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Data requests to review"
    page.get_by_role("link", name="Review", exact=True).click()
    page.wait_for_load_state()
    assert "Pointer trajectories and typing in the editor" in page.inner_text("main")
    page.check("#decision-reject")
    page.fill("#reason", "Keystrokes are not needed to train cursor control.")
    page.click("text=Record my decision")
    page.wait_for_load_state()
    assert "Rejected. The requester sees your reason." in page.inner_text(".messages")
    assert DataRequest.objects.get().status == "rejected"


@pytest.mark.parametrize("width", WIDTHS)
def test_a_requester_asks_for_a_dataset_and_sees_it_pending(page, sign_in, rita, notice, allowlist):
    until = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=1)
    sign_in("rita", PASSWORD)
    assert page.url.endswith("/requests/")
    page.click("text=Ask for a dataset")
    page.wait_for_load_state()
    page.check("#cat-mouse")
    page.check("input[name=apps][value='org.mozilla.firefox']")
    page.fill("#since", (until - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#until", until.strftime("%Y-%m-%dT%H:%M"))
    page.select_option("#purpose", "agent-training")
    page.fill("#justification", "Pointer movement in the browser, to train scrolling and pointing.")
    page.click("text=Submit the request")
    page.wait_for_load_state()
    assert "Request submitted. A privacy officer will review it." in page.inner_text(".messages")
    row = page.locator("#requests tbody tr").first.inner_text()
    assert "Waiting for review" in row and "Mouse movement" in row and "org.mozilla.firefox" in row


@pytest.mark.parametrize("width", WIDTHS)
def test_an_auditor_opens_the_audit_log_and_verifies_it(page, sign_in, organisation):
    sign_in("aaron", PASSWORD)
    assert page.url.endswith("/audit/")
    assert page.locator("h1").inner_text() == "Audit log"
    assert "submitted data request" in page.inner_text("table.audit-entries")
    page.click('button:has-text("Verify now")')
    page.wait_for_load_state()
    # A log no signed checkpoint covers cannot be vouched for yet: the console says what to do.
    assert page.inner_text(".messages").startswith("Nothing to vouch against yet")
    page.click('button:has-text("Sign a checkpoint now")')
    page.wait_for_load_state()
    page.click('button:has-text("Verify now")')
    page.wait_for_load_state()
    assert page.inner_text(".messages").startswith("The stored log verifies (")
    assert page.locator(".audit-status").inner_text().startswith("Verifies: ")


@pytest.mark.parametrize("width", WIDTHS)
def test_an_admin_opens_accounts_and_makes_an_employee_a_requester(page, sign_in, adam, alice):
    sign_in("adam", PASSWORD)
    assert page.url.endswith("/accounts/users")
    row = page.locator("tr", has_text="alice")
    row.locator("input[value=requester]").check()
    row.locator("button", has_text="Save").click()
    page.wait_for_load_state()
    assert page.inner_text(".messages") == "Roles of alice saved."
    assert page.locator("tr", has_text="alice").locator("input[value=requester]").is_checked()
    alice.forget_roles()
    assert alice.role_set == {"employee", "requester"}
