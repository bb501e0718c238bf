"""Bad input to portal pages answers with a 4xx page, never a 500."""

import uuid

import pytest

pytestmark = pytest.mark.django_db


def test_changing_roles_of_an_unknown_account_is_a_404_page(portal_as, adam):
    response = portal_as(adam).post("/accounts/users", {"username": "ghost", "roles": ["employee"]})
    assert response.status_code == 404
    assert b"No account named" in response.content


def test_revoking_a_device_that_does_not_exist_is_a_404_page(portal_as, alice):
    response = portal_as(alice).post(f"/portal/devices/{uuid.uuid4()}/revoke")
    assert response.status_code == 404


def test_an_odd_page_marker_in_the_audit_console_is_ignored(portal_as, aaron):
    response = portal_as(aaron).get("/audit/", {"before": "²"})
    assert response.status_code == 200


def test_a_uniqueness_race_in_the_api_is_a_409_not_a_500():
    from django.db import IntegrityError

    from config.exceptions import api_exception_handler

    response = api_exception_handler(IntegrityError("duplicate key value violates unique constraint"), {})
    assert response.status_code == 409
    assert response.data["error"] == "conflict"
    assert "duplicate key" not in response.data["detail"], "database internals are not shown"
