"""Writing to the audit log, and signing checkpoints of it.

Every other app records its governance changes, data reads and erasure steps
with ``audit_record`` inside the same ``transaction.atomic`` block as the
change itself, before any data is served.  If the surrounding transaction
rolls back, the entry and its sequence number roll back with it, so ``seq``
never has gaps.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

import psycopg
import rfc8785
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.models import AuditCheckpoint, AuditEntry, AuditHead
from audit.pg_functions import ENQUEUE
from audit.sequencing import audit_sequence_pending, log_size, sequence_after_commit
from audit.tree import StoredTree, tree_sync
from signing.keyring import Purpose, b64url, keyring

logger = logging.getLogger("audit")

SYSTEM_ACTOR = "system"


def actor_label(actor: Any) -> str:
    """How an actor appears in the log: ``user:<username>``, or the string given."""
    if actor is None:
        return SYSTEM_ACTOR
    if isinstance(actor, str):
        return actor
    username = getattr(actor, "username", None)
    if username:
        return f"user:{username}"
    raise TypeError(f"Cannot label audit actor {actor!r}")


def format_ts(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds and a ``Z`` suffix."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def leaf_parts(*, actor: str, action: str, target: str, detail: dict, ts: str) -> tuple[str, str]:
    """The canonical JSON of an entry, split around its ``seq``.

    RFC 8785 sorts keys, and ``action`` < ``actor`` < ``detail`` < ``seq`` <
    ``target`` < ``ts``, so everything but the number is encoded before the
    head row is locked; the leaf is ``prefix + ',"seq":' + seq + suffix``.
    """
    prefix = rfc8785.dumps({"action": action, "actor": actor, "detail": detail})[:-1].decode("utf-8")
    # JSON.stringify escaping of a string is what json.dumps(ensure_ascii=False) produces.
    suffix = f',"target":{json.dumps(target, ensure_ascii=False)},"ts":"{ts}"}}'
    return prefix, suffix


def leaf_bytes(*, seq: int, ts: str, actor: str, action: str, target: str, detail: dict) -> bytes:
    """The RFC 8785 bytes of an entry: its Merkle leaf."""
    prefix, suffix = leaf_parts(actor=actor, action=action, target=target, detail=detail, ts=ts)
    return f'{prefix},"seq":{seq}{suffix}'.encode()


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def _head_for_update() -> AuditHead:
    head = AuditHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        # ON CONFLICT DO NOTHING: two first writers must not fail each other.
        AuditHead.objects.bulk_create([AuditHead(pk=1, size=0)], ignore_conflicts=True)
        head = AuditHead.objects.select_for_update().get(pk=1)
    return head


def _entry(*, seq: int, moment: datetime, prefix: str, suffix: str, **fields: Any) -> AuditEntry:
    leaf = f'{prefix},"seq":{seq}{suffix}'
    return AuditEntry(seq=seq, ts=moment, leaf=leaf, leaf_hash=leaf_hash(leaf.encode("utf-8")), **fields)


# The JSON escape of U+0000 (preceded by an even number of backslashes, so not
# the text "\\u0000"): PostgreSQL text and jsonb cannot hold that character.
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


_FIELD_LIMITS = {name: AuditEntry._meta.get_field(name).max_length for name in ("actor", "action", "target")}


def _check_storable(actor: str, action: str, target: str, prefix: str) -> None:
    """Refuse, in the caller's transaction, what could not be numbered later.

    On PostgreSQL an entry is checked against the log's columns only when a
    numbering round moves it out of the queue; one that failed there would
    hold up every entry behind it.
    """
    for name, value in (("actor", actor), ("action", action), ("target", target)):
        limit = _FIELD_LIMITS[name]
        if len(value) > limit:
            raise ValueError(f"An audit entry's {name} is limited to {limit} characters, not {len(value)}.")
        if "\x00" in value:
            raise ValueError(f"An audit entry's {name} cannot contain the character U+0000.")
    if _NUL_ESCAPE.search(prefix):
        raise ValueError("An audit entry's detail cannot contain the character U+0000.")


def audit_record(*, actor: Any, action: str, target: str, detail: dict[str, Any] | None = None) -> AuditEntry:
    """Append one entry, in the caller's transaction, and return it.

    Whatever happens to the caller's transaction happens to the entry: if it
    rolls back, the entry was never there, and no number is used up.

    On PostgreSQL an append never waits for another writer: it is one INSERT
    into a queue (``AuditPending``), as durable as the change it records.
    Short numbering rounds move committed entries into the log in order, soon
    after commit and in any case before anyone reads the log (see
    ``audit.sequencing``); the returned entry has ``seq=None``.  On SQLite,
    which serialises writers at ``BEGIN``, the entry is numbered at once.
    The Merkle tree is not touched on append.

    No savepoint: if the entry cannot be written, the caller's whole
    transaction must fail rather than commit a change without its entry.
    """
    detail = detail or {}
    label = actor_label(actor)
    if not action or not target:
        raise ValueError("An audit entry needs an action and a target.")
    moment = timezone.now()
    prefix, suffix = leaf_parts(actor=label, action=action, target=target, detail=detail, ts=format_ts(moment))
    _check_storable(label, action, target, prefix)
    fields = {"actor": label, "action": action, "target": target, "detail": detail}
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        _pg_enqueue(connection, {"ts": moment, "prefix": prefix, "suffix": suffix})
        # Number the queue after commit, once per transaction however many
        # entries it wrote. Django drops the callback with a savepoint that
        # rolls back; then it is added again. Outside a transaction the INSERT
        # has committed and the callback runs at once.
        if not any(func is sequence_after_commit for _, func, _ in connection.run_on_commit):
            transaction.on_commit(sequence_after_commit)
        return AuditEntry(seq=None, ts=moment, **fields)
    with transaction.atomic(savepoint=False):
        head = _head_for_update()  # SQLite takes its write lock at BEGIN anyway
        entry = _entry(seq=head.size, moment=moment, prefix=prefix, suffix=suffix, **fields)
        entry.save(force_insert=True)
        AuditHead.objects.filter(pk=1).update(size=head.size + 1)
    return entry


def _pg_enqueue(connection, params: dict) -> None:
    """Queue an entry: ``ENQUEUE`` in ``audit.pg_functions``, as a prepared statement.

    The append is the hot path of every audited action, so it skips Django's
    cursor wrapper and binds its parameters on the server, prepared unless
    ``DATABASE_PREPARED_STATEMENTS`` is off.
    """
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(ENQUEUE, params, prepare=True if settings.DATABASE_PREPARED_STATEMENTS else None)


class CheckpointRefused(RuntimeError):
    """The stored log no longer matches an earlier checkpoint; a new one would hide that."""


def checkpoint_create(*, only_if_grown: bool = False) -> AuditCheckpoint:
    """Sign and store a checkpoint of the log as it is now.

    Incremental: only leaves added since the last checkpoint are read.  Before
    signing, the tree must still reproduce the previous checkpoint's root; if
    it does not, nothing is signed.  With ``only_if_grown`` (the periodic
    task), an unchanged log returns the previous checkpoint instead.
    """
    audit_sequence_pending(sweep=True)
    tree_sync()
    size = log_size()
    tree = StoredTree(size)
    previous = AuditCheckpoint.objects.order_by("-size", "-id").first()
    if previous is not None:
        if previous.size > size:
            raise CheckpointRefused(f"the log has {size} entries but checkpoint {previous.pk} covers {previous.size}")
        if only_if_grown and previous.size == size:
            return previous
        if tree.root(previous.size).hex() != previous.root_hash:
            logger.critical("audit log does not match checkpoint %s (size %s)", previous.pk, previous.size)
            raise CheckpointRefused(f"the stored log no longer matches checkpoint {previous.pk} (size {previous.size})")
    key = keyring(Purpose.AUDIT).current()
    now = timezone.now()
    body = {
        "origin": settings.SERVICE_ORIGIN,
        "size": size,
        "root_hash": tree.root(size).hex(),
        "timestamp": format_ts(now),
        "kid": key.kid,
    }
    signature = b64url(key.sign(rfc8785.dumps(body)))
    return AuditCheckpoint.objects.create(**body, signature=signature, created_at=now)
