"""Reads of collection data, each carrying its permission rule."""

from __future__ import annotations

import uuid

from django.db.models import Sum

from accounts.models import User
from collection.models import Device, EventChunk
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


def events_stored_from_app(*, app_id: str) -> int:
    """How many events are stored from one application, across everyone (a count from chunk metadata)."""
    return EventChunk.objects.filter(app_id=app_id).aggregate(n=Sum("count"))["n"] or 0
