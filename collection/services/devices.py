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

from accounts.models import User
from audit.actions import AuditAction
from audit.services import audit_record
from audit.targets import subject_target
from collection.models import Device, Platform
from collection.services._subjects import _require_employee
from collection.tokens import token_sign
from config.errors import InvalidInput, NotFound, NotPermitted
from consent.selectors import capture_policy_for_subject, consent_state_for_subject
from consent.services import subject_for_employee


def device_enroll(*, employee: User, name: str, platform: str) -> tuple[Device, str]:
    """Register a capture device; returns it and its secret, which is shown this once and stored hashed."""
    _require_employee(employee)
    name = (name or "").strip()
    if not name:
        raise InvalidInput("invalid_name", "Give the device a name.")
    if platform not in Platform.values:
        raise InvalidInput("invalid_platform", "The platform must be macos, windows or linux.")
    secret = "cdev_" + secrets.token_urlsafe(32)
    with transaction.atomic():
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
