"""Enrolling and revoking capture devices, in the API and the portal."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry
from collection.models import Device
from consent.services import subject_for_employee
from tests.collection.conftest import T0, fetch_token
from tests.consent.portal_helpers import store_events, visible_text

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
    revoked = client.post(f"/portal/devices/{device.pk}/revoke", {"confirm": "on"})
    assert revoked.status_code == 302 and revoked["Location"] == "/portal/devices"
    device.refresh_from_db()
    assert device.revoked_at is not None


def test_the_portal_pages_are_for_employees_only(olivia, portal_as):
    client = portal_as(olivia)
    assert client.get("/portal/devices").status_code == 403
    assert client.get("/portal/my-data").status_code == 403


# --- Taking the employee role away, or disabling the account, stops capture at once ---


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"roles": ["requester"]}, "employee role removed"),
        ({"roles": []}, "employee role removed"),
        ({"is_active": False}, "account disabled"),
    ],
)
def test_an_admins_change_stops_live_tokens_and_device_secrets_at_once(
    live_token, device, consenting, adam, api_as, change, reason
):
    from tests.collection.conftest import batch, ev, upload

    second = api_as(consenting).post("/api/v1/collection/devices", {"name": "Desk", "platform": "linux"}, format="json")
    assert upload(live_token, batch([ev("mouse.move")])).status_code == 202
    assert api_as(adam).patch("/api/v1/users/alice", change, format="json").status_code == 200

    refused = upload(live_token, batch([ev("mouse.move")]))
    assert refused.status_code == 401 and refused.json()["error"] == "authentication_failed"
    for secret in (device["device_secret"], second.json()["device_secret"]):
        assert fetch_token(secret).status_code == 401
    assert not Device.objects.filter(revoked_at__isnull=True).exists()
    pseudonym = subject_for_employee(consenting).pseudonym
    entries = AuditEntry.objects.filter(action="device.revoke").order_by("seq")
    assert [(e.actor, e.target, e.detail["reason"]) for e in entries] == [
        ("user:adam", f"subject:{pseudonym}", reason)
    ] * 2
    assert {e.detail["device_id"] for e in entries} == {device["device_id"], second.json()["device_id"]}


def test_a_role_change_that_keeps_employee_keeps_the_devices(live_token, device, adam, api_as):
    from tests.collection.conftest import batch, ev, upload

    assert (
        api_as(adam).patch("/api/v1/users/alice", {"roles": ["employee", "requester"]}, format="json").status_code
        == 200
    )
    assert upload(live_token, batch([ev("mouse.move")])).status_code == 202
    assert not AuditEntry.objects.filter(action="device.revoke").exists()


def test_a_token_is_refused_once_its_employee_lost_the_role_even_with_the_device_active(live_token, consenting):
    from accounts.models import UserRole
    from tests.collection.conftest import batch, ev, upload

    # Defence in depth: a role removed without the service (the admin site, SQL) still ends capture.
    UserRole.objects.filter(user=consenting, role="employee").delete()
    refused = upload(live_token, batch([ev("mouse.move")]))
    assert refused.status_code == 401
    assert refused.json() == {
        "error": "authentication_failed",
        "detail": "The device of this token is revoked or unknown.",
    }
    assert Device.objects.filter(revoked_at__isnull=True).count() == 1


# --- At most COLLECTION_MAX_DEVICES_PER_EMPLOYEE active devices ----------------------


def test_enrolling_past_the_cap_is_refused_with_409_and_writes_nothing(alice, enroll, api_as, settings):
    settings.COLLECTION_MAX_DEVICES_PER_EMPLOYEE = 2
    first = enroll(alice)
    enroll(alice)
    response = api_as(alice).post("/api/v1/collection/devices", {"name": "Third", "platform": "linux"}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "too_many_devices" and body["max_devices"] == 2
    assert "at most 2 are allowed" in body["detail"]
    assert "DELETE /api/v1/collection/devices/{device_id}" in body["detail"]
    assert Device.objects.count() == 2 and not Device.objects.filter(name="Third").exists()
    assert AuditEntry.objects.filter(action="device.enroll").count() == 2

    # A revoked device no longer counts.
    assert api_as(alice).delete(f"/api/v1/collection/devices/{first['device_id']}").status_code == 204
    assert enroll(alice, name="Third")["device_id"]
    assert Device.objects.filter(revoked_at__isnull=True).count() == 2


def test_the_cap_is_per_employee(alice, bob, enroll, settings):
    settings.COLLECTION_MAX_DEVICES_PER_EMPLOYEE = 1
    enroll(alice)
    enroll(bob)
    assert Device.objects.count() == 2


def test_the_portal_shows_the_cap_as_a_message(alice, portal_as, settings):
    settings.COLLECTION_MAX_DEVICES_PER_EMPLOYEE = 1
    client = portal_as(alice)
    assert client.post("/portal/devices", {"name": "Desk PC", "platform": "windows"}).status_code == 302
    page = client.post("/portal/devices", {"name": "Laptop", "platform": "linux"}, follow=True)
    assert page.status_code == 200
    assert "at most 1 are allowed" in page.content.decode()
    assert list(Device.objects.values_list("name", flat=True)) == ["Desk PC"]


def _enroll_at_once(user, barrier, outcomes):
    from django.db import connections

    from collection.services import device_enroll
    from config.errors import Conflict

    try:
        barrier.wait()
        device_enroll(employee=user, name="Racer", platform="linux")
        outcomes.append("enrolled")
    except Conflict as exc:
        outcomes.append(exc.code)
    except Exception as exc:  # pragma: no cover - reported by the assertion
        outcomes.append(repr(exc))
    finally:
        connections.close_all()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_enrolments_cannot_pass_the_cap(settings):
    import threading

    from tests.conftest import make_user

    settings.COLLECTION_MAX_DEVICES_PER_EMPLOYEE = 2
    alice = make_user("alice", "employee")
    racers = 8
    barrier = threading.Barrier(racers)
    outcomes: list[str] = []
    threads = [threading.Thread(target=_enroll_at_once, args=(alice, barrier, outcomes)) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["enrolled"] * 2 + ["too_many_devices"] * (racers - 2)
    assert Device.objects.filter(employee=alice).count() == 2
    assert AuditEntry.objects.filter(action="device.enroll").count() == 2


def test_enrolling_checks_the_role_again_under_the_account_lock(alice):
    from accounts.models import UserRole
    from collection.services import device_enroll
    from config.errors import NotPermitted

    assert alice.has_role("employee")  # the caller's view, read before the role was taken away
    UserRole.objects.filter(user=alice, role="employee").delete()
    with pytest.raises(NotPermitted) as refused:
        device_enroll(employee=alice, name="Late", platform="linux")
    assert refused.value.code == "not_an_employee"
    assert not Device.objects.exists() and not AuditEntry.objects.filter(action="device.enroll").exists()


# --- Revoking on the portal: a confirmation page first, and a redirect after every post ---


def test_revoking_on_the_portal_shows_the_effect_first_and_writes_nothing(consenting, enroll, portal_as, frozen):
    laptop = Device.objects.get(pk=enroll(consenting, name="Work laptop")["device_id"])
    enroll(consenting, name="Desk PC", platform="linux")
    store_events(consenting, laptop, at=T0, counts={"mouse": 4000, "clicks": 24})
    client = portal_as(consenting)
    assert f'action="/portal/devices/{laptop.pk}/revoke"' in client.get("/portal/devices").content.decode()

    page = client.get(f"/portal/devices/{laptop.pk}/revoke")
    assert page.status_code == 200
    text = visible_text(page)
    assert "Work laptop will stop uploading at once." in text
    assert "The 4,024 events it uploaded since 1 Jun 2026, 12:00 UTC stay stored." in text
    assert "Desk PC is not affected and keeps recording what you allowed." in text
    laptop.refresh_from_db()
    assert laptop.revoked_at is None and not AuditEntry.objects.filter(action="device.revoke").exists()

    unconfirmed = client.post(f"/portal/devices/{laptop.pk}/revoke")
    assert unconfirmed.status_code == 302 and unconfirmed["Location"] == f"/portal/devices/{laptop.pk}/revoke"
    laptop.refresh_from_db()
    assert laptop.revoked_at is None and not AuditEntry.objects.filter(action="device.revoke").exists()


def test_a_confirmed_revoke_redirects_and_a_repeated_post_revokes_nothing_more(consenting, enroll, portal_as):
    body = enroll(consenting, name="Work laptop")
    client = portal_as(consenting)
    done = client.post(f"/portal/devices/{body['device_id']}/revoke", {"confirm": "on"}, follow=True)
    assert done.redirect_chain == [("/portal/devices", 302)]
    assert "Work laptop is revoked: it stopped uploading at once." in done.content.decode()
    assert fetch_token(body["device_secret"]).status_code == 401
    again = client.post(f"/portal/devices/{body['device_id']}/revoke", {"confirm": "on"}, follow=True)
    assert again.redirect_chain == [("/portal/devices", 302)]
    assert "Work laptop is already revoked" in again.content.decode()
    assert client.get(f"/portal/devices/{body['device_id']}/revoke")["Location"] == "/portal/devices"
    assert AuditEntry.objects.filter(action="device.revoke", detail__device_id=body["device_id"]).count() == 1


def test_nobody_sees_or_revokes_someone_elses_device_on_the_portal(alice, bob, enroll, portal_as):
    body = enroll(alice)
    client = portal_as(bob)
    assert client.get(f"/portal/devices/{body['device_id']}/revoke").status_code == 404
    assert client.post(f"/portal/devices/{body['device_id']}/revoke", {"confirm": "on"}).status_code == 404
    assert Device.objects.get(pk=body["device_id"]).revoked_at is None
    assert not AuditEntry.objects.filter(action="device.revoke").exists()
