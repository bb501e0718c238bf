"""What a queued audit entry must be before the database accepts it.

``audit_record`` queues an entry as its leaf bytes split around the number
(``prefix + ',"seq":' + seq + suffix``).  The database refuses a queued
item that is not a well-formed entry in RFC 8785 form, so nothing the
verifiers would reject can enter the log: on SQLite through
``audit_pending_problem`` (registered on every connection by ``audit.apps``
and called by the trigger ``audit_auditpending_check``), on PostgreSQL
through the PL/pgSQL twin ``audit_check_pending()`` of migration
``0003_admission``.  The rules are those of ``audit.verify.entry_problem``,
stricter where the service is: ``ts`` is UTC with a ``Z`` and no or six
fraction digits (``audit.timestamps.rfc3339``), and ``action`` and
``target`` are not empty.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

from audit.canonical import CanonicalizationError, canonical_json

ENTRY_KEYS = frozenset({"seq", "ts", "actor", "action", "target", "detail"})
# What audit.timestamps.rfc3339 writes: UTC, "Z", microseconds unless zero.
UTC_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z$")


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate key")
    return dict(pairs)


def pending_problem(prefix: str, suffix: str) -> str | None:
    """Why a queued ``(prefix, suffix)`` is not a well-formed canonical entry, or None if it is."""
    if not isinstance(prefix, str) or not isinstance(suffix, str):
        return "prefix and suffix must be text"
    try:
        entry = json.loads(f'{prefix},"seq":0{suffix}', object_pairs_hook=_unique_keys)
    except ValueError:
        return "not a JSON object with unique keys"
    if not isinstance(entry, dict) or set(entry) != ENTRY_KEYS:
        return f"fields must be exactly {sorted(ENTRY_KEYS)}"
    if entry["seq"] != 0 or isinstance(entry["seq"], bool):
        return "seq is not where the number goes"
    for key in ("ts", "actor", "action", "target"):
        if not isinstance(entry[key], str):
            return f"{key} is not a string"
    if not entry["action"] or not entry["target"]:
        return "action and target must not be empty"
    if not isinstance(entry["detail"], dict):
        return "detail is not an object"
    if not UTC_TS.match(entry["ts"]):
        return "ts is not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SS[.ffffff]Z)"
    try:
        datetime.fromisoformat(entry["ts"].replace("Z", "+00:00"))
    except ValueError:
        return "ts is not a valid time"
    # The number must go at the top level, between detail and target: the
    # prefix is exactly the canonical object of the first three fields.
    try:
        head = canonical_json({k: entry[k] for k in ("action", "actor", "detail")})
        tail = canonical_json({k: entry[k] for k in ("target", "ts")})
    except CanonicalizationError as exc:
        return f"cannot be canonical: {exc}"
    if prefix.encode("utf-8", "surrogatepass") != head[:-1] or suffix.encode("utf-8", "surrogatepass") != (
        b"," + tail[1:]
    ):
        return "not in RFC 8785 canonical form"
    return None
