"""Under the Content-Security-Policy, a real browser blocks nothing on our pages.

Chromium reports every blocked script, style, image or fetch both as a
``securitypolicyviolation`` event and as a console error; the tests collect
both from the first byte of each page (an init script, which the policy does
not apply to) and expect none.
"""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
});
"""


@pytest.fixture
def violations(page):
    """Every CSP violation the browser reports on the pages visited, as text."""
    reported: list[str] = []
    page.add_init_script(RECORD_VIOLATIONS)
    page.on(
        "console",
        lambda message: reported.append(message.text) if "Content Security Policy" in message.text else None,
    )

    def collect() -> list[str]:
        return reported + page.evaluate("window.__cspViolations || []")

    return collect


def test_the_api_docs_run_under_the_policy(page, violations):
    page.goto("/api/docs/")
    # The title comes from the schema, fetched by the start-up script: scripts ran and fetched.
    page.wait_for_selector(".swagger-ui .info .title")
    assert "Capture Consent API" in page.inner_text(".swagger-ui .info .title")
    page.click(".opblock-tag >> nth=0")  # expanding a section renders more of the UI
    page.wait_for_load_state()
    assert violations() == []


def test_the_sign_in_page_and_the_portals_run_under_the_policy(page, sign_in, violations, alice, notice, allowlist):
    page.goto("/login")
    assert violations() == []
    sign_in("alice", PASSWORD)
    assert page.url.endswith("/portal")
    assert violations() == []
    for path in ("/portal/devices", "/portal/my-data", "/notices/v1"):
        page.goto(path)
        assert violations() == [], path


def test_the_browsable_api_runs_under_the_policy(page, sign_in, violations, alice, notice):
    sign_in("alice", PASSWORD)
    page.goto("/api/v1/collection/devices")  # the browser asks for HTML: DRF's browsable API
    page.wait_for_selector("form#post-object-form, .response-info")
    assert violations() == []


def test_an_officers_pages_run_under_the_policy(page, sign_in, violations, olivia, notice, allowlist):
    sign_in("olivia", PASSWORD)
    for path in ("/officer", f"/officer/notices/{notice.pk}", "/requests/review"):
        page.goto(path)
        assert violations() == [], path


def test_the_django_admin_runs_under_the_policy(page, violations, adam):
    adam.is_staff = adam.is_superuser = True
    adam.save()
    page.goto("/django-admin/login/")
    page.fill("#id_username", "adam")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_load_state()
    assert page.url.endswith("/django-admin/")
    page.goto(f"/django-admin/accounts/user/{adam.pk}/change/")
    assert violations() == []
