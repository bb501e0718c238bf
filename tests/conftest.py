"""Shared fixtures: the demo personas and API clients signed in as each.

alice is an employee, olivia and oscar are privacy officers, rita is a
requester, aaron is an auditor and adam is an administrator.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.factories import UserFactory

PASSWORD = "s3cret-enough-password"


# --- Markers for what needs a real server --------------------------------------
# ``@pytest.mark.postgres`` and ``@pytest.mark.redis`` are the one way to say a
# test needs PostgreSQL or Redis: the suite skips it when the configured
# database is not PostgreSQL, or when REDIS_URL is unset.


def unavailable_services(*, database_engine: str, redis_url: str) -> dict[str, str]:
    """Marker name -> why tests carrying it are skipped on this configuration."""
    missing = {}
    if database_engine != "django.db.backends.postgresql":
        missing["postgres"] = "needs PostgreSQL (set DATABASE_URL=postgres://...)"
    if not redis_url:
        missing["redis"] = "needs a Redis server (set REDIS_URL=redis://...)"
    return missing


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    missing = unavailable_services(
        database_engine=settings.DATABASES["default"]["ENGINE"], redis_url=settings.REDIS_URL
    )
    for item in items:
        for marker, reason in missing.items():
            if item.get_closest_marker(marker) is not None:
                item.add_marker(pytest.mark.skip(reason=reason))


def make_user(username: str, *roles: str, department: str = "Engineering", **fields):
    """An account holding ``roles`` (none if none are named), signing in with ``PASSWORD``."""
    return UserFactory(
        username=username, roles=roles, department=department, password=PASSWORD, actor="system:test", **fields
    )


@pytest.fixture(autouse=True)
def _isolated_keys(settings, tmp_path):
    """Each test gets its own signing-key and master-key directory."""
    settings.SIGNING_KEY_DIR = tmp_path / "keys"
    settings.MASTER_KEY_FILE = tmp_path / "keys" / "master.key"


@pytest.fixture(autouse=True)
def _audit_numbered_at_once(request):
    """Number audit entries as they are appended in tests that never commit.

    On PostgreSQL the numbering trigger runs at commit, and a test in one
    rolled-back transaction never commits; ``SET CONSTRAINTS … IMMEDIATE``
    runs it at once instead, as SQLite does.  Transactional tests
    (``django_db(transaction=True)``) keep the real deferred path.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or (
        marker is not None and marker.kwargs.get("transaction", False)
    )
    if transactional or not (marker is not None or "db" in request.fixturenames):
        return
    request.getfixturevalue("db")
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS audit_auditpending_number IMMEDIATE")


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def alice(db):
    return make_user("alice", "employee")


@pytest.fixture
def bob(db):
    return make_user("bob", "employee", department="Sales")


@pytest.fixture
def olivia(db):
    return make_user("olivia", "privacy_officer", department="Privacy Office")


@pytest.fixture
def oscar(db):
    return make_user("oscar", "privacy_officer", department="Privacy Office")


@pytest.fixture
def rita(db):
    return make_user("rita", "requester", department="Machine Learning")


@pytest.fixture
def aaron(db):
    return make_user("aaron", "auditor", department="Internal Audit")


@pytest.fixture
def adam(db):
    return make_user("adam", "admin", department="IT")


@pytest.fixture
def api():
    """An unauthenticated API client."""
    return APIClient()


@pytest.fixture
def api_as():
    """``api_as(user)`` returns an API client authenticated as ``user``."""

    def login(user):
        client = APIClient()
        client.force_authenticate(user=user)
        return client

    return login


@pytest.fixture
def portal_as(client):
    """``portal_as(user)`` returns the Django test client with a session for ``user``."""

    def login(user):
        client.force_login(user)
        return client

    return login


ALL_CATEGORIES = ["app_focus", "clicks", "keystroke_timing", "keystrokes", "mouse"]


@pytest.fixture
def notice(db, olivia):
    """A published notice (v1) covering every category, with one purpose."""
    from django.utils import timezone

    from consent.models import ConsentNotice

    return ConsentNotice.objects.create(
        version=1,
        status=ConsentNotice.Status.PUBLISHED,
        title="Recording computer use to train agents",
        summary="We record how you use selected applications to train AI agents.",
        purposes=[{"id": "agent-training", "description": "Train AI agents that operate computers."}],
        categories=ALL_CATEGORIES,
        retention_days={c: 90 for c in ALL_CATEGORIES},
        access="Approved ML team members, per request.",
        rights="Withdraw at any time in the portal.",
        contact="privacy@example.com",
        created_by=olivia,
        published_by=olivia,
        published_at=timezone.now(),
    )


@pytest.fixture
def allowlist(db):
    """Two allowed applications: an editor (everything) and a browser (no keystrokes)."""
    from consent.models import AllowedApplication, RetentionRule

    editor = AllowedApplication.objects.create(
        app_id="com.microsoft.VSCode", display_name="VS Code", categories=ALL_CATEGORIES
    )
    browser = AllowedApplication.objects.create(
        app_id="org.mozilla.firefox",
        display_name="Firefox",
        categories=["app_focus", "clicks", "mouse", "keystroke_timing"],
    )
    for category in ALL_CATEGORIES:
        RetentionRule.objects.create(category=category, max_age_days=90)
    return [editor, browser]
