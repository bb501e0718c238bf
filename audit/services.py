"""Writing to the audit log.

Every other app records its governance changes, data reads and erasure steps
with ``audit_record`` inside the same ``transaction.atomic`` block as the
change itself, before any data is served.  If the surrounding transaction
rolls back, the entry and its sequence number roll back with it, so ``seq``
never has gaps.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone as dt_timezone
from typing import Any

import rfc8785
from django.db import transaction
from django.utils import timezone

from audit.models import AuditEntry, AuditHead

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
    return moment.astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def leaf_bytes(*, seq: int, ts: str, actor: str, action: str, target: str, detail: dict) -> bytes:
    return rfc8785.dumps(
        {"seq": seq, "ts": ts, "actor": actor, "action": action, "target": target, "detail": detail}
    )


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def _head_for_update() -> AuditHead:
    head = AuditHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        AuditHead.objects.get_or_create(pk=1)
        head = AuditHead.objects.select_for_update().get(pk=1)
    return head


def audit_record(*, actor: Any, action: str, target: str, detail: dict[str, Any] | None = None) -> AuditEntry:
    """Append one entry and return it.

    Call it inside the caller's transaction.  The head row stays locked until
    that transaction ends, so concurrent writers take consecutive numbers and
    the order of ``seq`` is the order of commits.
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
