"""Collection use cases: devices, tokens, ingestion, an employee's own data, erasure.

Audit entries about an employee's devices and data name the subject
pseudonym, never the username, and never the contents.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from cryptography.exceptions import InvalidTag
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Max, Min, Sum
from django.utils import timezone

from accounts.models import Role, User
from audit.services import audit_record
from collection import crypto
from collection.models import Batch, Device, EventChunk, Platform, SubjectKey
from collection.safeguards import Rules, apply_safeguards
from collection.schema import MAX_EVENTS, BatchInvalid, decode_batch, decode_events, encode_events
from collection.tokens import CaptureClaims, token_sign
from config.errors import ApplicationError, Conflict, InvalidInput, NotFound, NotPermitted, TooLarge, Unavailable
from consent.models import ConsentState, Subject
from consent.selectors import capture_policy_for_subject, consent_state_for_subject
from consent.services import subject_for_employee


def _subject_label(subject: Subject) -> str:
    return f"subject:{subject.pseudonym}"


def _require_employee(user: User) -> None:
    if not user.has_role(Role.EMPLOYEE):
        raise NotPermitted("not_an_employee", "Only employees enroll capture devices.")


# --- Devices ---------------------------------------------------------------


def device_enroll(*, employee: User, name: str, platform: str) -> tuple[Device, str]:
    """Register a capture device; returns it and its secret, which is shown this once and stored hashed."""
    _require_employee(employee)
    name = (name or "").strip()
    if not name:
        raise InvalidInput("invalid_name", "Give the device a name.")
    if platform not in Platform.values:
        raise InvalidInput("invalid_platform", "The platform must be macos, windows or linux.")
    secret = "cdev_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        subject = subject_for_employee(employee)
        device = Device.objects.create(
            employee=employee, name=name[:100], platform=platform, secret_digest=Device.digest_of(secret)
        )
        audit_record(
            actor=_subject_label(subject),
            action="device.enroll",
            target=_subject_label(subject),
            detail={"device_id": str(device.pk), "platform": platform},
        )
    return device, secret


def device_revoke(*, employee: User, device: Device) -> Device:
    """Revoke a device: its secret stops working and its tokens stop being accepted at once."""
    if device.employee_id != employee.pk:
        raise NotFound("not_found", "No such device.")
    with transaction.atomic():
        locked = Device.objects.select_for_update().get(pk=device.pk)
        if locked.revoked_at is not None:
            return locked
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        subject = subject_for_employee(employee)
        audit_record(
            actor=_subject_label(subject),
            action="device.revoke",
            target=_subject_label(subject),
            detail={"device_id": str(locked.pk)},
        )
    return locked


def device_authenticate(secret: str) -> Device | None:
    """The active device holding ``secret``, or None."""
    if not secret or len(secret) > 200:
        return None
    device = (
        Device.objects.select_related("employee")
        .filter(secret_digest=Device.digest_of(secret), revoked_at__isnull=True)
        .first()
    )
    if device is None or not device.employee.is_active:
        return None
    return device


# --- Tokens ----------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime
    categories: list[str]
    apps: list[str]


def token_issue(*, device: Device) -> IssuedToken:
    """A collection token for an active device of an employee with active consent."""
    employee = device.employee
    if not employee.has_role(Role.EMPLOYEE):
        raise NotPermitted("consent_required", "Only employees who have opted in can capture.")
    subject = subject_for_employee(employee)
    state = consent_state_for_subject(subject=subject)
    policy = capture_policy_for_subject(subject=subject, state=state)
    if not policy.active or policy.consent_id is None:
        raise NotPermitted(
            "consent_required",
            "There is no active consent covering an allowed application; opt in first in the portal.",
        )
    now = timezone.now()
    categories = sorted(set().union(*policy.apps.values()))
    apps = sorted(policy.apps)
    token, expires_at = token_sign(
        pseudonym=subject.pseudonym,
        device_id=str(device.pk),
        consent_id=policy.consent_id,
        epoch=policy.epoch,
        scope=categories,
        apps=apps,
        now=now,
        lifetime=timedelta(seconds=settings.COLLECTION_TOKEN_LIFETIME_SECONDS),
    )
    Device.objects.filter(pk=device.pk).update(last_seen_at=now)
    return IssuedToken(token=token, expires_at=expires_at, categories=categories, apps=apps)


# --- Ingestion ---------------------------------------------------------------


@dataclass(frozen=True)
class IngestResult:
    status: int  # 202 stored now, 200 stored before
    body: dict[str, Any]


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
    return IngestResult(status=200, body=earlier["response"])


def _data_key(subject: Subject) -> bytes:
    """The subject's data key, its row locked so an erasure cannot interleave with this store."""
    row = SubjectKey.objects.select_for_update().filter(subject=subject).first()
    if row is None:
        try:
            with transaction.atomic():
                SubjectKey.objects.create(subject=subject, wrapped_key=crypto.new_wrapped_data_key(subject.pseudonym))
        except IntegrityError:  # a concurrent upload created it first
            pass
        row = SubjectKey.objects.select_for_update().get(subject=subject)
    return crypto.unwrap_data_key(row.wrapped_key, subject.pseudonym)


