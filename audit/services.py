"""Writing to the audit log, and signing checkpoints of it.

Every other app records its governance changes, data reads and erasure steps
with ``audit_record`` inside the same ``transaction.atomic`` block as the
change itself, before any data is served.  If the surrounding transaction
rolls back, the entry and its sequence number roll back with it, so ``seq``
never has gaps.

How ``seq`` is taken (one path on every database): ``audit_record``
inserts the entry's leaf bytes, split around the number, into
``AuditPending``.  A database trigger (migration ``0002_append_only``) locks
the log's head row, gives the entry the next ``seq``, moves it into the log
and deletes the pending row, all inside the writer's transaction.  On
PostgreSQL the trigger is deferred to commit, so the head row is the last
lock the transaction takes and is held for the commit alone: writers are
serialised for that stretch only, the way Trillian's sequencer and
Tessera's MySQL driver number a log under one row lock.  SQLite has no
deferred triggers and runs it at once; its writers are serialised from
``BEGIN IMMEDIATE`` anyway.

Consequences:

- ``seq`` is contiguous with no fork; a rollback takes the pending row and
  its number with it;
- a reader that reads the head's size and then the entries below it sees
  every one of them: an entry and the head's new size commit together, and
  reading never writes;
- the entry's ``seq`` is known once the transaction has committed
  (``AuditEntry`` rows can then be looked up by their content).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import rfc8785
from django.conf import settings
from django.core.cache import cache
from django.db import models, transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.models import AuditCheckpoint, AuditEntry
from audit.selectors import log_size
from audit.targets import user_target
from audit.timestamps import rfc3339
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
        return user_target(username)
    raise TypeError(f"Cannot label audit actor {actor!r}")


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


# The same statement on every database; the numbering trigger does the rest.
_APPEND = "INSERT INTO audit_auditpending (prefix, suffix) VALUES (%s, %s)"


# The JSON escape of U+0000 (preceded by an even number of backslashes, so not
# the text "\\u0000"): PostgreSQL text and jsonb cannot hold that character.
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def _max_length(name: str) -> int:
    field = AuditEntry._meta.get_field(name)
    assert isinstance(field, models.CharField) and field.max_length is not None
    return field.max_length


_FIELD_LIMITS = {name: _max_length(name) for name in ("actor", "action", "target")}


def _check_storable(actor: str, action: str, target: str, prefix: str) -> None:
    """Refuse at once, in the caller's code, what the log's columns cannot hold.

    The numbering trigger would refuse it too, but only at commit, as a
    database error that fails the whole transaction.
    """
    for name, value in (("actor", actor), ("action", action), ("target", target)):
        limit = _FIELD_LIMITS[name]
        if len(value) > limit:
            raise ValueError(f"An audit entry's {name} is limited to {limit} characters, not {len(value)}.")
        if "\x00" in value:
            raise ValueError(f"An audit entry's {name} cannot contain the character U+0000.")
    if _NUL_ESCAPE.search(prefix):
        raise ValueError("An audit entry's detail cannot contain the character U+0000.")


@dataclass(frozen=True)
class AppendedEntry:
    """An entry as appended; the database gives it its ``seq`` when the transaction commits."""

    ts: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any]


def audit_record(
    *, actor: Any, action: AuditAction | str, target: str, detail: dict[str, Any] | None = None
) -> AppendedEntry:
    """Append one entry, in the caller's transaction; it is numbered when the transaction commits.

    Whatever happens to the caller's transaction happens to the entry: if it
    rolls back, the entry was never there, and no number is used up.  The
    Merkle tree is not touched on append.

    No savepoint: if the entry cannot be written, the caller's whole
    transaction must fail rather than commit a change without its entry.
    """
    detail = detail or {}
    action = str(action)  # an AuditAction member is stored as its value
    label = actor_label(actor)
    if not action or not target:
        raise ValueError("An audit entry needs an action and a target.")
    moment = timezone.now()
    prefix, suffix = leaf_parts(actor=label, action=action, target=target, detail=detail, ts=rfc3339(moment))
    _check_storable(label, action, target, prefix)
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(_APPEND, [prefix, suffix])
    return AppendedEntry(ts=moment, actor=label, action=action, target=target, detail=detail)


class CheckpointRefused(RuntimeError):
    """The stored log no longer matches an earlier checkpoint; a new one would hide that."""


def checkpoint_create(*, only_if_grown: bool = False) -> AuditCheckpoint:
    """Sign and store a checkpoint of the log as it is now.

    Incremental: only leaves added since the last checkpoint are read.  Before
    signing, the tree must still reproduce the previous checkpoint's root; if
    it does not, nothing is signed.  With ``only_if_grown`` (the periodic
    task), an unchanged log returns the previous checkpoint instead.
    """
    size = log_size()
    tree_sync(size)
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
    body: dict[str, Any] = {
        "origin": settings.SERVICE_ORIGIN,
        "size": size,
        "root_hash": tree.root(size).hex(),
        "timestamp": rfc3339(now),
        "kid": key.kid,
    }
    signature = b64url(key.sign(rfc8785.dumps(body)))
    return AuditCheckpoint.objects.create(**body, signature=signature, created_at=now)


# Set while an on-demand checkpoint is scheduled and has not started yet.
_ON_DEMAND_KEY = "audit:checkpoint:on-demand"


def checkpoint_after_commit() -> None:
    """Ask for a checkpoint soon after the current transaction commits; a burst of requests makes one.

    Sensitive actions (dataset exports, completed erasures) call this next to
    their ``audit_record``: until a checkpoint covers an entry, someone with
    the database's superuser rights could rewrite it unnoticed, so the
    window is cut from the periodic interval to
    ``AUDIT_CHECKPOINT_ON_DEMAND_DELAY_SECONDS``.  Coalescing: while one
    checkpoint is scheduled and has not started, further requests add
    nothing, because it will read the log size after they committed
    (``checkpoint_make_due`` clears the flag before it reads).  If the
    broker is down the action is not failed: the periodic checkpoint covers
    the entry later.
    """

    def schedule() -> None:
        from audit.tasks import make_checkpoint_task

        delay = settings.AUDIT_CHECKPOINT_ON_DEMAND_DELAY_SECONDS
        # The flag expires on its own if the task is lost.
        if not cache.add(_ON_DEMAND_KEY, 1, timeout=delay + 300):
            return
        try:
            make_checkpoint_task.apply_async(countdown=delay)
        except Exception:
            cache.delete(_ON_DEMAND_KEY)
            raise

    transaction.on_commit(schedule, robust=True)


def checkpoint_make_due() -> AuditCheckpoint:
    """The periodic or on-demand checkpoint: a new one if the log grew since the last, else the last."""
    # Cleared before the size is read: an entry committed after this point
    # schedules its own checkpoint; one committed before is covered by this one.
    cache.delete(_ON_DEMAND_KEY)
    return checkpoint_create(only_if_grown=True)
