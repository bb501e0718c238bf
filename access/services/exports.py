"""Dataset exports: audited before the first byte, streamed, pseudonymised per grant, signed.

``export_begin`` decides who is in the dataset *now* (``access.membership``),
counts the events, records the export and its audit entry, and commits;
only then is the returned stream handed to the caller.  The stream is JSON
Lines, one event per line (the stored ``capture/v1`` fields plus ``subject``
and ``episode``), ordered by subject, then timestamp, with memory bounded by
the chunks that overlap in time.  When its last byte has been produced, the
SHA-256 of the bytes is stored and the manifest (a JWS, ``typ:
dataset-manifest+jwt``, signed by the ``datasets`` key published in the JWKS)
is signed over it.

If a subject is erased while the stream runs, their events that were not
read yet are gone and are not served; the manifest counts what was served,
the audit entry what was selected when the export began.
"""

from __future__ import annotations

import hashlib
import math
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass

import jwt
import msgspec
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from access.membership import (
    Member,
    count_events,
    data_key_of,
    event_timestamp,
    member_chunks,
    members_now,
    readable_storage,
)
from access.models import Export, ExportSubject, Grant
from access.pseudonyms import EPISODE_GAP_SECONDS, GrantPseudonyms
from access.services.grants import grant_usable
from access.services.requests import scope_of
from accounts.models import User
from audit.actions import AuditAction
from audit.selectors import recorded_seq
from audit.services import audit_record, checkpoint_after_commit
from audit.targets import grant_target
from audit.timestamps import rfc3339
from config.errors import NotFound
from signing.keyring import Purpose, keyring

MANIFEST_TYPE = "dataset-manifest+jwt"
# The opening of a chunk is decided on its stored first timestamp, kept to the
# microsecond; open it this much early so rounding never reorders events.
_OPEN_MARGIN = 0.001
# The stream's pieces: at least this many bytes, except the last.
_PIECE_BYTES = 65536


@dataclass
class ExportStream:
    """What ``export_begin`` hands back: the export row and its bytes, still to be produced."""

    export: Export
    chunks: Iterator[bytes]


def export_begin(*, actor: User, grant: Grant) -> ExportStream:
    """Start an export under ``grant`` for its holder; the audit entry is committed when this returns."""
    now = timezone.now()
    with transaction.atomic():
        grant = (
            Grant.objects.select_for_update().select_related("request__notice", "request__requester").get(pk=grant.pk)
        )
        request = grant.request
        if request.requester_id != actor.pk:
            raise NotFound("not_found", "No such grant.")
        grant_usable(grant=grant, now=now)
        with readable_storage():
            pseudonyms = GrantPseudonyms(grant_id=grant.id, wrapped_key=grant.wrapped_key)
            members = members_now(request)
            events = count_events(request, members)
        export = Export.objects.create(grant=grant, created_at=now, subjects=len(members), events=events)
        ExportSubject.objects.bulk_create(
            [ExportSubject(export=export, subject_id=m.subject_id, pairs=sorted(m.pairs)) for m in members],
            batch_size=1000,
        )
        audit_record(
            actor=actor,
            action=AuditAction.DATASET_EXPORTED,
            target=grant_target(grant.id),
            detail={
                "export": str(export.id),
                "grant": str(grant.id),
                "request": str(request.id),
                "requester": request.requester.username,
                **scope_of(request),
                "subjects": export.subjects,
                "events": events,
            },
        )
        checkpoint_after_commit()  # a checkpoint covers the export's entry seconds after it commits
    # Committed: the entry has its number now, and nothing has been served yet.
    export.audit_seq = recorded_seq(
        action=AuditAction.DATASET_EXPORTED, target=grant_target(grant.id), export=str(export.id)
    )
    Export.objects.filter(pk=export.pk).update(audit_seq=export.audit_seq)
    ordered = sorted(members, key=lambda m: pseudonyms.subject(m.pseudonym))
    return ExportStream(export=export, chunks=_produce(export, grant, ordered, pseudonyms))


