"""Signing in and out in a real browser, and the admin's accounts console."""

import pytest

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_signs_in_changes_a_role_and_signs_out(page, sign_in, adam, alice):
    sign_in("adam", PASSWORD)
    assert page.url.endswith("/accounts/users")
    row = page.locator("tr", has_text="alice")
    row.locator("input[value=requester]").check()
    row.locator("button", has_text="Save").click()
    page.wait_for_load_state()
    assert "Roles of alice saved." in page.content()
    alice.forget_roles()
    assert alice.role_set == {"employee", "requester"}
    page.click("text=Sign out")
    page.wait_for_load_state()
    assert page.url.endswith("/login")


def test_a_wrong_password_shows_an_error(page, sign_in, alice):
    sign_in("alice", "wrong-password")
    assert page.url.endswith("/login")
    assert page.locator("[role=alert]").inner_text().startswith("Please enter a correct username and password")
