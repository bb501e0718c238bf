"""Shared fixtures: the demo personas and API clients signed in as each.

alice is an employee, olivia and oscar are privacy officers, rita is a
requester, aaron is an auditor and adam is an administrator.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.services import user_create

PASSWORD = "s3cret-enough-password"


def make_user(username: str, *roles: str, department: str = "Engineering"):
    return user_create(
        actor="system:test",
        username=username,
        roles=roles,
        email=f"{username}@example.com",
        password=PASSWORD,
        department=department,
        check_password=False,
    )


@pytest.fixture(autouse=True)
def _isolated_keys(settings, tmp_path):
    """Each test gets its own signing-key and master-key directory."""
    settings.SIGNING_KEY_DIR = tmp_path / "keys"
    settings.MASTER_KEY_FILE = tmp_path / "keys" / "master.key"


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