def _as_datetime(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def batch_ingest(*, claims: CaptureClaims, subject_id: int, body: bytes) -> IngestResult:
    """Validate, police and store one uploaded batch of ``subject_id``; idempotent on ``batch_id``.

    Order: parse (400) → consent epoch (403) → safeguards → store everything
    in one transaction, or nothing; a ``batch_id`` already stored is answered
    as a replay (200 with the first answer) or refused (409) instead.
    """
    try:
        batch = decode_batch(body)
    except BatchInvalid as exc:
        raise InvalidInput(
            "invalid_batch", exc.message, extra={"event_index": exc.event_index, "field": exc.field}
        ) from None
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
    )
    outcome = apply_safeguards(batch.events, rules)
    response = {
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
            current = (
                ConsentState.objects.select_for_update()
                .filter(subject_id=subject.pk)
                .values_list("epoch", "granted")
                .first()
            )
            if current is None or current[0] != claims.epoch:
                raise _consent_refusal(withdrawn=not (current and current[1]))
            stored = Batch.objects.create(
                batch_id=batch.batch_id,
                subject=subject,
                device_id=claims.device_id,
                body_digest=digest,
                response=response,
                received_at=now,
            )
            if groups:
                data_key = _data_key(subject)
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
    return IngestResult(status=202, body=response)


# --- An employee's own data -------------------------------------------------


def _format(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def my_data_summary(*, employee: User) -> dict[str, Any]:
    """Counts per category and application and the date range of what is stored about the employee.

    Read from chunk metadata, without decrypting; recorded in the audit log.
    """
    _require_employee(employee)
    with transaction.atomic():
        subject = subject_for_employee(employee)
        rows = list(
            EventChunk.objects.filter(subject=subject)
            .values("category", "app_id")
            .annotate(events=Sum("count"), first=Min("first_ts"), last=Max("last_ts"))
            .order_by("category", "app_id")
        )
        total = sum(r["events"] for r in rows)
        audit_record(
            actor=_subject_label(subject),
            action="collection.summary_view",
            target=_subject_label(subject),
            detail={"events": total},
        )
    per_category: dict[str, int] = {}
    for row in rows:
        per_category[row["category"]] = per_category.get(row["category"], 0) + row["events"]
    return {
        "subject": subject.pseudonym,
        "events": total,
        "first_ts": _format(min((r["first"] for r in rows), default=None)),
        "last_ts": _format(max((r["last"] for r in rows), default=None)),
        "categories": per_category,
        "groups": [
            {
                "category": r["category"],
                "app": r["app_id"],
                "events": r["events"],
                "first_ts": _format(r["first"]),
                "last_ts": _format(r["last"]),
            }
            for r in rows
        ],
    }


def my_data_export(*, employee: User) -> Iterator[bytes]:
    """Everything stored about the employee, decrypted, as JSON Lines (one line per stored chunk).

    The audit entry is committed before the first byte is produced.
    """
    _require_employee(employee)
    with transaction.atomic():
        subject = subject_for_employee(employee)
        stats = EventChunk.objects.filter(subject=subject).aggregate(events=Sum("count"))
        audit_record(
            actor=_subject_label(subject),
            action="collection.data_export",
            target=_subject_label(subject),
            detail={"events": stats["events"] or 0},
        )
    return _export_lines(subject)


def _decrypted_chunks(subject: Subject) -> Iterator[tuple[str, str, str, int, list]]:
    """(batch id, category, app, count, events) of each stored chunk, oldest first, decrypted."""
    key_row = SubjectKey.objects.filter(subject=subject).first()
    if key_row is None:  # never stored anything, or crypto-shredded
        return
    data_key = crypto.unwrap_data_key(key_row.wrapped_key, subject.pseudonym)
    chunks = (
        EventChunk.objects.filter(subject=subject)
        .order_by("first_ts", "pk")
        .values_list("batch_id", "category", "app_id", "count", "nonce", "ciphertext")
    )
    for batch_id, category, app_id, count, nonce, ciphertext in chunks.iterator(chunk_size=200):
        aad = crypto.chunk_aad(pseudonym=subject.pseudonym, batch_id=str(batch_id), category=category, app_id=app_id)
        yield (
            str(batch_id),
            category,
            app_id,
            count,
            decode_events(crypto.decrypt_chunk(data_key, nonce, ciphertext, aad)),
        )


def _export_lines(subject: Subject) -> Iterator[bytes]:
    encoder = msgspec.json.Encoder()
    yield encoder.encode({"subject": subject.pseudonym, "exported_at": _format(timezone.now()), "schema": "capture/v1"})
    yield b"\n"
    for batch_id, category, app_id, count, events in _decrypted_chunks(subject):
        yield encoder.encode(
            {"batch_id": batch_id, "category": category, "app": app_id, "count": count, "events": events}
        )
        yield b"\n"


def subject_events(subject: Subject) -> list[tuple[str, str, list]]:
    """(category, app, events) of every stored chunk, decrypted; for erasure checks and exports."""
    return [(category, app_id, events) for _, category, app_id, _, events in _decrypted_chunks(subject)]


# --- Erasure -----------------------------------------------------------------


def subject_key_destroy(*, subject: Subject, actor: Any = "system", reason: str = "") -> dict[str, int]:
    """Crypto-shredding, step one: destroy the subject's data key, so its ciphertext is unreadable."""
    with transaction.atomic():
        keys = SubjectKey.objects.filter(subject=subject).delete()[0]
        audit_record(
            actor=actor,
            action="collection.erase.key_destroyed",
            target=_subject_label(subject),
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
            action="collection.erase.ciphertext_deleted",
            target=_subject_label(subject),
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
