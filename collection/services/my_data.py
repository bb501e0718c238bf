"""An employee's own captured data: a summary from chunk metadata, and the decrypted export.

Both are audited, and the audit entry commits before anything is served.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import msgspec
from django.db import transaction
from django.db.models import Max, Min, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import User
from audit.actions import AuditAction
from audit.services import audit_record
from audit.targets import subject_target
from audit.timestamps import rfc3339
from collection import crypto
from collection.models import EventChunk, SubjectKey
from collection.schema import SCHEMA, decode_events
from collection.services._subjects import _require_employee
from collection.services.storage import chunks_readable
from consent.models import Subject
from consent.services import subject_for_employee


def _format(moment: datetime | None) -> str | None:
    return rfc3339(moment) if moment else None


# How many days back the day-by-day counts of the summary go.
DAILY_DAYS = 30


def _daily_counts(subject: Subject, *, days: int) -> dict[str, Any]:
    """Events per UTC day and category over the last ``days`` days, zero-filled, from chunk metadata.

    A chunk counts on the day of its first event: chunks cover one batch,
    seconds to minutes, so a day boundary inside one moves at most that.
    """
    today = timezone.now().date()
    first_day = today - timedelta(days=days - 1)
    dates = [first_day + timedelta(days=i) for i in range(days)]
    counts: dict[str, dict[date, int]] = {}
    for row in (
        EventChunk.objects.filter(subject=subject, first_ts__date__gte=first_day)
        .annotate(day=TruncDate("first_ts"))
        .values("category", "day")
        .annotate(events=Sum("count"))
    ):
        counts.setdefault(row["category"], {})[row["day"]] = row["events"]
    return {
        "dates": [d.isoformat() for d in dates],
        "categories": {c: [by_day.get(d, 0) for d in dates] for c, by_day in sorted(counts.items())},
    }


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
        daily = _daily_counts(subject, days=DAILY_DAYS)
        audit_record(
            actor=subject_target(subject.pseudonym),
            action=AuditAction.DATA_SUMMARY_VIEW,
            target=subject_target(subject.pseudonym),
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
        "daily": daily,
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
            actor=subject_target(subject.pseudonym),
            action=AuditAction.DATA_EXPORT,
            target=subject_target(subject.pseudonym),
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
        chunks_readable(subject)
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
    yield encoder.encode({"subject": subject.pseudonym, "exported_at": _format(timezone.now()), "schema": SCHEMA})
    yield b"\n"
    for batch_id, category, app_id, count, events in _decrypted_chunks(subject):
        yield encoder.encode(
            {"batch_id": batch_id, "category": category, "app": app_id, "count": count, "events": events}
        )
        yield b"\n"


def subject_events(subject: Subject) -> list[tuple[str, str, list]]:
    """(category, app, events) of every stored chunk, decrypted; for erasure checks and exports."""
    return [(category, app_id, events) for _, category, app_id, _, events in _decrypted_chunks(subject)]
