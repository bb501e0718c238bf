"""Erasure requests: an employee's request, one made by a withdrawal, and marking one done.

Moved here unchanged from the old ``consent/services.py``; erasure is due to
move to its own app, so these functions are kept as they were.  Carrying a
request out is ``collection.erasure``'s job.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.services import audit_record
from consent.models import ConsentEvent, ErasureRequest, Subject

# Aliased to the names the bodies below were written with, so they stay as they were.
from consent.services.guards import clean_categories as _clean_categories
from consent.services.guards import require_employee as _require_employee
from consent.services.subjects import subject_for_employee


def _erasure_request_create(
    *, subject: Subject, categories: list[str], reason: str, event: ConsentEvent | None = None
) -> ErasureRequest:
    now = timezone.now()
    days = getattr(settings, "ERASURE_DUE_DAYS", 30)
    request = ErasureRequest.objects.create(
        subject=subject,
        categories=sorted(categories),
        reason=reason,
        event=event,
        requested_at=now,
        due_at=now + timedelta(days=days),
    )
    # The due time is a deadline: a worker starts as soon as this commits, and
    # the periodic sweep catches anything that message misses.
    # robust: a broker outage must not turn a committed withdrawal into an error.
    transaction.on_commit(lambda: _start_erasure(request.pk), robust=True)
    return request


def _start_erasure(request_id) -> None:
    from django.utils.module_loading import import_string

    # Imported by name: the collection app depends on this one, not the reverse.
    import_string("collection.tasks.erase_subject_task").delay(str(request_id))


def erasure_request_complete(*, request: ErasureRequest, actor: Any, outcome: dict[str, Any]) -> ErasureRequest:
    """Mark a request done once its data is unreadable and deleted; called by whoever erased it."""
    with transaction.atomic():
        request.status = ErasureRequest.Status.DONE
        request.completed_at = timezone.now()
        request.save(update_fields=["status", "completed_at"])
        audit_record(
            actor=actor,
            action="erasure.completed",
            target=f"subject:{request.subject.pseudonym}",
            detail={
                "erasure_request_id": str(request.id),
                "categories": request.categories,
                "reason": request.reason,
                "due_at": request.due_at.isoformat(),
                "overdue": request.completed_at > request.due_at,
                **outcome,
            },
        )
    return request


def erasure_request_create(
    *, employee: User, categories: Iterable[str] | None = None, channel: str = ConsentEvent.Channel.PORTAL
) -> ErasureRequest:
    """The employee asks for their captured data (all of it, or some categories) to be erased."""
    _require_employee(employee)
    wanted = _clean_categories(categories) if categories is not None else []
    with transaction.atomic():
        subject = subject_for_employee(employee)
        request = _erasure_request_create(
            subject=subject, categories=wanted, reason=ErasureRequest.Reason.EMPLOYEE_REQUEST
        )
        audit_record(
            actor=f"subject:{subject.pseudonym}",
            action="erasure.requested",
            target=f"subject:{subject.pseudonym}",
            detail={
                "erasure_request_id": str(request.id),
                "categories": request.categories,
                "reason": request.reason,
                "due_at": request.due_at.isoformat(),
                "channel": channel,
            },
        )
    return request
