"""Capture devices: enrolment, revocation, authentication by secret, and the collection tokens they fetch.

A device's secret is shown once and stored only as a hash; a device
exchanges it for short-lived collection tokens (signed in
``collection.tokens``) while its employee's consent is active.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.locks import account_lock
from accounts.models import Role, User, UserRole
from audit.actions import AuditAction
from audit.services import audit_record
from audit.targets import subject_target
from collection.models import Device, Platform
from collection.services._subjects import _require_employee
from collection.tokens import token_sign
from config.errors import Conflict, InvalidInput, NotFound, NotPermitted
from consent.selectors import capture_policy_for_subject, consent_state_for_subject
from consent.services import subject_for_employee


def device_enroll(*, employee: User, name: str, platform: str) -> tuple[Device, str]:
    """Register a capture device; returns it and its secret, which is shown this once and stored hashed.

    An employee holds at most ``COLLECTION_MAX_DEVICES_PER_EMPLOYEE`` active
    devices.  The account row is locked first (``accounts.locks``), so two
    enrolments at once cannot both pass the cap, and one cannot slip in
    beside a role change that revokes the employee's devices.
    """
    _require_employee(employee)
    name = (name or "").strip()
    if not name:
        raise InvalidInput("invalid_name", "Give the device a name.")
    if platform not in Platform.values:
        raise InvalidInput("invalid_platform", "The platform must be macos, windows or linux.")
    secret = "cdev_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        locked = account_lock(employee)
        # Checked again under the lock: a role change or disabling may have committed meanwhile.
        if not locked.is_active or not UserRole.objects.filter(user=locked, role=Role.EMPLOYEE).exists():
            raise NotPermitted("not_an_employee", "Only employees enroll capture devices.")
        cap = settings.COLLECTION_MAX_DEVICES_PER_EMPLOYEE
        active = Device.objects.filter(employee=employee, revoked_at__isnull=True).count()
        if active >= cap:
            raise Conflict(
                "too_many_devices",
                f"You already have {active} active capture devices; at most {cap} are allowed. "
                "Revoke one you no longer use (Devices in the portal, or "
                "DELETE /api/v1/collection/devices/{device_id}), then enroll this one.",
                extra={"max_devices": cap},
            )
        subject = subject_for_employee(employee)
        device = Device.objects.create(
            employee=employee, name=name[:100], platform=platform, secret_digest=Device.digest_of(secret)
        )
        audit_record(
            actor=subject_target(subject.pseudonym),
            action=AuditAction.DEVICE_ENROLL,
            target=subject_target(subject.pseudonym),
            detail={"device_id": str(device.pk), "platform": platform},
        )
    return device, secret


def device_revoke(*, employee: User, device: Device) -> Device:
    """Revoke a device: its secret stops working and its tokens stop being accepted at once."""
    if device.employee_id != employee.pk:
        raise NotFound("not_found", "No such device.")
    with transaction.atomic():
        locked = Device.objects.select_for_update().get(pk=device.pk)
        if locked.revoked_at is not None:
            return locked
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        subject = subject_for_employee(employee)
        audit_record(
            actor=subject_target(subject.pseudonym),
            action=AuditAction.DEVICE_REVOKE,
            target=subject_target(subject.pseudonym),
            detail={"device_id": str(locked.pk)},
        )
    return locked


def devices_revoke_all(*, employee: User, actor: User | str, reason: str) -> list[Device]:
    """Revoke every active device of ``employee`` for an administrator's change to the account.

    Called by the account services (employee role removed, account disabled)
    inside their transaction, after they locked the account row: the devices
    are locked next and every revocation is an audit entry naming ``actor``,
    so capture stops in the same commit as the change that ends it.
    """
    with transaction.atomic():
        devices = list(
            Device.objects.select_for_update().filter(employee=employee, revoked_at__isnull=True).order_by("pk")
        )
        if not devices:
            return []
        now = timezone.now()
        Device.objects.filter(pk__in=[d.pk for d in devices]).update(revoked_at=now)
        subject = subject_for_employee(employee)
        for device in devices:
            device.revoked_at = now
            audit_record(
                actor=actor,
                action=AuditAction.DEVICE_REVOKE,
                target=subject_target(subject.pseudonym),
                detail={"device_id": str(device.pk), "reason": reason},
            )
    return devices


def device_authenticate(secret: str) -> Device | None:
    """The active device holding ``secret``, or None."""
    if not secret or len(secret) > 200:
        return None
    device = (
        Device.objects.select_related("employee")
        .filter(secret_digest=Device.digest_of(secret), revoked_at__isnull=True)
        .first()
    )
    if device is None or not device.employee.is_active:
        return None
    return device


@dataclass(frozen=True)
class IssuedToken:
    """A signed collection token, and the policy it carries, for the client to show and follow."""

    token: str
    expires_at: datetime
    categories: list[str]
    apps: list[str]


def token_issue(*, device: Device) -> IssuedToken:
    """A collection token for an active device of an employee with active consent."""
    employee = device.employee
    # The protocol answers every "you may not capture" at this step with consent_required.
    _require_employee(employee, code="consent_required", message="Only employees who have opted in can capture.")
    subject = subject_for_employee(employee)
    state = consent_state_for_subject(subject=subject)
    policy = capture_policy_for_subject(subject=subject, state=state)
    if not policy.active or policy.consent_id is None:
        raise NotPermitted(
            "consent_required",
            "There is no active consent covering an allowed application; opt in first in the portal.",
        )
    now = timezone.now()
    categories = sorted(set().union(*policy.apps.values()))
    apps = sorted(policy.apps)
    token, expires_at = token_sign(
        pseudonym=subject.pseudonym,
        device_id=str(device.pk),
        consent_id=policy.consent_id,
        epoch=policy.epoch,
        scope=categories,
        apps=apps,
        now=now,
        lifetime=timedelta(seconds=settings.COLLECTION_TOKEN_LIFETIME_SECONDS),
    )
    Device.objects.filter(pk=device.pk).update(last_seen_at=now)
    return IssuedToken(token=token, expires_at=expires_at, categories=categories, apps=apps)
