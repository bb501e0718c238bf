"""A subject's encrypted storage: its data key, and crypto-shredding.

Events are stored encrypted under a per-subject data key, itself wrapped by
the master key.  Erasing a subject destroys that key first (the data is
unreadable from then on) and deletes the ciphertext after, each step with
its own audit entry.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum

from audit.actions import AuditAction
from audit.services import audit_record
from audit.targets import subject_target
from collection import crypto
from collection.models import Batch, EventChunk, SubjectKey
from consent.models import Subject


def data_key_for_update(subject: Subject) -> bytes:
    """The subject's data key, created if missing; call inside a transaction.

    Its row stays locked until the caller commits, so an erasure cannot
    interleave with a store.
    """
    row = SubjectKey.objects.select_for_update().filter(subject=subject).first()
    if row is None:
        try:
            with transaction.atomic():
                SubjectKey.objects.create(subject=subject, wrapped_key=crypto.new_wrapped_data_key(subject.pseudonym))
        except IntegrityError:  # a concurrent upload created it first
            pass
        row = SubjectKey.objects.select_for_update().get(subject=subject)
    return crypto.unwrap_data_key(row.wrapped_key, subject.pseudonym)


def subject_key_destroy(*, subject: Subject, actor: Any = "system", reason: str = "") -> dict[str, int]:
    """Crypto-shredding, step one: destroy the subject's data key, so its ciphertext is unreadable."""
    with transaction.atomic():
        keys = SubjectKey.objects.filter(subject=subject).delete()[0]
        audit_record(
            actor=actor,
            action=AuditAction.ERASURE_KEY_DESTROYED,
            target=subject_target(subject.pseudonym),
            detail={"keys_destroyed": keys, "reason": reason},
        )
    return {"keys_destroyed": keys}


def subject_ciphertext_delete(
    *, subject: Subject, actor: Any = "system", reason: str = "", categories: list[str] | None = None
) -> dict[str, Any]:
    """Delete a subject's stored chunks (of ``categories``, or all with their batch records)."""
    with transaction.atomic():
        chunks = EventChunk.objects.filter(subject=subject)
        if categories:
            chunks = chunks.filter(category__in=categories)
        events = chunks.aggregate(events=Sum("count"))["events"] or 0
        deleted = chunks.delete()[0]
        # Batch records hold only counts and a digest; they go once nothing of the subject is left.
        batches = Batch.objects.filter(subject=subject).delete()[0] if not categories else 0
        outcome: dict[str, Any] = {"chunks": deleted, "events": events, "batches": batches}
        audit_record(
            actor=actor,
            action=AuditAction.ERASURE_CIPHERTEXT_DELETED,
            target=subject_target(subject.pseudonym),
            detail={**outcome, "categories": categories or [], "reason": reason},
        )
    return outcome


def subject_data_erase(*, subject: Subject, actor: Any = "system", reason: str = "") -> dict[str, int]:
    """Crypto-shred a subject's captured data: destroy its data key, then delete the ciphertext.

    Each step commits with its own audit entry.  After the first step the
    data is unreadable; after the second it is gone.  Safe to run again.
    """
    return {
        **subject_key_destroy(subject=subject, actor=actor, reason=reason),
        **subject_ciphertext_delete(subject=subject, actor=actor, reason=reason),
    }
