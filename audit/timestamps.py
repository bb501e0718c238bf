"""The one RFC 3339 form the service writes: UTC with a ``Z``, microseconds unless zero.

Audit leaves carry it (so it is part of the log's contract), and every API
field and document the service signs uses the same form.
"""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(moment: datetime) -> str:
    """``2026-11-30T04:24:33.000123Z`` (``…:33Z`` on a whole second); ``moment`` must be timezone-aware."""
    if moment.tzinfo is None:
        raise ValueError("rfc3339() needs a timezone-aware datetime")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