def _produce(export: Export, grant: Grant, members: list[Member], pseudonyms: GrantPseudonyms) -> Iterator[bytes]:
    digest = hashlib.sha256()
    encode_lines = msgspec.json.Encoder().encode_lines
    served_events = served_subjects = 0
    request = grant.request
    low, high = request.since.timestamp(), request.until.timestamp()
    buffer = bytearray()
    for member in members:
        data_key = data_key_of(member)
        if data_key is None:
            continue  # erased since the export began
        subject = pseudonyms.subject(member.pseudonym)
        seen: dict[str, float] = {}  # app -> time of the subject's latest event there
        episode_of: dict[str, str] = {}  # app -> the episode that event belongs to
        any_event = False
        for block in _merged(member_chunks(request, member, data_key)):
            # A block is in timestamp order: the time range is a slice of it.
            block = block[bisect_left(block, low, key=event_timestamp) : bisect_left(block, high, key=event_timestamp)]
            for event in block:
                ts = event["timestamp"]
                app = event["app"]
                if ts - seen.get(app, -math.inf) > EPISODE_GAP_SECONDS:
                    episode_of[app] = pseudonyms.episode(member.pseudonym, app, ts)
                seen[app] = ts
                # The event's dict is ours (decoded for this export): the two names go last, as before.
                event["subject"] = subject
                event["episode"] = episode_of[app]
            if block:
                buffer += encode_lines(block)  # one JSON line per event, each ending in "\n"
                served_events += len(block)
                any_event = True
            if len(buffer) >= _PIECE_BYTES:
                digest.update(buffer)
                yield bytes(buffer)
                buffer.clear()
        served_subjects += any_event
    if buffer:
        digest.update(buffer)
        yield bytes(buffer)
    _complete(export, grant, sha256=digest.hexdigest(), events=served_events, subjects=served_subjects)


def _merged(chunks: Iterator[tuple[float, str, list]]) -> Iterator[list]:
    """The events of time-ordered chunks in timestamp order, in blocks, opening each chunk only when it is reached.

    Before a chunk is opened, every event of the chunks already open that is
    earlier than the new chunk's first timestamp (less ``_OPEN_MARGIN``)
    comes before all of its events: those events go out as one block.  A
    block drawn from one chunk is a slice of it; one drawn from chunks that
    overlap in time is sorted by timestamp, stably, so equal timestamps keep
    the order of the chunks, then of the events in a chunk.  The order is
    the one a k-way merge gives, with the per-event work done by ``list.sort``.
    Memory holds the chunks that are open, as before.
    """
    runs: list[list] = []  # [events, first not yet served] of each open chunk, in opening order
    for first, _app, events in chunks:
        if not events:
            continue
        block = _served_before(runs, first - _OPEN_MARGIN)
        if block:
            yield block
        runs.append([events, 0])
    block = _served_before(runs, math.inf)
    if block:
        yield block


def _served_before(runs: list[list], horizon: float) -> list:
    """Take out of ``runs`` the events earlier than ``horizon``, in timestamp order; drops exhausted runs."""
    parts = []
    for run in runs:
        events, start = run
        end = len(events) if horizon == math.inf else bisect_left(events, horizon, lo=start, key=event_timestamp)
        if end > start:
            parts.append(events[start:end])
            run[1] = end
    runs[:] = [run for run in runs if run[1] < len(run[0])]
    if len(parts) == 1:
        return parts[0]
    block = [event for part in parts for event in part]
    block.sort(key=event_timestamp)
    return block


def manifest_payload(export: Export, grant: Grant, *, sha256: str, events: int, subjects: int) -> dict[str, object]:
    request = grant.request
    scope = scope_of(request)
    return {
        "iss": settings.SERVICE_ORIGIN,
        "export": str(export.id),
        "grant": str(grant.id),
        "request": str(request.id),
        "purpose": request.purpose,
        "notice_version": scope["notice_version"],
        "categories": request.categories,
        "apps": request.apps,
        "since": scope["since"],
        "until": scope["until"],
        "exported_at": rfc3339(export.created_at),
        "expires_at": rfc3339(grant.expires_at),
        "subjects": subjects,
        "events": events,
        "sha256": sha256,
        "audit_seq": export.audit_seq,
        "format": "application/x-ndjson",
        "schema": "capture/v1",
    }


def _complete(export: Export, grant: Grant, *, sha256: str, events: int, subjects: int) -> None:
    key = keyring(Purpose.DATASETS).current()
    payload = manifest_payload(export, grant, sha256=sha256, events=events, subjects=subjects)
    manifest = jwt.encode(payload, key.private_key, algorithm="EdDSA", headers={"kid": key.kid, "typ": MANIFEST_TYPE})
    Export.objects.filter(pk=export.pk).update(sha256=sha256, completed_at=timezone.now(), manifest=manifest)
