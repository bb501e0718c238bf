"""Every page of every console at desktop and phone width: no sideways scrolling, no serious
or critical axe-core violation, and a screenshot in var/screenshots/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from access.services import data_request_submit
from collection.services import device_enroll
from consent.services import consent_grant
from tests.browser.conftest import WIDTHS
from tests.conftest import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Swagger UI (vendored through drf-spectacular-sidecar) is not ours to restyle; see
# test_the_api_docs_page for the one rule it is excused from and why.
DOCS_EXCUSED: tuple[str, ...] = ()


@pytest.fixture
def organisation(alice, olivia, rita, aaron, adam, notice, allowlist):
    """Enough data that each console shows its tables filled: consent, a device, a pending request."""
    consent_grant(employee=alice, categories=["mouse", "clicks", "app_focus"], notice_version=notice.version)
    device_enroll(employee=alice, name="Work laptop", platform="linux")
    make_user("bernadette-from-quality-assurance", "employee", "requester", department="Quality Assurance")
    until = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=1)
    request = data_request_submit(
        requester=rita,
        categories=["mouse", "clicks", "keystrokes"],
        apps=["com.microsoft.VSCode", "org.mozilla.firefox"],
        since=until - timedelta(days=7),
        until=until,
        purpose="agent-training",
        justification="Pointer trajectories and typing in the editor, to train cursor control and completion.",
    )
    return {"request": request}


def visit(page, check_page, pages):
    """Open each (name, path) in turn; every problem on every page is reported together."""
    problems = []
    for name, path in pages:
        response = page.goto(path)
        assert response is not None and response.status == 200, f"{name}: {path} answers {response and response.status}"
        problems += check_page(name)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_public_pages(page, check_page, organisation):
    visit(page, check_page, [("notice", "/notices/v1"), ("sign-in", "/login")])


@pytest.mark.parametrize("width", WIDTHS)
def test_the_employee_portal(page, sign_in, check_page, organisation):
    sign_in("alice", PASSWORD)
    visit(page, check_page, [("portal", "/portal"), ("my-data", "/portal/my-data"), ("devices", "/portal/devices")])


@pytest.mark.parametrize("width", WIDTHS)
def test_the_privacy_office(page, sign_in, check_page, organisation):
    sign_in("olivia", PASSWORD)
    request = organisation["request"]
    visit(
        page,
        check_page,
        [
            ("officer", "/officer"),
            ("review-queue", "/requests/review"),
            ("review", f"/requests/review/{request.id}"),
            ("notice-editor", "/officer/notices/new"),
            ("grants", "/requests/grants"),
        ],
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_the_requester_console(page, sign_in, check_page, organisation):
    sign_in("rita", PASSWORD)
    visit(page, check_page, [("requests", "/requests/"), ("request-form", "/requests/new")])


@pytest.mark.parametrize("width", WIDTHS)
def test_the_audit_console(page, sign_in, check_page, organisation):
    sign_in("aaron", PASSWORD)
    visit(page, check_page, [("audit", "/audit/")])


@pytest.mark.parametrize("width", WIDTHS)
def test_the_accounts_console(page, sign_in, check_page, organisation):
    sign_in("adam", PASSWORD)
    visit(page, check_page, [("accounts", "/accounts/users")])


@pytest.mark.parametrize("width", WIDTHS)
def test_the_api_docs_page(page, sign_in, check_page, organisation):
    sign_in("aaron", PASSWORD)
    page.goto("/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock", state="attached")
    problems = check_page("api-docs", disable_axe=DOCS_EXCUSED)
    assert not problems, "\n".join(problems)
