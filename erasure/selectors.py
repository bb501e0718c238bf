"""Reads of erasure requests, each carrying its permission rule.

An employee reads their own requests; privacy officers read counts against
the deadlines, never who asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F, QuerySet
from django.utils import timezone

from accounts.guards import require_role
from accounts.models import Role, User
from erasure.models import ErasureRequest


def erasure_requests_for_employee(*, employee: User) -> QuerySet[ErasureRequest]:
    """The employee's own erasure requests, newest first; nobody else's, and nobody else reads them."""
    if not employee.is_authenticated or not employee.has_role(Role.EMPLOYEE):
        return ErasureRequest.objects.none()
    return ErasureRequest.objects.filter(subject__employee=employee).order_by("-requested_at")


@dataclass(frozen=True)
class ErasureDeadlines:
    """Counts only: which employee asked is nobody's business but theirs."""

    pending: int
    overdue: int
    # Pending and not overdue yet, but due within the next day.
    due_within_day: int
    next_due: datetime | None
    done_last_30_days: int
    late_last_30_days: int


def erasure_deadlines_for_officer(*, actor: User, now: datetime | None = None) -> ErasureDeadlines:
    """How the erasure requests stand against their deadlines, for privacy officers."""
    require_role(
        actor, Role.PRIVACY_OFFICER, code="permission_denied", message="Only privacy officers see erasure deadlines."
    )
    now = now or timezone.now()
    requests = ErasureRequest.objects.all()
    pending = requests.filter(status=ErasureRequest.Status.PENDING)
    done = requests.filter(status=ErasureRequest.Status.DONE, completed_at__gte=now - timedelta(days=30))
    return ErasureDeadlines(
        pending=pending.count(),
        overdue=pending.filter(due_at__lt=now).count(),
        due_within_day=pending.filter(due_at__gte=now, due_at__lt=now + timedelta(days=1)).count(),
        next_due=pending.order_by("due_at").values_list("due_at", flat=True).first(),
        done_last_30_days=done.count(),
        late_last_30_days=done.filter(completed_at__gt=F("due_at")).count(),
    )
