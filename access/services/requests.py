"""Data requests: submission, officers' reviews, and expiry of undecided requests.

The scope is frozen at submission.  Approval needs one officer, or two
distinct officers when the categories include ``keystrokes``; the requester
never decides their own request (also when they hold the officer role), an
officer reviews a request at most once, and one rejection rejects it.  The
deciding approval creates the grant in the same transaction.

Locks: the request row first, then (through ``audit_record``) the audit
log's head row, always last.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from access.models import DataRequest, Review
from access.services._rules import require_officer, require_requester
from access.services.grants import grant_create
from accounts.models import User
from audit.actions import AuditAction
from audit.services import audit_record
from audit.targets import data_request_target, user_target
from audit.timestamps import rfc3339
from config.errors import Conflict, InvalidInput, NotPermitted
from consent.models import AllowedApplication, DataCategory
from consent.selectors import current_notice

MIN_JUSTIFICATION = 20
MIN_REASON = 10


def _clean_categories(categories: Iterable[str]) -> list[str]:
    wanted = sorted(set(categories))
    if not wanted:
        raise InvalidInput("no_categories", "Name at least one data category.")
    unknown = [c for c in wanted if c not in DataCategory.values]
    if unknown:
        raise InvalidInput(
            "unknown_category",
            f"Unknown data categories: {', '.join(unknown)}. Known: {', '.join(DataCategory.values)}.",
        )
    return wanted


def _clean_apps(apps: Iterable[str], categories: list[str]) -> list[str]:
    wanted = sorted({a.strip() for a in apps})
    if not wanted or wanted == [""]:
        raise InvalidInput("no_apps", "Name at least one application.")
    allowed = dict(AllowedApplication.objects.filter(app_id__in=wanted).values_list("app_id", "categories"))
    unknown = [a for a in wanted if a not in allowed]
    if unknown:
        raise InvalidInput("unknown_app", f"Not on the application allowlist: {', '.join(unknown)}.")
    useless = [a for a in wanted if not set(allowed[a]) & set(categories)]
    if useless:
        raise InvalidInput(
            "app_without_category",
            f"None of the requested categories may be captured in: {', '.join(useless)}.",
        )
    return wanted


def _clean_range(since: datetime, until: datetime, now: datetime) -> None:
    if timezone.is_naive(since) or timezone.is_naive(until):
        raise InvalidInput("naive_time", "Give since and until with a time zone (RFC 3339).")
    if since >= until:
        raise InvalidInput("invalid_range", "since must be before until.")
    if until > now:
        raise InvalidInput(
            "future_range", "until must not be in the future: only data captured already can be asked for."
        )


def data_request_submit(
    *,
    requester: User,
    categories: Iterable[str],
    apps: Iterable[str],
    since: datetime,
    until: datetime,
    purpose: str,
    justification: str,
) -> DataRequest:
    """Ask for a dataset; the scope asked for is exactly what an approval will cover."""
    require_requester(requester)
    now = timezone.now()
    wanted = _clean_categories(categories)
    wanted_apps = _clean_apps(apps, wanted)
    _clean_range(since, until, now)
    justification = (justification or "").strip()
    if len(justification) < MIN_JUSTIFICATION:
        raise InvalidInput(
            "justification_too_short",
            f"Explain in at least {MIN_JUSTIFICATION} characters why the dataset is needed for this purpose.",
        )
    with transaction.atomic():
        notice = current_notice()
        if notice is None:
            raise Conflict("no_notice", "No consent notice has been published yet.")
        if purpose not in notice.purpose_ids:
            raise InvalidInput(
                "unknown_purpose",
                f"{purpose!r} is not a purpose of the current notice (v{notice.version}): "
                f"{', '.join(notice.purpose_ids)}.",
            )
        request = DataRequest.objects.create(
            requester=requester,
            categories=wanted,
            apps=wanted_apps,
            since=since,
            until=until,
            purpose=purpose,
            notice=notice,
            justification=justification,
            approvals_required=2 if DataCategory.KEYSTROKES in wanted else 1,
            created_at=now,
            decide_by=now + timedelta(days=settings.DATA_REQUEST_PENDING_DAYS),
        )
        audit_record(
            actor=requester,
            action=AuditAction.DATA_REQUEST_SUBMITTED,
            target=data_request_target(request.id),
            detail={**scope_of(request), "approvals_required": request.approvals_required},
        )
    return request


def scope_of(request: DataRequest) -> dict[str, object]:
    """The request's frozen scope, as audit entries and manifests state it."""
    return {
        "categories": request.categories,
        "apps": request.apps,
        "since": rfc3339(request.since),
        "until": rfc3339(request.until),
        "purpose": request.purpose,
        "notice_version": request.notice.version,
    }


