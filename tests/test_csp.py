"""A strict Content-Security-Policy on every page, and pages that need nothing it forbids.

The header alone is not enough: a page with an inline script or style would
break under it.  So every page's HTML is checked too: scripts only from
files of this origin, no inline style or event handler, no ``javascript:``
URL, forms that post to this origin.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from consent.services import consent_grant

pytestmark = pytest.mark.django_db

POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}


def _policy(response) -> dict[str, list[str]]:
    header = response.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


class _PageAudit(HTMLParser):
    """Everything in a page that a strict policy would block, as readable strings."""

    def __init__(self):
        super().__init__()
        self.problems: list[str] = []
        self.scripts: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event handler {name} on <{tag}>")
            if name == "style":
                self.problems.append(f"inline style on <{tag}>: {value}")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL on <{tag}>")
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script":
            # A JSON data block (json_script) is not run, so no policy blocks it.
            if attributes.get("type") in ("application/json", "application/ld+json"):
                return
            src = attributes.get("src")
            if src is None:
                self._in_inline_script = True
                self.problems.append("inline <script>")
            else:
                self.scripts.append(src)
                if urlsplit(src).netloc:
                    self.problems.append(f"script from another origin: {src}")
        if tag == "link" and attributes.get("rel") == "stylesheet" and urlsplit(attributes.get("href", "")).netloc:
            self.problems.append(f"stylesheet from another origin: {attributes['href']}")
        if tag == "form" and urlsplit(attributes.get("action") or "").netloc:
            self.problems.append(f"form posting to another origin: {attributes['action']}")


def _audit(response) -> _PageAudit:
    assert response.status_code == 200, (response.request["PATH_INFO"], response.status_code)
    assert _policy(response) == POLICY
    audit = _PageAudit()
    audit.feed(response.content.decode())
    assert audit.problems == [], response.request["PATH_INFO"]
    return audit


PUBLIC_PAGES = ["/login", "/notices/v1"]


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_carry_the_policy_and_need_nothing_it_forbids(client, notice, path):
    _audit(client.get(path))


def test_the_django_admin_sign_in_is_the_portals_and_carries_the_policy(client, notice):
    redirected = client.get("/django-admin/login/")
    assert redirected.status_code == 302 and redirected["Location"].startswith("/login?next=")
    assert "default-src 'self'" in redirected["Content-Security-Policy"]
    _audit(client.get(redirected["Location"]))


PAGES_BY_ROLE = {
    "alice": ["/portal", "/portal/devices", "/portal/my-data", "/notices/v1"],
    "olivia": ["/officer", "/officer/notices/new", "/officer/notices/{notice}", "/requests/review", "/requests/grants"],
    "rita": ["/requests/", "/requests/new"],
    "aaron": ["/audit/"],
    "adam": ["/accounts/users"],
}


@pytest.mark.parametrize(
    ("persona", "path"), [(persona, path) for persona, paths in PAGES_BY_ROLE.items() for path in paths]
)
def test_portal_pages_of_every_role_carry_the_policy_and_need_nothing_it_forbids(
    request, portal_as, notice, allowlist, persona, path
):
    user = request.getfixturevalue(persona)
    if persona == "alice":
        consent_grant(employee=user, categories=["mouse", "clicks"], notice_version=1)
    _audit(portal_as(user).get(path.format(notice=notice.pk)))


BROWSABLE_API = {
    "alice": ["/api/v1/me", "/api/v1/collection/devices", "/api/v1/consent/notices/current"],
    "olivia": ["/api/v1/access/requests"],
    "adam": ["/api/v1/users"],
}


@pytest.mark.parametrize(
    ("persona", "path"), [(persona, path) for persona, paths in BROWSABLE_API.items() for path in paths]
)
def test_the_browsable_api_carries_the_policy_and_needs_nothing_it_forbids(request, portal_as, notice, persona, path):
    user = request.getfixturevalue(persona)
    response = portal_as(user).get(path, HTTP_ACCEPT="text/html")
    assert response["Content-Type"].startswith("text/html")
    _audit(response)


def test_the_django_admin_carries_the_policy_and_needs_nothing_it_forbids(portal_as, adam):
    adam.is_staff = adam.is_superuser = True
    adam.save()
    client = portal_as(adam)
    for path in ("/django-admin/", "/django-admin/accounts/user/", f"/django-admin/accounts/user/{adam.pk}/change/"):
        _audit(client.get(path))


def test_the_api_docs_load_every_script_from_a_file_of_this_origin(client):
    page = _audit(client.get("/api/docs/"))
    # Swagger UI's two bundles and its start-up script, which used to be inline.
    assert len(page.scripts) == 3 and all(src.startswith("/") for src in page.scripts)
    start_up = client.get(page.scripts[-1])
    assert start_up.status_code == 200
    assert start_up["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle(" in start_up.content and b"/api/schema/" in start_up.content
    for src in page.scripts[:2]:
        assert src.startswith("/static/drf_spectacular_sidecar/")


def test_api_answers_error_pages_and_keys_carry_the_policy_too(client, api, alice):
    assert _policy(api.get("/api/v1/me")) == POLICY  # a 401 in JSON
    assert _policy(client.get("/no-such-page")) == POLICY
    assert _policy(client.get("/.well-known/jwks.json")) == POLICY
    assert _policy(client.get("/api/schema/")) == POLICY
