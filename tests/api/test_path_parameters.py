"""Path parameters the database cannot hold answer 404 on every database, never 500.

PostgreSQL refuses a NUL character anywhere in a query; the fuzz's string path
parameters (``/users/{username}``, ``/consent/allowlist/{app_id}``) reached
the query with one and answered 500 there (SQLite matched nothing: 404).
"""

from __future__ import annotations

import pytest

from accounts.models import User
from consent.models import AllowedApplication


@pytest.mark.django_db
def test_a_username_with_a_nul_is_not_found(api_as, adam, alice):
    response = api_as(adam).patch("/api/v1/users/ali%00ce", {"is_active": False}, format="json")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert User.objects.get(username="alice").is_active


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["patch", "delete"])
def test_an_app_id_with_a_nul_is_not_found(api_as, olivia, allowlist, method):
    response = getattr(api_as(olivia), method)(
        "/api/v1/consent/allowlist/com.microsoft.VSCode%00", {"display_name": "Changed"}, format="json"
    )
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert AllowedApplication.objects.get(app_id="com.microsoft.VSCode").display_name == "VS Code"
