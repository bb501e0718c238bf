"""An employee opts in, sees the change, and withdraws with one click, in a real browser."""

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