def _locked_pending(request: DataRequest) -> DataRequest:
    locked = DataRequest.objects.select_for_update().select_related("notice", "requester").get(pk=request.pk)
    if locked.status != DataRequest.Status.PENDING:
        raise Conflict("not_pending", f"This request is {locked.get_status_display().lower()}; it cannot be decided.")
    return locked


def data_request_review(
    *, officer: User, request: DataRequest, approve: bool, reason: str, grant_days: int | None = None
) -> DataRequest:
    """An officer approves or rejects a pending request with a written reason.

    ``grant_days`` (approvals only) shortens the grant below the default; with
    two approvals the shorter choice applies.
    """
    require_officer(officer)
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise InvalidInput("reason_too_short", f"Write a reason of at least {MIN_REASON} characters.")
    longest = settings.DATA_GRANT_DAYS
    if grant_days is not None and not (approve and 1 <= grant_days <= longest):
        raise InvalidInput(
            "invalid_grant_days",
            f"A grant lasts between 1 and {longest} days, set when approving."
            if approve
            else "Grant length is set only when approving.",
        )
    now = timezone.now()
    with transaction.atomic():
        request = _locked_pending(request)
        if request.decide_by <= now:
            raise Conflict("not_pending", "This request expired without a decision.")
        if request.requester_id == officer.pk:
            raise NotPermitted("own_request", "Nobody decides their own data request.")
        if request.reviews.filter(officer=officer).exists():
            raise Conflict("already_reviewed", "You have reviewed this request already; another officer must.")
        Review.objects.create(
            request=request,
            officer=officer,
            decision=Review.Decision.APPROVE if approve else Review.Decision.REJECT,
            reason=reason,
            grant_days=grant_days,
            created_at=now,
        )
        detail = {"officer": user_target(officer.username), "reason": reason}
        approvals = request.reviews.filter(decision=Review.Decision.APPROVE).count()
        if not approve:
            _decide(request, DataRequest.Status.REJECTED, now)
            action = AuditAction.DATA_REQUEST_REJECTED
        elif approvals < request.approvals_required:
            action = AuditAction.DATA_REQUEST_REVIEWED
            detail["approvals"] = f"{approvals} of {request.approvals_required}"
        else:
            _decide(request, DataRequest.Status.APPROVED, now)
            action = AuditAction.DATA_REQUEST_APPROVED
            chosen = [r.grant_days for r in request.reviews.all() if r.grant_days]
            days = min(chosen, default=longest)
            grant = grant_create(request=request, expires_at=now + timedelta(days=days), now=now)
            detail.update({"grant": str(grant.id), "expires_at": rfc3339(grant.expires_at)})
        audit_record(actor=officer, action=action, target=data_request_target(request.id), detail=detail)
    return request


def _decide(request: DataRequest, status: str, now: datetime) -> None:
    request.status = status
    request.decided_at = now
    request.save(update_fields=["status", "decided_at"])


def data_requests_expire(*, now: datetime | None = None, limit: int = 500) -> int:
    """Expire pending requests nobody decided in time; returns how many. Idempotent (beat job)."""
    now = now or timezone.now()
    expired = 0
    with transaction.atomic():
        due = list(
            DataRequest.objects.select_for_update(skip_locked=True)
            .filter(status=DataRequest.Status.PENDING, decide_by__lte=now)
            .order_by("decide_by")[:limit]
        )
        for request in due:
            _decide(request, DataRequest.Status.EXPIRED, now)
            audit_record(
                actor="system:data-access",
                action=AuditAction.DATA_REQUEST_EXPIRED,
                target=data_request_target(request.id),
                detail={"decide_by": rfc3339(request.decide_by)},
            )
            expired += 1
    return expired
