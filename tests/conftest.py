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
        actor="system:test", username=username, roles=roles, email=f"{username}@example.com",
        password=PASSWORD, department=department, check_password=False,
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
