"""An employee opts in, sees the change, and withdraws (with erasure: after a confirmation page), in a real browser."""

import pytest

from collection.models import Device
from consent.models import ConsentState
from consent.services import subject_for_employee
from erasure.models import ErasureRequest
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_opt_in_then_withdraw_everything_with_erasure(page, sign_in, alice, notice, allowlist):
    sign_in("alice", PASSWORD)
    assert page.url.endswith("/portal")
    # Defaults are off.
    assert not page.is_checked("#cat-keystrokes") and not page.is_checked("#cat-mouse")

    page.check("#cat-mouse")
    page.check("#cat-clicks")
    page.click("text=Save my choices")
    page.wait_for_load_state()
    assert page.is_checked("#cat-mouse") and page.is_checked("#cat-clicks")
    state = ConsentState.objects.get(subject=subject_for_employee(alice))
    assert sorted(state.granted) == ["clicks", "mouse"] and state.epoch == 1

    page.check("input[name=erase]")
    page.click("text=Withdraw all consent now")
    page.wait_for_load_state()
    # Erasure cannot be undone: a confirmation page states the effect, and nothing has changed yet.
    assert page.url.endswith("/portal/withdraw?erase=on")
    assert "Recording of Clicks and scrolling, Mouse movement stops at once." in page.inner_text("#consequences")
    state.refresh_from_db()
    assert state.epoch == 1 and not ErasureRequest.objects.exists()
    page.click('button:has-text("Withdraw and erase")')
    page.wait_for_load_state()
    assert page.url.endswith("/portal")
    assert not page.is_checked("#cat-mouse") and not page.is_checked("#cat-clicks")
    state.refresh_from_db()
    assert state.granted == {} and state.epoch == 2
    assert ErasureRequest.objects.filter(subject=state.subject, reason="withdrawal").count() == 1


def test_an_employee_enrolls_a_capture_device_and_sees_its_secret_once(page, sign_in, alice, notice, allowlist):
    sign_in("alice", PASSWORD)
    page.goto("/portal/devices")
    page.fill("input[name=name]", "Work laptop")
    page.select_option("select[name=platform]", "linux")
    page.click('button:has-text("Enroll")')
    page.wait_for_load_state()
    device = Device.objects.get(employee=alice)
    secret_shown = page.locator("code").first.inner_text()
    assert secret_shown and device.secret_digest not in page.content()
    page.reload()
    assert secret_shown not in page.content(), "the secret is shown once"


def test_revoking_a_device_goes_through_a_confirmation_and_reloading_repeats_nothing(
    page, sign_in, alice, notice, allowlist
):
    from audit.models import AuditEntry
    from collection.services import device_enroll

    device, _ = device_enroll(employee=alice, name="Work laptop", platform="linux")
    sign_in("alice", PASSWORD)
    page.goto("/portal/devices")
    page.click('button:has-text("Revoke…")')
    page.wait_for_load_state()
    assert "Work laptop will stop uploading at once." in page.inner_text("#consequences")
    device.refresh_from_db()
    assert device.revoked_at is None
    page.click('button:has-text("Revoke Work laptop")')
    page.wait_for_load_state()
    assert page.url.endswith("/portal/devices") and "Work laptop is revoked" in page.content()
    page.reload()
    page.wait_for_load_state()
    device.refresh_from_db()
    assert device.revoked_at is not None
    assert AuditEntry.objects.filter(action="device.revoke").count() == 1


def test_erasing_while_recording_asks_whether_recording_goes_on(page, sign_in, alice, notice, allowlist):
    from consent.services import consent_grant

    consent_grant(employee=alice, categories=["mouse"], notice_version=1)
    sign_in("alice", PASSWORD)
    page.check("text=Erase what was recorded so far and keep recording")
    page.click("text=Ask for all data recorded about me to be erased")
    page.wait_for_load_state()
    assert "Recording continues." in page.inner_text("#consequences")
    assert not ErasureRequest.objects.exists()
    page.click('button:has-text("Erase and keep recording")')
    page.wait_for_load_state()
    assert page.url.endswith("/portal")
    assert "Recording continues: your devices keep sending new events." in page.inner_text(".messages")
    assert ErasureRequest.objects.get().reason == "employee_request"
    state = ConsentState.objects.get(subject=subject_for_employee(alice))
    assert sorted(state.granted) == ["mouse"]
