"""Every page of every console at desktop and phone width: no sideways scrolling, no serious
or critical axe-core violation, and a screenshot in var/screenshots/."""

from __future__ import annotations

import pytest

from tests.browser.conftest import WIDTHS
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Swagger UI (vendored through drf-spectacular-sidecar) is not ours to restyle; see
# test_the_api_docs_page for the one rule it is excused from and why.
DOCS_EXCUSED: tuple[str, ...] = ()


def visit(page, check_page, live_server, pages):
    """Open each (name, path) in turn; every problem on every page is reported together."""
    problems = []
    for name, path in pages:
        response = page.goto(path)
        assert response is not None and response.status == 200, f"{name}: {path} answers {response and response.status}"
        assert page.url == f"{live_server.url}{path}", f"{name}: {path} went to {page.url}"
        problems += check_page(name)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_sign_in_page(page, check_page, live_server, organisation):
    visit(page, check_page, live_server, [("sign-in", "/login")])


@pytest.mark.parametrize("width", WIDTHS)
def test_the_employee_portal(page, sign_in, check_page, live_server, organisation):
    sign_in("alice", PASSWORD)
    visit(
        page,
        check_page,
        live_server,
        [
            ("portal", "/portal"),
            ("notice", "/notices/v1"),
            ("my-data", "/portal/my-data"),
            ("devices", "/portal/devices"),
        ],
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_the_privacy_office(page, sign_in, check_page, live_server, organisation):
    sign_in("olivia", PASSWORD)
    request = organisation["request"]
    visit(
        page,
        check_page,
        live_server,
        [
            ("officer", "/officer"),
            ("review-queue", "/requests/review"),
            ("review", f"/requests/review/{request.id}"),
            ("notice-editor", "/officer/notices/new"),
            ("grants", "/requests/grants"),
        ],
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_the_requester_console(page, sign_in, check_page, live_server, organisation):
    sign_in("rita", PASSWORD)
    visit(page, check_page, live_server, [("requests", "/requests/"), ("request-form", "/requests/new")])


@pytest.mark.parametrize("width", WIDTHS)
def test_the_audit_console(page, sign_in, check_page, live_server, organisation):
    sign_in("aaron", PASSWORD)
    visit(page, check_page, live_server, [("audit", "/audit/")])


@pytest.mark.parametrize("width", WIDTHS)
def test_the_accounts_console(page, sign_in, check_page, live_server, organisation):
    sign_in("adam", PASSWORD)
    visit(page, check_page, live_server, [("accounts", "/accounts/users")])


@pytest.mark.parametrize("width", WIDTHS)
def test_the_api_docs_page(page, sign_in, check_page, organisation):
    sign_in("aaron", PASSWORD)
    page.goto("/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock", state="attached")
    problems = check_page("api-docs", disable_axe=DOCS_EXCUSED)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_skip_link_is_the_first_stop_and_jumps_to_the_content(page, sign_in, organisation):
    sign_in("olivia", PASSWORD)
    skip = page.locator("a.skip-link")
    assert skip.bounding_box()["y"] < 0, "off screen until focused"
    page.keyboard.press("Tab")
    focused = page.evaluate("() => [document.activeElement.className, document.activeElement.textContent]")
    assert focused == ["skip-link", "Skip to content"]
    box = skip.bounding_box()
    assert box["y"] >= 0 and box["height"] >= 24, f"visible when focused: {box}"
    page.keyboard.press("Enter")
    # The fragment navigation lands a moment after the key press: wait for it rather than race it.
    page.wait_for_url("**/officer#content", timeout=5000)
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'content'", timeout=5000)
    # The next Tab continues inside the content, past the header's links.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.closest('main') !== null")


def test_every_focusable_element_shows_a_focus_ring(page, sign_in, organisation):
    """Tab through the whole portal: each stop draws the 3px accent outline (7.6:1 on white)."""
    sign_in("alice", PASSWORD)
    page.goto("/portal")
    stops = []
    for _ in range(80):
        page.keyboard.press("Tab")
        stop = page.evaluate(
            """() => {
                const el = document.activeElement, style = getComputedStyle(el);
                return {element: el.outerHTML.slice(0, 80),
                        outline: [style.outlineStyle, style.outlineWidth, style.outlineColor].join(' ')};
            }"""
        )
        if stop["element"].startswith("<body"):
            break
        stops.append(stop)
    assert len(stops) > 15, stops
    assert [s for s in stops if s["outline"] != "solid 3px rgb(36, 82, 166)"] == []
