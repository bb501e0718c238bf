"""Carrying out erasure: employees' erasure requests and retention deadlines.

Requests are recorded by the consent app (withdrawal with erasure, or an
employee's request) and carried out here as soon as a worker sees them; the
due time is the deadline, not the start.  The database says what is pending:
a request is claimed with ``select_for_update(skip_locked=True)`` and marked
done in the same transaction as the deletion, so a task delivered twice, or
two workers at once, erase once.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from audit.services import audit_record
from collection.models import EventChunk
from collection.services import subject_ciphertext_delete, subject_key_destroy
from consent.models import ErasureRequest, RetentionRule
from consent.services import erasure_request_complete

ACTOR = "system:erasure"


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
        shredded = {}
        if not request.categories:
            shredded = subject_key_destroy(subject=request.subject, actor=ACTOR, reason=request.reason)
    with transaction.atomic():
        request = _claim(request_id, skip_locked=False)
        if request is None:  # another worker finished it in between
            return False
        outcome = subject_ciphertext_delete(
            subject=request.subject, actor=ACTOR, reason=request.reason, categories=request.categories or None
        )
        erasure_request_complete(request=request, actor=ACTOR, outcome={**shredded, **outcome})
    return True


def erasure_requests_process(*, limit: int = 100) -> int:
    """Carry out pending requests, earliest deadline first. Returns how many were done."""
    pending = ErasureRequest.objects.filter(status=ErasureRequest.Status.PENDING).order_by("due_at")
    ids = list(pending.values_list("pk", flat=True)[:limit])
    return sum(erasure_request_carry_out(request_id=request_id) for request_id in ids)


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
                actor="system:retention",
                action="collection.retention.purged",
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
