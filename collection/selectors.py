"""Reads of collection data, each carrying its permission rule."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Min, QuerySet, Sum

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


@dataclass(frozen=True)
class StoredEvents:
    """How many captured events are stored, and the time of the oldest (None when there are none)."""

    events: int
    since: datetime | None


def _stored(chunks: QuerySet[EventChunk]) -> StoredEvents:
    # Chunk metadata is enough: counting never decrypts anything, and is not a read of captured data.
    totals = chunks.aggregate(events=Sum("count"), since=Min("first_ts"))
    return StoredEvents(events=totals["events"] or 0, since=totals["since"])


def stored_events_for_employee(*, employee: User, categories: Iterable[str] | None = None) -> StoredEvents:
    """What is stored about the employee (of ``categories``, or all): what an erasure would delete."""
    chunks = EventChunk.objects.filter(subject__employee=employee)
    if categories is not None:
        chunks = chunks.filter(category__in=list(categories))
    return _stored(chunks)


def stored_events_for_device(*, employee: User, device: Device) -> StoredEvents:
    """What one of the employee's devices uploaded that is still stored."""
    return _stored(EventChunk.objects.filter(subject__employee=employee, batch__device=device))


def events_stored_from_app(*, app_id: str) -> int:
    """How many events are stored from one application, across everyone (a count from chunk metadata)."""
    return EventChunk.objects.filter(app_id=app_id).aggregate(n=Sum("count"))["n"] or 0
