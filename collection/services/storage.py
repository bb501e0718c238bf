"""A subject's encrypted storage: its data key, and crypto-shredding.

Events are stored encrypted under a per-subject data key, itself wrapped by
the master key.  Erasing a subject destroys that key first (the data is
unreadable from then on) and deletes the ciphertext after, each step with
its own audit entry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, QuerySet, Sum
from django.utils import timezone

from audit.actions import AuditAction
from audit.services import audit_record
from audit.targets import subject_target
from collection import crypto
from collection.models import Batch, ErasureCutoff, EventChunk, SubjectKey
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


def subject_key_destroy(
    *, subject: Subject, actor: Any = "system", reason: str = "", detail: dict[str, Any] | None = None
) -> dict[str, int]:
    """Crypto-shredding, step one: destroy the subject's data key, so its ciphertext is unreadable.

    ``detail`` adds to the audit entry (the erasure request it is for, the key's public id).
    """
    with transaction.atomic():
        keys = SubjectKey.objects.filter(subject=subject).delete()[0]
        audit_record(
            actor=actor,
            action=AuditAction.ERASURE_KEY_DESTROYED,
            target=subject_target(subject.pseudonym),
            detail={"keys_destroyed": keys, "reason": reason, **(detail or {})},
        )
    return {"keys_destroyed": keys}


def erasure_cutoff_record(
    *,
    subject: Subject,
    erasure_request_id: Any,
    categories: list[str],
    before: datetime,
    keep_recording: bool,
    actor: Any = "system",
    reason: str = "",
) -> ErasureCutoff:
    """Record what an erasure request covers and, when it covers every category, shred the data key now.

    Call inside the caller's transaction, holding the subject's consent state
    (``consent.locks``): uploads store under that lock, so every chunk is
    either stored before this (covered: its id is at most ``last_chunk``) or
    after it (its upload sees the cutoff and drops events captured before
    ``before``).  ``keep_recording`` (consent stays): only the chunks stored
    so far are covered, and the next upload creates a fresh data key, so data
    recorded after the request stays readable while everything before it is
    unreadable at once.  Otherwise every chunk of the subject is covered.
    Writes the key's audit entry last, after every lock it takes.
    """
    shred = not categories
    wrapped = (
        SubjectKey.objects.filter(subject=subject).values_list("wrapped_key", flat=True).first() if shred else None
    )
    last_chunk = None
    if keep_recording:
        last_chunk = EventChunk.objects.filter(subject=subject).aggregate(last=Max("pk"))["last"] or 0
    cutoff = ErasureCutoff.objects.create(
        erasure_request=erasure_request_id,
        subject=subject,
        categories=sorted(categories),
        before=before,
        last_chunk=last_chunk,
        data_key=crypto.wrapped_key_id(wrapped) if wrapped is not None else "",
        key_destroyed_at=timezone.now() if wrapped is not None else None,
    )
    if shred:
        subject_key_destroy(
            subject=subject,
            actor=actor,
            reason=reason,
            detail={"erasure_request_id": str(erasure_request_id), "data_key": cutoff.data_key or None},
        )
    return cutoff


def erasure_cutoff_for(erasure_request_id: Any) -> ErasureCutoff | None:
    """The cutoff recorded for an erasure request, or None before it is made or first carried out."""
    return ErasureCutoff.objects.filter(erasure_request=erasure_request_id).first()


def chunks_readable(subject: Subject) -> QuerySet[EventChunk]:
    """The subject's chunks that its current data key can read: not those of a shredded key awaiting deletion.

    Between an erasure request that keeps recording (its key shredded at
    once) and the job that deletes what it covers, the old chunks are still
    stored beside new ones under the new key; they are skipped, not decrypted.
    """
    chunks = EventChunk.objects.filter(subject=subject)
    for last_chunk, destroyed_at in (
        ErasureCutoff.objects.filter(subject=subject, categories=[])
        .exclude(key_destroyed_at=None)
        .values_list("last_chunk", "key_destroyed_at")
    ):
        if last_chunk is not None:
            chunks = chunks.exclude(pk__lte=last_chunk)
        else:  # everything stored when the key went
            chunks = chunks.exclude(batch__received_at__lte=destroyed_at)
    return chunks


def erased_before(subject_id: int) -> dict[str, float]:
    """Per category ("" for every category): events captured before this Unix time were asked to be erased.

    Read by an upload while it holds the subject's consent state, so a cutoff
    recorded by a request that committed first is always seen.
    """
    latest: dict[str, float] = {}
    for categories, before in ErasureCutoff.objects.filter(subject_id=subject_id).values_list("categories", "before"):
        for category in categories or [""]:
            latest[category] = max(latest.get(category, 0.0), before.timestamp())
    return latest


def subject_ciphertext_delete(
    *,
    subject: Subject,
    actor: Any = "system",
    reason: str = "",
    categories: list[str] | None = None,
    cutoff: ErasureCutoff | None = None,
) -> dict[str, Any]:
    """Delete a subject's stored chunks (of ``categories``, or all with their batch records).

    With a ``cutoff`` that keeps recording, only the chunks it covers (stored
    before its request) go, and the batch records of that time left empty.
    """
    with transaction.atomic():
        chunks = EventChunk.objects.filter(subject=subject)
        if categories:
            chunks = chunks.filter(category__in=categories)
        if cutoff is not None and cutoff.last_chunk is not None:
            chunks = chunks.filter(pk__lte=cutoff.last_chunk)
        events = chunks.aggregate(events=Sum("count"))["events"] or 0
        deleted = chunks.delete()[0]
        # Batch records hold only counts and a digest; they go once nothing of the subject is left.
        batches = 0
        if not categories:
            stored = Batch.objects.filter(subject=subject)
            if cutoff is not None and cutoff.last_chunk is not None:
                # Consent stays: later batches (and their chunks, readable under the new key) are kept.
                stored = stored.filter(received_at__lte=cutoff.before).exclude(
                    Exists(EventChunk.objects.filter(batch=OuterRef("pk")))
                )
            batches = stored.delete()[0]
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
