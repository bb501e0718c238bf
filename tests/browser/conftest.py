"""Headless Chromium (Debian's package) driven by Playwright against a live server.

One browser per test session and pytest-django's one live server; each test gets a
fresh browser context (cookies, viewport) at the width it asks for with
``@pytest.mark.parametrize("width", WIDTHS)`` (1280 unless it asks).
"""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from access.services import data_request_submit
from collection.services import device_enroll
from consent.services import consent_grant
from consent.stats import consent_rates_release_make
from tests.collection.conftest import (  # noqa: F401  (_master_key: a fixture, registered by being named here)
    BROWSER,
    EDITOR,
    _master_key,
    batch,
    fetch_token,
    upload,
)
from tests.conftest import make_user

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
# Installed by `npm ci` from package.json / package-lock.json (.ci/run does it).
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "screenshots"

DESKTOP, PHONE = 1280, 390
WIDTHS = [DESKTOP, PHONE]
HEIGHTS = {DESKTOP: 800, PHONE: 844}


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Chromium is not installed (apt-get install -y chromium); .ci/run installs it")
    # Playwright's sync API runs an event loop; Django's async-safety check would
    # otherwise refuse the database calls the tests make around it.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            instance = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            yield instance
            instance.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def width():
    """Viewport width in CSS pixels; tests parametrize it over ``WIDTHS``."""
    return DESKTOP


@pytest.fixture
def page(browser, live_server, width):
    # bypass_csp: axe-core is injected as an inline script, which a strict
    # Content-Security-Policy (script-src 'self') would block. Only the test does this.
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": width, "height": HEIGHTS.get(width, 800)},
        bypass_csp=True,
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def sign_in(page):
    """Sign in through the real login form."""

    def sign_in(username: str, password: str):
        page.goto("/login")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_load_state()

    return sign_in


@pytest.fixture
def organisation(alice, olivia, rita, aaron, adam, notice, allowlist, _master_key):  # noqa: F811
    """Enough data that each console shows its tables filled: consent, uploads, released rates, a pending request."""
    # alice opted in and enrolled ten minutes ago, so her events lie in the past when uploaded now.
    started = timezone.now() - timedelta(minutes=10)
    with time_machine.travel(started, tick=False):
        consent_grant(employee=alice, categories=["mouse", "clicks", "app_focus"], notice_version=notice.version)
        _, secret = device_enroll(employee=alice, name="Work laptop", platform="linux")
    at = started.timestamp()
    events = [
        {"type": "mouse.move", "timestamp": at + 60 + i, "app": app, "x": 10.0 * i, "y": 20.0}
        for i, app in enumerate([EDITOR, EDITOR, BROWSER])
    ]
    events.append({"type": "window.focus", "timestamp": at + 70, "app": BROWSER, "title": "Docs"})
    token = fetch_token(secret)
    assert token.status_code == 201, token.content
    uploaded = upload(token.json()["token"], batch(events))
    assert uploaded.status_code == 202, uploaded.content
    make_user("bernadette-from-quality-assurance", "employee", "requester", department="Quality Assurance")
    # A release of consent rates, so the officer's rates table is on the page.
    consent_rates_release_make()
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


def require_axe(path: Path, environ) -> Path:
    """``path`` if axe-core is there; otherwise skip, or fail on CI (``CI=true``), naming the fix."""
    if not path.exists():
        reason = f"axe-core is not installed ({path} is missing): run `npm ci` at the repository root"
        if environ.get("CI") == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """The path of axe-core's browser bundle, from node_modules (see ``require_axe``)."""
    return require_axe(AXE, os.environ)


def sideways_overflow(page) -> dict:
    """How wide the document is against the viewport, and the widest elements sticking out."""
    return page.evaluate(
        """() => {
            const width = document.documentElement.clientWidth;
            const culprits = [];
            for (const el of document.querySelectorAll('body *')) {
                const r = el.getBoundingClientRect();
                if (r.right > width + 0.5 && r.width > 0) {
                    let inScroller = false;
                    for (let p = el.parentElement; p; p = p.parentElement) {
                        const o = getComputedStyle(p).overflowX;
                        if (o === 'auto' || o === 'scroll' || o === 'hidden') { inScroller = true; break; }
                    }
                    if (!inScroller) culprits.push(el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' right=' + Math.round(r.right));
                }
            }
            return {scrollWidth: document.documentElement.scrollWidth, viewport: width, culprits: culprits.slice(0, 8)};
        }"""
    )


def axe_violations(page, axe: Path, *, disable: tuple[str, ...] = ()) -> list[dict]:
    """Run axe-core on the page; the serious and critical violations, each with its first nodes."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(axe))
    return page.evaluate(
        """async (disable) => {
            // target-size (WCAG 2.2, 24 x 24 px) is off by default in axe-core; we hold to it.
            const rules = {'target-size': {enabled: true}};
            for (const id of disable) rules[id] = {enabled: false};
            const result = await axe.run(document, {rules, resultTypes: ['violations']});
            return result.violations
                .filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => ({id: v.id, impact: v.impact, help: v.help,
                            nodes: v.nodes.slice(0, 40).map(n => n.target.join(' ') + ': ' + n.failureSummary)}));
        }""",
        list(disable),
    )


@pytest.fixture
def check_page(page, axe_script, width):
    """``check_page(name)``: what is wrong with the page in view (an empty list when nothing is).

    It must fit the width without scrolling sideways and pass axe-core with no serious or
    critical violation. Screenshots land in ``var/screenshots/``: ``<name>-<width>.png`` (the
    whole page) and ``<name>-<width>-screen.png`` (the first screenful).
    """

    def check(name: str, *, disable_axe: tuple[str, ...] = ()) -> list[str]:
        page.wait_for_load_state()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
        # What fits one screen, small enough for the README (docs/screenshots/ holds copies).
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}-screen.png"))
        problems = []
        overflow = sideways_overflow(page)
        if overflow["scrollWidth"] > width:
            problems.append(f"{name} at {width}px scrolls sideways: {overflow}")
        for violation in axe_violations(page, axe_script, disable=disable_axe):
            problems.append(f"{name} at {width}px: axe-core {violation}")
        return problems

    return check
