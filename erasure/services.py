"""Erasure use cases: a request is made, carried out and completed here; retention deadlines are enforced here.

A request comes from the employee (``erasure_request_create``) or from a
withdrawal with erasure (``consent_withdraw_with_erasure``, one transaction
with the withdrawal).  A worker starts on it as soon as it commits; the due
time is the deadline, not the start, and the periodic sweep
(``erasure_requests_process``) catches any request that message missed.

The database says what is pending: a request is claimed with
``select_for_update(skip_locked=True)`` and marked done in the same
transaction as the deletion, so a task delivered twice, or two workers at
once, erase once.  The deletion itself is ``collection.services.storage``'s
(``subject_key_destroy``, ``subject_ciphertext_delete``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import User
from audit.actions import AuditAction
from audit.services import audit_record
from audit.targets import subject_target
from audit.timestamps import rfc3339
from collection.models import EventChunk, SubjectKey
from collection.services import subject_ciphertext_delete, subject_key_destroy
from consent.models import ConsentEvent, RetentionRule, Subject
from consent.selectors import consent_state_for_subject
from consent.services import consent_withdraw, subject_for_employee
from consent.services.guards import clean_categories, require_employee
from erasure.models import ErasureRequest
from erasure.receipts import data_key_id, deletion_receipts_issue_missing

ACTOR = "system:erasure"
RETENTION_ACTOR = "system:retention"


# --- Making a request -----------------------------------------------------------------


def _erasure_request_open(
    *, subject: Subject, categories: list[str], reason: str, channel: str, event: ConsentEvent | None = None
) -> ErasureRequest:
    """Record a request with its deadline and its audit entry; a worker starts on it once it commits."""
    now = timezone.now()
    request = ErasureRequest.objects.create(
        subject=subject,
        categories=sorted(categories),
        reason=reason,
        event=event,
        requested_at=now,
        due_at=now + timedelta(days=settings.ERASURE_DUE_DAYS),
    )
    audit_record(
        # The employee asks under their pseudonym, directly or by withdrawing with erasure.
        actor=subject_target(subject.pseudonym),
        action=AuditAction.ERASURE_REQUESTED,
        target=subject_target(subject.pseudonym),
        detail={
            "erasure_request_id": str(request.id),
            "categories": request.categories,
            "reason": request.reason,
            "due_at": request.due_at.isoformat(),
            "channel": channel,
            # The withdrawal that asked for it, if one did.
            "event_id": str(event.id) if event is not None else None,
        },
    )
    # Imported here: the tasks module imports this one.
    from erasure.tasks import erase_subject_task

    # robust: a broker outage must not turn a committed request into an error;
    # the periodic sweep carries it out instead.
    transaction.on_commit(lambda: erase_subject_task.delay(str(request.pk)), robust=True)
    return request


def erasure_request_create(
    *, employee: User, categories: Iterable[str] | None = None, channel: str = ConsentEvent.Channel.PORTAL
) -> ErasureRequest:
    """The employee asks for their captured data (all of it, or some categories) to be erased."""
    require_employee(employee)
    wanted = clean_categories(categories) if categories is not None else []
    with transaction.atomic():
        subject = subject_for_employee(employee)
        return _erasure_request_open(
            subject=subject, categories=wanted, reason=ErasureRequest.Reason.EMPLOYEE_REQUEST, channel=channel
        )


def consent_withdraw_with_erasure(
    *, employee: User, categories: Iterable[str] | None = None, channel: str = ConsentEvent.Channel.PORTAL
) -> tuple[ConsentEvent, ErasureRequest]:
    """Withdraw ``categories`` (all held ones when None) and ask for their data to be erased, atomically.

    The withdrawal is recorded by ``consent_withdraw`` (its event and receipt
    say erasure was requested); the request is linked to that event.  Neither
    is recorded without the other.
    """
    with transaction.atomic():
        event = consent_withdraw(employee=employee, categories=categories, erasure_requested=True, channel=channel)
        # The employee's consent state is still locked by the withdrawal.
        nothing_left = not consent_state_for_subject(subject=event.subject).granted
        request = _erasure_request_open(
            subject=event.subject,
            # Withdrawing everything erases everything, including categories withdrawn earlier.
            categories=[] if nothing_left else event.categories,
            reason=ErasureRequest.Reason.WITHDRAWAL,
            channel=channel,
            event=event,
        )
    return event, request


# --- Carrying a request out -----------------------------------------------------------


def _claim(request_id: uuid.UUID | str, *, skip_locked: bool) -> ErasureRequest | None:
    return (
        ErasureRequest.objects.select_for_update(skip_locked=skip_locked)
        .select_related("subject")
        .filter(pk=request_id, status=ErasureRequest.Status.PENDING)
        .first()
    )


def erasure_request_carry_out(*, request_id: uuid.UUID | str) -> bool:
    """Erase what one pending request names. Returns False when it is done already or being done elsewhere.

    Everything: the data key is destroyed and that commits first, so the data is
    unreadable at once; then the ciphertext is deleted and the request marked
    done together.  Some categories: their chunks are deleted (the key stays for
    the rest).
    """
    with transaction.atomic():
        request = _claim(request_id, skip_locked=True)
        if request is None:
            return False
        shredded: dict[str, Any] = {}
        if not request.categories:
            # Named (by a digest of its wrapped form) before it goes, for the deletion receipt.
            wrapped = SubjectKey.objects.filter(subject=request.subject).values_list("wrapped_key", flat=True).first()
            shredded = {**subject_key_destroy(subject=request.subject, actor=ACTOR, reason=request.reason)}
            shredded["data_key"] = data_key_id(wrapped) if wrapped is not None else None
            shredded["key_destroyed_at"] = rfc3339(timezone.now()) if wrapped is not None else None
    with transaction.atomic():
        request = _claim(request_id, skip_locked=False)
        if request is None:  # another worker finished it in between
            return False
        outcome = subject_ciphertext_delete(
            subject=request.subject, actor=ACTOR, reason=request.reason, categories=request.categories or None
        )
        outcome["ciphertext_deleted_at"] = rfc3339(timezone.now())
        erasure_request_complete(request=request, actor=ACTOR, outcome={**shredded, **outcome})
    return True


def erasure_requests_process(*, limit: int = 100) -> int:
    """Carry out pending requests, earliest deadline first. Returns how many were done."""
    pending = ErasureRequest.objects.filter(status=ErasureRequest.Status.PENDING).order_by("due_at")
    ids = list(pending.values_list("pk", flat=True)[:limit])
    done = sum(erasure_request_carry_out(request_id=request_id) for request_id in ids)
    # Receipts whose step after commit was lost (a broker outage, a crash) are issued here.
    deletion_receipts_issue_missing(limit=limit)
    return done


def erasure_request_complete(*, request: ErasureRequest, actor: Any, outcome: dict[str, Any]) -> ErasureRequest:
    """Mark a request done once its data is unreadable and deleted; called by whoever erased it.

    Once that commits, the employee's deletion receipt is issued (``erasure.receipts``).
    """
    from erasure.tasks import issue_deletion_receipt_task  # the tasks module imports this one

    with transaction.atomic():
        request.status = ErasureRequest.Status.DONE
        request.completed_at = timezone.now()
        request.save(update_fields=["status", "completed_at"])
        audit_record(
            actor=actor,
            action=AuditAction.ERASURE_COMPLETED,
            target=subject_target(request.subject.pseudonym),
            detail={
                "erasure_request_id": str(request.id),
                "categories": request.categories,
                "reason": request.reason,
                "due_at": request.due_at.isoformat(),
                "overdue": request.completed_at > request.due_at,
                **outcome,
            },
        )
    # The receipt cites this entry's seq, which exists once the completion commits.
    transaction.on_commit(lambda: issue_deletion_receipt_task.delay(str(request.pk)), robust=True)
    return request


# --- Retention ----------------------------------------------------------------------------


def retention_enforce(*, now: datetime | None = None) -> dict[str, int]:
    """Delete captured events older than their category's maximum age. Returns events deleted per category.

    A chunk goes when its newest event is past the limit, so no event outlives
    its retention by more than the span of one upload batch.
    """
    now = now or timezone.now()
    deleted: dict[str, int] = {}
    for rule in RetentionRule.objects.all():
        cutoff = now - timedelta(days=rule.max_age_days)
        with transaction.atomic():
            expired = EventChunk.objects.filter(category=rule.category, last_ts__lt=cutoff)
            stats = expired.aggregate(events=Sum("count"))
            if not stats["events"]:
                continue
            subjects = expired.values("subject").distinct().count()
            chunks = expired.delete()[0]
            audit_record(
                actor=RETENTION_ACTOR,
                action=AuditAction.RETENTION_PURGED,
                target=f"retention:{rule.category}",
                detail={
                    "category": rule.category,
                    "max_age_days": rule.max_age_days,
                    "cutoff": cutoff.isoformat(),
                    "chunks": chunks,
                    "events": stats["events"],
                    "subjects": subjects,
                },
            )
            deleted[rule.category] = stats["events"]
    return deleted
