"""Grants: created by the deciding approval, ended by expiry or revocation.

Ending a grant destroys its pseudonym key in the same transaction, so from
the commit on nobody can link its datasets to people.  Expiry is enforced
twice: every use checks ``expires_at`` itself (``grant_usable``), and a beat
job (``grants_expire``) ends what is due and destroys the keys.

Locks: the grant row first, then the audit log's head row, always last.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from access.models import DataRequest, Grant
from access.pseudonyms import new_wrapped_grant_key
from access.services._rules import require_officer
from accounts.models import User
from audit.actions import AuditAction
from audit.services import audit_record
from audit.targets import grant_target
from audit.timestamps import rfc3339
from config.errors import Conflict, InvalidInput, NotPermitted


def grant_create(*, request: DataRequest, expires_at: datetime, now: datetime) -> Grant:
    """The grant of an approved request, with a fresh pseudonym key. Called inside the approval's transaction."""
    grant = Grant(request=request, created_at=now, expires_at=expires_at)
    grant.wrapped_key = new_wrapped_grant_key(grant.id)
    grant.save(force_insert=True)
    audit_record(
        actor="system:data-access",
        action=AuditAction.GRANT_CREATED,
        target=grant_target(grant.id),
        detail={
            "request": str(request.id),
            "requester": request.requester.username,
            "purpose": request.purpose,
            "expires_at": rfc3339(expires_at),
        },
    )
    return grant


def _end(grant: Grant, *, status: str, now: datetime, actor: User | None = None, reason: str = "") -> None:
    grant.status = status
    grant.ended_at = now
    grant.ended_by = actor
    grant.end_reason = reason
    grant.wrapped_key = None  # the key is destroyed with the commit
    grant.save(update_fields=["status", "ended_at", "ended_by", "end_reason", "wrapped_key"])


def grant_revoke(*, officer: User, grant: Grant, reason: str) -> Grant:
    """An officer ends a grant early; its key is destroyed at once."""
    require_officer(officer)
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise InvalidInput("reason_too_short", "Write a reason of at least 10 characters.")
    with transaction.atomic():
        grant = Grant.objects.select_for_update().get(pk=grant.pk)
        if grant.status != Grant.Status.ACTIVE:
            raise Conflict("grant_ended", f"This grant has {grant.get_status_display().lower()} already.")
        _end(grant, status=Grant.Status.REVOKED, now=timezone.now(), actor=officer, reason=reason)
        audit_record(
            actor=officer,
            action=AuditAction.GRANT_REVOKED,
            target=grant_target(grant.id),
            detail={"reason": reason, "key_destroyed": True},
        )
    return grant


def grants_expire(*, now: datetime | None = None, limit: int = 500) -> int:
    """End every active grant past its expiry and destroy its key; returns how many. Idempotent (beat job)."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Grant.objects.select_for_update(skip_locked=True)
            .filter(status=Grant.Status.ACTIVE, expires_at__lte=now)
            .order_by("expires_at")[:limit]
        )
        for grant in due:
            _end(grant, status=Grant.Status.EXPIRED, now=now)
            audit_record(
                actor="system:data-access",
                action=AuditAction.GRANT_EXPIRED,
                target=grant_target(grant.id),
                detail={"expires_at": rfc3339(grant.expires_at), "key_destroyed": True},
            )
    return len(due)


def grant_usable(*, grant: Grant, now: datetime) -> None:
    """Refuse a grant that has ended or is past its expiry, whatever the beat job has done so far."""
    if grant.status == Grant.Status.REVOKED:
        raise NotPermitted("grant_revoked", "This grant was revoked; nothing can be exported under it.")
    if grant.status == Grant.Status.EXPIRED or grant.expires_at <= now:
        raise NotPermitted("grant_expired", "This grant has expired; nothing can be exported under it.")
