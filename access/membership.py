"""Who is in a dataset, decided at the moment of each export (and of each impact preview).

A subject's events of category *c* in application *a* are included only if,
right now: the subject's current consent covers *c*; the notice version they
consented to *c* under lists the request's purpose; *a* is on the allowlist
for *c*; and the subject has not excluded *a*.  A withdrawal therefore drops
a subject from every later export at once, before any erasure has run.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter

import msgspec
from cryptography.exceptions import InvalidTag
from django.db.models import Q, Sum

from access.models import DataRequest
from collection import crypto
from collection.models import EventChunk, SubjectKey
from collection.schema import decode_events
from config.errors import Unavailable
from consent.models import AllowedApplication, ConsentNotice, ConsentState

Pair = tuple[str, str]  # (category, app)


@contextmanager
def readable_storage() -> Iterator[None]:
    """Reading captured data needs the master key: without it (or with the wrong one) nothing is read or served."""
    try:
        yield
    except (crypto.MasterKeyUnavailable, InvalidTag):
        raise Unavailable("storage_unavailable", "Encrypted storage cannot be read; nothing was exported.") from None


# Stored chunks decoded to builtins: a list of dicts, one per event.
_as_builtins = msgspec.msgpack.Decoder()
event_timestamp = itemgetter("timestamp")


@dataclass(frozen=True)
class Member:
    subject_id: int
    pseudonym: str  # the stored subject pseudonym: never written to an export
    pairs: frozenset[Pair]


def members_now(request: DataRequest) -> list[Member]:
    """The subjects whose current consent covers part of the request's scope, with the part it covers."""
    purposes = {
        version: {p["id"] for p in notice_purposes}
        for version, notice_purposes in ConsentNotice.objects.exclude(version=None).values_list("version", "purposes")
    }
    allowed = {
        app: set(categories)
        for app, categories in AllowedApplication.objects.filter(app_id__in=request.apps).values_list(
            "app_id", "categories"
        )
    }
    members = []
    states = ConsentState.objects.exclude(granted={}).select_related("subject").order_by("subject_id")
    for state in states.iterator(chunk_size=1000):
        excluded = set(state.excluded_apps)
        pairs = frozenset(
            (category, app)
            for category in request.categories
            if category in state.granted
            and request.purpose in purposes.get(state.granted[category].get("notice_version"), ())
            for app in request.apps
            if app not in excluded and category in allowed.get(app, ())
        )
        if pairs:
            members.append(Member(subject_id=state.subject_id, pseudonym=state.subject.pseudonym, pairs=pairs))
    return members


def _chunks(request: DataRequest, subject_ids: list[int]):
    """Chunks of these subjects in the request's categories and apps that overlap its time range."""
    return EventChunk.objects.filter(
        subject_id__in=subject_ids,
        category__in=request.categories,
        app_id__in=request.apps,
        first_ts__lt=request.until,
        last_ts__gte=request.since,
    )


def _in_range(request: DataRequest) -> tuple[float, float]:
    return request.since.timestamp(), request.until.timestamp()


def count_events(request: DataRequest, members: list[Member]) -> int:
    """Exactly how many events an export to these members would hold.

    Chunks wholly inside the time range are counted from their metadata;
    only the few that straddle an end are decrypted.
    """
    by_subject = {m.subject_id: m for m in members}
    total = 0
    for start in range(0, len(members), 500):
        ids = [m.subject_id for m in members[start : start + 500]]
        chunks = _chunks(request, ids)
        inside = chunks.filter(first_ts__gte=request.since, last_ts__lt=request.until)
        for subject_id, category, app_id, events in (
            inside.values("subject_id", "category", "app_id")
            .annotate(events=Sum("count"))
            .values_list("subject_id", "category", "app_id", "events")
        ):
            if (category, app_id) in by_subject[subject_id].pairs:
                total += events
        edges = chunks.filter(Q(first_ts__lt=request.since) | Q(last_ts__gte=request.until))
        low, high = _in_range(request)
        for _member, _category, _app, events in decrypted_chunks(edges, by_subject):
            total += sum(1 for e in events if low <= e.timestamp < high)
    return total


def decrypted_chunks(chunks, by_subject: dict[int, Member]) -> Iterator[tuple[Member, str, str, list]]:
    """(member, category, app, events) of each chunk a member's pairs cover, decrypted.

    Chunks of subjects whose data key is gone (erased meanwhile) are skipped:
    there is nothing left to read.
    """
    keys: dict[int, bytes | None] = {}
    rows = chunks.order_by("subject_id", "first_ts", "pk").values_list(
        "subject_id", "batch_id", "category", "app_id", "nonce", "ciphertext"
    )
    for subject_id, batch_id, category, app_id, nonce, ciphertext in rows.iterator(chunk_size=200):
        member = by_subject[subject_id]
        if (category, app_id) not in member.pairs:
            continue
        if subject_id not in keys:
            keys[subject_id] = data_key_of(member)
        data_key = keys[subject_id]
        if data_key is None:
            continue
        aad = crypto.chunk_aad(pseudonym=member.pseudonym, batch_id=str(batch_id), category=category, app_id=app_id)
        yield member, category, app_id, decode_events(crypto.decrypt_chunk(data_key, nonce, ciphertext, aad))


def member_chunks(request: DataRequest, member: Member, data_key: bytes) -> Iterator[tuple[float, str, list[dict]]]:
    """(first timestamp, app, events sorted by time) of a member's covered chunks, oldest first.

    Lazy: a chunk is fetched and decrypted only when the caller asks for it,
    so memory holds the chunks that overlap in time, not the subject's data.

    The events are plain dicts, exactly what ``msgspec.to_builtins`` makes of
    the stored events (``type`` first, then the fields in declaration order,
    defaults omitted), decoded straight from the stored MessagePack: it was
    validated at ingestion and is authenticated by AES-GCM, and building
    structs only to turn them back into dicts cost more than the decoding.
    """
    rows = (
        _chunks(request, [member.subject_id])
        .order_by("first_ts", "pk")
        .values_list("first_ts", "batch_id", "category", "app_id", "nonce", "ciphertext")
    )
    for first_ts, batch_id, category, app_id, nonce, ciphertext in rows.iterator(chunk_size=100):
        if (category, app_id) not in member.pairs:
            continue
        aad = crypto.chunk_aad(pseudonym=member.pseudonym, batch_id=str(batch_id), category=category, app_id=app_id)
        plaintext = crypto.decrypt_chunk(data_key, nonce, ciphertext, aad)
        with _collector_paused():
            events = _as_builtins.decode(plaintext)
        events.sort(key=event_timestamp)
        yield first_ts.timestamp(), app_id, events


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No garbage collection while a chunk is decoded.

    Its thousands of new dicts would each count towards the collector's
    threshold and set off several collections per chunk, each walking objects
    that cannot be garbage yet (decoding makes no cycles); paused, the one
    collection that is due runs after.  This made exports about a quarter
    faster (bench/access_export.py).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def data_key_of(member: Member) -> bytes | None:
    """The member's data key, or None once it has been destroyed (erased)."""
    wrapped = SubjectKey.objects.filter(subject_id=member.subject_id).values_list("wrapped_key", flat=True).first()
    return crypto.unwrap_data_key(wrapped, member.pseudonym) if wrapped is not None else None
