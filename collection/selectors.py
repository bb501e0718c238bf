"""Reads of collection data, each carrying its permission rule."""

from __future__ import annotations

import uuid

from accounts.models import User
from collection.models import Device
from config.errors import NotFound


def devices_for_employee(*, employee: User) -> list[Device]:
    """The employee's own devices, newest first, revoked ones included."""
    return list(Device.objects.filter(employee=employee).order_by("-created_at"))


def device_for_employee(*, employee: User, device_id: uuid.UUID | str) -> Device:
    """One of the employee's own devices; anyone else's answers 404."""
    device = Device.objects.filter(employee=employee, pk=device_id).first()
    if device is None:
        raise NotFound("not_found", "No such device.")
    return device
