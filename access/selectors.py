"""Reads of data requests, grants and exports, each with its permission rule.

Requesters see their own requests, grants and exports; privacy officers and
auditors see all of them (auditors read only).  Anything else the actor may
not see is "not found".
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Count, QuerySet
from django.db.models.functions import TruncWeek
from django.utils import timezone

from access.membership import count_events, members_now, readable_storage
from access.models import DataRequest, Export, Grant
from accounts.models import Role, User
from config.errors import NotFound, NotPermitted

_OVERSEERS = (Role.PRIVACY_OFFICER, Role.AUDITOR)


def _sees_all(actor: User) -> bool:
    return any(actor.has_role(role) for role in _OVERSEERS)


def _require_any_role(actor: User) -> None:
    if not (_sees_all(actor) or actor.has_role(Role.REQUESTER)):
        raise NotPermitted("permission_denied", "Only requesters, privacy officers and auditors see data requests.")


def data_requests_for_actor(*, actor: User, status: str | None = None) -> QuerySet[DataRequest]:
    _require_any_role(actor)
    requests = DataRequest.objects.select_related("requester", "notice").prefetch_related("reviews__officer")
    if not _sees_all(actor):
        requests = requests.filter(requester=actor)
    if status:
        requests = requests.filter(status=status)
    return requests.order_by("-created_at")


def data_request_for_actor(*, actor: User, request_id: uuid.UUID | str) -> DataRequest:
    request = data_requests_for_actor(actor=actor).filter(pk=request_id).first()
    if request is None:
        raise NotFound("not_found", "No such data request.")
    return request


def review_queue_for_officer(*, actor: User) -> QuerySet[DataRequest]:
    """Pending requests, oldest first: what officers have to decide."""
    if not actor.has_role(Role.PRIVACY_OFFICER):
        raise NotPermitted("not_an_officer", "Only privacy officers review data requests.")
    return data_requests_for_actor(actor=actor, status=DataRequest.Status.PENDING).order_by("created_at")


@dataclass(frozen=True)
class Impact:
    """How much a request would cover if exported now; aggregate only."""

    subjects: int | None  # None: fewer than the minimum group size, not shown
    events: int | None
    minimum: int

    @property
    def subjects_text(self) -> str:
        return f"fewer than {self.minimum}" if self.subjects is None else f"{self.subjects:,}"


def impact_for_officer(*, actor: User, request: DataRequest) -> Impact:
    """Subjects and events the request would cover today, hidden below the minimum group size."""
    if not actor.has_role(Role.PRIVACY_OFFICER):
        raise NotPermitted("not_an_officer", "Only privacy officers see the impact of a request.")
    members = members_now(request)
    minimum = settings.CONSENT_STATS_MIN_GROUP
    if len(members) < minimum:
        # The event count of a handful of people says too much about each of them.
        return Impact(subjects=None, events=None, minimum=minimum)
    with readable_storage():
        events = count_events(request, members)
    return Impact(subjects=len(members), events=events, minimum=minimum)


def grants_for_actor(*, actor: User) -> QuerySet[Grant]:
    _require_any_role(actor)
    grants = Grant.objects.select_related("request__requester", "request__notice")
    if not _sees_all(actor):
        grants = grants.filter(request__requester=actor)
    return grants.order_by("-created_at")


def grant_for_actor(*, actor: User, grant_id: uuid.UUID | str) -> Grant:
    grant = grants_for_actor(actor=actor).filter(pk=grant_id).first()
    if grant is None:
        raise NotFound("not_found", "No such grant.")
    return grant


def grant_for_holder(*, actor: User, grant_id: uuid.UUID | str) -> Grant:
    """A grant the actor holds (only the requester exports under it)."""
    grant = Grant.objects.select_related("request").filter(pk=grant_id, request__requester=actor).first()
    if grant is None:
        raise NotFound("not_found", "No such grant.")
    return grant


def export_for_actor(*, actor: User, export_id: uuid.UUID | str) -> Export:
    _require_any_role(actor)
    exports = Export.objects.select_related("grant__request")
    if not _sees_all(actor):
        exports = exports.filter(grant__request__requester=actor)
    export = exports.filter(pk=export_id).first()
    if export is None:
        raise NotFound("not_found", "No such export.")
    return export


@dataclass(frozen=True)
class WeeklyActivity:
    """Data requests and exports per week (Monday, UTC), oldest first; counts only."""

    weeks: list[date]
    requested: list[int]
    approved: list[int]
    rejected_or_expired: list[int]
    exports: list[int]


def weekly_activity_for_overseer(*, actor: User, weeks: int = 12) -> WeeklyActivity:
    """How many requests came in, were decided and how many exports were made, week by week.

    Privacy officers and auditors only: it counts every requester's activity.
    """
    if not _sees_all(actor):
        raise NotPermitted("permission_denied", "Only privacy officers and auditors see activity across requesters.")
    today = timezone.now().date()
    this_monday = today - timedelta(days=today.weekday())
    mondays = [this_monday - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    start = datetime.combine(mondays[0], time.min, tzinfo=UTC)

    def per_week(queryset: QuerySet, field: str) -> list[int]:
        counts = dict(
            queryset.filter(**{f"{field}__gte": start})
            .annotate(week=TruncWeek(field))
            .values("week")
            .annotate(n=Count("pk"))
            .values_list("week", "n")
        )
        by_monday = {(w.date() if isinstance(w, datetime) else w): n for w, n in counts.items()}
        return [by_monday.get(monday, 0) for monday in mondays]

    decided = DataRequest.objects.exclude(decided_at__isnull=True)
    return WeeklyActivity(
        weeks=mondays,
        requested=per_week(DataRequest.objects.all(), "created_at"),
        approved=per_week(decided.filter(status=DataRequest.Status.APPROVED), "decided_at"),
        rejected_or_expired=per_week(
            decided.filter(status__in=[DataRequest.Status.REJECTED, DataRequest.Status.EXPIRED]), "decided_at"
        ),
        exports=per_week(Export.objects.all(), "created_at"),
    )
