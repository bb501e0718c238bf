"""Enrolling and revoking capture devices, in the API and the portal."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry
from collection.models import Device
from consent.services import subject_for_employee
from tests.collection.conftest import fetch_token

pytestmark = pytest.mark.django_db


def test_enrolling_returns_the_secret_once_and_stores_only_its_hash(alice, enroll):
    body = enroll(alice, name="Alice's MacBook")
    assert set(body) == {"device_id", "device_secret"}
    device = Device.objects.get(pk=body["device_id"])
    assert device.secret_digest == Device.digest_of(body["device_secret"])
    assert body["device_secret"] not in device.secret_digest
    assert device.employee == alice and device.platform == "macos" and device.revoked_at is None


def test_enrolling_is_audited_under_the_pseudonym_without_name_or_secret(alice, enroll):
    body = enroll(alice, name="Alice's MacBook")
    entry = AuditEntry.objects.get(action="device.enroll")
    pseudonym = subject_for_employee(alice).pseudonym
    assert entry.target == f"subject:{pseudonym}" and entry.actor == f"subject:{pseudonym}"
    assert entry.detail == {"device_id": body["device_id"], "platform": "macos"}
    assert "alice" not in entry.leaf.lower() and body["device_secret"] not in entry.leaf


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "x", "platform": "beos"}, "platform"),
        ({"platform": "linux"}, "name"),
        ({"name": "x" * 101, "platform": "linux"}, "name"),
    ],
)
def test_enrolling_refuses_bad_input(alice, api_as, payload, field):
    response = api_as(alice).post("/api/v1/collection/devices", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not Device.objects.exists()


def test_only_employees_enroll_devices(olivia, api_as, api):
    assert (
        api_as(olivia).post("/api/v1/collection/devices", {"name": "x", "platform": "linux"}, format="json").status_code
        == 403
    )
    # Without credentials the answer is 401 with a challenge (API tokens come first), not 403.
    assert api.post("/api/v1/collection/devices", {"name": "x", "platform": "linux"}, format="json").status_code == 401
    assert not Device.objects.exists()


def test_employees_list_only_their_own_devices(alice, bob, enroll, api_as):
    mine = enroll(alice)
    enroll(bob)
    listed = api_as(alice).get("/api/v1/collection/devices").json()
    assert [d["device_id"] for d in listed] == [mine["device_id"]]
    assert "device_secret" not in listed[0] and "secret_digest" not in listed[0]


def test_revoking_stops_the_device_at_once(consenting, enroll, api_as):
    body = enroll(consenting)
    assert fetch_token(body["device_secret"]).status_code == 201
    response = api_as(consenting).delete(f"/api/v1/collection/devices/{body['device_id']}")
    assert response.status_code == 204
    assert Device.objects.get(pk=body["device_id"]).revoked_at is not None
    refused = fetch_token(body["device_secret"])
    assert refused.status_code == 401 and refused.json()["error"] == "authentication_failed"
    assert AuditEntry.objects.filter(action="device.revoke", detail__device_id=body["device_id"]).count() == 1


def test_nobody_revokes_someone_elses_device(alice, bob, enroll, api_as):
    body = enroll(alice)
    assert api_as(bob).delete(f"/api/v1/collection/devices/{body['device_id']}").status_code == 404
    assert Device.objects.get(pk=body["device_id"]).revoked_at is None


def test_the_portal_enrolls_shows_the_secret_once_and_revokes(alice, portal_as):
    client = portal_as(alice)
    enrolled = client.post("/portal/devices", {"name": "Desk PC", "platform": "windows"})
    # Post/redirect/get: reloading the page that shows the secret does not enroll a second device.
    assert enrolled.status_code == 302 and enrolled["Location"] == "/portal/devices"
    page = client.get("/portal/devices")
    device = Device.objects.get()
    secret = page.context["new_device"]["secret"]
    assert Device.digest_of(secret) == device.secret_digest
    text = page.content.decode()
    assert secret in text
    # The page says exactly what to run to pair the capture agent with this secret.
    assert "python -m capture_client --url http://testserver --device-secret-file ~/.capture-device-secret" in text
    assert 'data-copy-target="device-secret"' in text
    again = client.get("/portal/devices")
    assert secret not in again.content.decode() and "Desk PC" in again.content.decode()
    assert Device.objects.count() == 1
    revoked = client.post(f"/portal/devices/{device.pk}/revoke")
    assert revoked.status_code == 302
    device.refresh_from_db()
    assert device.revoked_at is not None


def test_the_portal_pages_are_for_employees_only(olivia, portal_as):
    client = portal_as(olivia)
    assert client.get("/portal/devices").status_code == 403
    assert client.get("/portal/my-data").status_code == 403
