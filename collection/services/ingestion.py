"""Ingestion: one uploaded ``capture/v1`` batch, validated, policed and stored encrypted.

The order is fixed: parse (400) → consent epoch (403) → safeguards → store
everything in one transaction, or nothing.  Uploads are idempotent on
``batch_id``.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from collection import crypto
from collection.models import Batch, EventChunk
from collection.safeguards import Rules, apply_safeguards, device_state_load, device_state_save
from collection.schema import MAX_EVENTS, BatchInvalid, decode_batch, encode_events
from collection.services.storage import data_key_for_update, erased_before
from collection.tokens import CaptureClaims
from config.errors import ApplicationError, Conflict, InvalidInput, NotPermitted, TooLarge, Unavailable
from consent.locks import consent_epoch_lock
from consent.models import Subject
from consent.selectors import capture_policy_for_subject, consent_state_for_subject


@dataclass(frozen=True)
class IngestResult:
    """The answer to an upload; the API tells a replay (the first answer again) from a new store."""

    body: dict[str, Any]
    replayed: bool  # stored by an earlier upload of the same batch, which got this same body


def _consent_refusal(*, withdrawn: bool) -> ApplicationError:
    if withdrawn:
        return NotPermitted("consent_withdrawn", "Consent was withdrawn; capture must stop and nothing was stored.")
    return NotPermitted("consent_changed", "Consent changed since this token was issued; fetch a new token.")


def _replayed(batch_id: uuid.UUID, subject_id: int, digest: str) -> IngestResult | None:
    earlier = Batch.objects.filter(batch_id=batch_id).values("subject_id", "body_digest", "response").first()
    if earlier is None:
        return None
    if earlier["subject_id"] != subject_id or earlier["body_digest"] != digest:
        raise Conflict(
            "batch_id_reused",
            "This batch_id was already used for a batch with different content; use a new batch_id.",
        )
    return IngestResult(body=earlier["response"], replayed=True)


def _as_datetime(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def _drop_erased(groups: dict[tuple[str, str], list], cutoffs: dict[str, float]) -> tuple[dict, int]:
    """``groups`` without the events an erasure request covers (captured before its cutoff); and how many went."""
    if not cutoffs:
        return groups, 0
    kept: dict[tuple[str, str], list] = {}
    erased = 0
    for (category, app), events in groups.items():
        cutoff = max(cutoffs.get(category, 0.0), cutoffs.get("", 0.0))
        left = [e for e in events if e.timestamp >= cutoff]
        erased += len(events) - len(left)
        if left:
            kept[(category, app)] = left
    return kept, erased


def batch_ingest(*, claims: CaptureClaims, subject_id: int, body: bytes) -> IngestResult:
    """Validate, police and store one uploaded batch of ``subject_id``; idempotent on ``batch_id``.

    Order: parse (``InvalidInput``, ``TooLarge``) → consent epoch
    (``NotPermitted``) → safeguards → store everything in one transaction, or
    nothing; a ``batch_id`` already stored is answered as a replay (the first
    answer, ``replayed``) or refused (``Conflict``) instead.  While storing,
    under the consent lock, events captured before the cutoff of an erasure
    request made since (consent stays) are dropped as ``erased_by_request``.
    """
    try:
        batch = decode_batch(body)
    except BatchInvalid as exc:
        raise InvalidInput(exc.code, exc.message, extra={"event_index": exc.event_index, "field": exc.field}) from None
    if len(batch.events) > MAX_EVENTS:
        raise TooLarge(
            "too_many_events",
            f"The batch holds {len(batch.events)} events; at most {MAX_EVENTS} are accepted in one upload.",
        )
    digest = hashlib.sha256(body).hexdigest()

    # Read fresh from the database on every upload: the first upload after a
    # withdrawal commits must be refused, so nothing here may be cached.
    # The caller authenticated the token and found its subject (with the device, in one query).
    subject = Subject(pk=subject_id, pseudonym=claims.subject)
    try:
        state = consent_state_for_subject(subject=subject)
        policy = capture_policy_for_subject(subject=subject, state=state)
    except DatabaseError:
        raise Unavailable("policy_unavailable", "The capture policy cannot be loaded; nothing was stored.")
    if state.epoch != claims.epoch or not policy.categories:
        # A retry of a batch stored before the change still gets its first answer.
        replay = _replayed(batch.batch_id, subject.pk, digest)
        if replay is not None:
            return replay
        raise _consent_refusal(withdrawn=not policy.categories)

    # Replays are rare: rather than look the batch_id up first, the insert
    # below fails on the primary key and the replay is answered from there.
    now = timezone.now()
    now_ts = now.timestamp()
    consented = policy.categories & claims.scope
    rules = Rules(
        apps={
            app: categories & consented
            for app, categories in policy.apps.items()
            if app in claims.apps and categories & consented
        },
        excluded_apps=frozenset(state.excluded_apps),
        consented=consented,
        granted_since={category: moment.timestamp() for category, moment in policy.granted_since.items()},
        retention_cutoff={category: now_ts - age.total_seconds() for category, age in policy.retention.items()},
        now=now_ts,
        # What the device's earlier batches left (keys held in a secure field, private
        # windows, the tail of typed text); saved only once this batch is stored.
        device=device_state_load(claims.device_id),
    )
    outcome = apply_safeguards(batch.events, rules)
    response: dict[str, Any] = {
        "batch_id": str(batch.batch_id),
        "accepted": outcome.accepted,
        "dropped": dict(sorted(outcome.dropped.items())),
        "redacted": outcome.redacted,
    }

    groups = outcome.groups
    try:
        with transaction.atomic():
            # Hold the consent row until this batch commits. A withdrawal locks
            # it too: one that committed since the check above refuses this
            # batch here, and one that comes later waits, so its erasure sees
            # everything stored before it.
            current = consent_epoch_lock(subject.pk)
            if current is None or current[0] != claims.epoch:
                raise _consent_refusal(withdrawn=not (current and current[1]))
            if groups:
                # An erasure request made while consent stays takes this lock too: one
                # that committed before now (even while this batch waited) covers what
                # was captured before it, so those events are not kept.
                groups, erased = _drop_erased(groups, erased_before(subject.pk))
                if erased:
                    response["accepted"] -= erased
                    dropped = {**response["dropped"], "erased_by_request": erased}
                    response["dropped"] = dict(sorted(dropped.items()))
            stored = Batch.objects.create(
                batch_id=batch.batch_id,
                subject=subject,
                device_id=claims.device_id,
                body_digest=digest,
                response=response,
                received_at=now,
            )
            if groups:
                data_key = data_key_for_update(subject)
                chunks = []
                batch_label = str(batch.batch_id)
                for (category, app), events in groups.items():
                    aad = crypto.chunk_aad(
                        pseudonym=subject.pseudonym, batch_id=batch_label, category=category, app_id=app
                    )
                    nonce, ciphertext = crypto.encrypt_chunk(data_key, encode_events(events), aad)
                    stamps = [e.timestamp for e in events]
                    chunks.append(
                        EventChunk(
                            subject=subject,
                            batch=stored,
                            category=category,
                            app_id=app,
                            count=len(events),
                            first_ts=_as_datetime(min(stamps)),
                            last_ts=_as_datetime(max(stamps)),
                            nonce=nonce,
                            ciphertext=ciphertext,
                        )
                    )
                EventChunk.objects.bulk_create(chunks)
    except IntegrityError:
        # The batch_id is taken (before, or by a concurrent upload): a replay or a conflict.
        replay = _replayed(batch.batch_id, subject.pk, digest)
        if replay is None:
            raise
        return replay
    except (crypto.MasterKeyUnavailable, InvalidTag):
        # Fail closed: without a usable master key nothing is stored.
        raise Unavailable("storage_unavailable", "Encrypted storage is not configured; nothing was stored.")
    device_state_save(claims.device_id, outcome.state)
    return IngestResult(body=response, replayed=False)
