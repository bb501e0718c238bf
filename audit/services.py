"""Writing to the audit log, and signing checkpoints of it.

Every other app records its governance changes, data reads and erasure steps
with ``audit_record`` inside the same ``transaction.atomic`` block as the
change itself, before any data is served.  If the surrounding transaction
rolls back, the entry and its sequence number roll back with it, so ``seq``
never has gaps.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from typing import Any

import rfc8785
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.models import AuditCheckpoint, AuditEntry, AuditHead
from audit.tree import StoredTree, log_size, tree_sync
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


def leaf_bytes(*, seq: int, ts: str, actor: str, action: str, target: str, detail: dict) -> bytes:
    return rfc8785.dumps({"seq": seq, "ts": ts, "actor": actor, "action": action, "target": target, "detail": detail})


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def _head_for_update() -> AuditHead:
    head = AuditHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        # ON CONFLICT DO NOTHING: two first writers must not fail each other.
        AuditHead.objects.bulk_create([AuditHead(pk=1, size=0)], ignore_conflicts=True)
        head = AuditHead.objects.select_for_update().get(pk=1)
    return head


def audit_record(*, actor: Any, action: str, target: str, detail: dict[str, Any] | None = None) -> AuditEntry:
    """Append one entry and return it.

    Call it inside the caller's transaction.  The head row stays locked until
    that transaction ends, so concurrent writers take consecutive numbers and
    the order of ``seq`` is the order of commits.  Nothing else happens on
    append: the Merkle tree is brought up to date lazily (``tree_sync``).
    """
    detail = detail or {}
    label = actor_label(actor)
    if not action or not target:
        raise ValueError("An audit entry needs an action and a target.")
    with transaction.atomic():
        head = _head_for_update()
        seq = head.size
        moment = timezone.now()
        ts = format_ts(moment)
        leaf = leaf_bytes(seq=seq, ts=ts, actor=label, action=action, target=target, detail=detail)
        entry = AuditEntry.objects.create(
            seq=seq,
            ts=moment,
            actor=label,
            action=action,
            target=target,
            detail=detail,
            leaf=leaf.decode("utf-8"),
            leaf_hash=leaf_hash(leaf),
        )
        AuditHead.objects.filter(pk=1).update(size=seq + 1)
    return entry


class CheckpointRefused(RuntimeError):
    """The stored log no longer matches an earlier checkpoint; a new one would hide that."""


def checkpoint_create(*, only_if_grown: bool = False) -> AuditCheckpoint:
    """Sign and store a checkpoint of the log as it is now.

    Incremental: only leaves added since the last checkpoint are read.  Before
    signing, the tree must still reproduce the previous checkpoint's root; if
    it does not, nothing is signed.  With ``only_if_grown`` (the periodic
    task), an unchanged log returns the previous checkpoint instead.
    """
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
