"""A retention sweep over 10,000,000 captured events, in bounded batches, against one plain ``DELETE``.

Stores ``ERASURE_BENCH_EVENTS`` (default 10,000,000) mouse events of
``ERASURE_BENCH_SUBJECTS`` (default 50) subjects in chunks of
``ERASURE_BENCH_PER_CHUNK`` (default 500) events, bulk-inserted with
placeholder ciphertext (256 random bytes; retention never decrypts).  Half the
chunks are wholly past the 30-day limit, a tenth straddle it (oldest event
30 minutes past the cutoff, newest 30 minutes before it) and the rest are
recent.  Then times ``retention_enforce``: batches of ``RETENTION_BATCH_CHUNKS``
chunks, one transaction and one audit entry each.

Baselines, same run: one plain ``DELETE … WHERE category = 'mouse' AND
first_ts < cutoff`` of the same rows in a single transaction, on the chunk
table itself (with its indexes and foreign keys; rolled back, before the
sweep) and on an unindexed copy of it.  Checks that both deleted exactly the same rows (everything
whose oldest event is past the cutoff, straddlers included) and that no
transaction of the sweep held more than ``RETENTION_BATCH_CHUNKS`` chunks.

Runs on SQLite (the default) or PostgreSQL (``DATABASE_URL``)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/consent_bench python -m bench erasure_retention
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime, timedelta

import bench
from bench import Figure, bench_database

EVENTS = int(os.environ.get("ERASURE_BENCH_EVENTS", "10000000"))
PER_CHUNK = int(os.environ.get("ERASURE_BENCH_PER_CHUNK", "500"))
SUBJECTS = int(os.environ.get("ERASURE_BENCH_SUBJECTS", "50"))
MAX_AGE_DAYS = 30
NAME = "retention sweep"
INSERT_ROWS = 2000


def _fill(subjects, devices, now: datetime, cutoff: datetime) -> dict[str, int]:
    """Insert the chunks; returns how many chunks and events are past the cutoff by their oldest event."""
    from collection.models import Batch, EventChunk

    chunks = EVENTS // PER_CHUNK
    expected = {"chunks": 0, "events": 0, "straddling": 0}
    for start in range(0, chunks, INSERT_ROWS):
        size = min(INSERT_ROWS, chunks - start)
        batches = []
        for i in range(start, start + size):
            owner = i % len(subjects)
            batches.append(
                Batch(
                    batch_id=uuid.uuid4(),
                    subject=subjects[owner],
                    device=devices[owner],
                    body_digest="0" * 64,
                    response={},
                    received_at=now,
                )
            )
        Batch.objects.bulk_create(batches)
        rows = []
        for i, batch in zip(range(start, start + size), batches, strict=True):
            kind = i % 10
            if kind < 5:  # wholly past the limit: 31 to 40 days old
                first = cutoff - timedelta(days=1 + i % 10, minutes=5)
                last = first + timedelta(minutes=5)
            elif kind == 5:  # straddling the cutoff
                first, last = cutoff - timedelta(minutes=30), cutoff + timedelta(minutes=30)
                expected["straddling"] += 1
            else:  # recent
                first = now - timedelta(days=i % 29, minutes=10)
                last = first + timedelta(minutes=5)
            if first < cutoff:
                expected["chunks"] += 1
                expected["events"] += PER_CHUNK
            rows.append(
                EventChunk(
                    subject=batch.subject,
                    batch=batch,
                    category="mouse",
                    app_id="com.microsoft.VSCode",
                    count=PER_CHUNK,
                    first_ts=first,
                    last_ts=last,
                    nonce=os.urandom(12),
                    ciphertext=os.urandom(256),
                )
            )
        EventChunk.objects.bulk_create(rows)
    return expected


def run() -> list[Figure]:
    vendor = bench_database()
    from django.conf import settings
    from django.db import connection, transaction

    from accounts.factories import UserFactory
    from audit.models import AuditEntry
    from collection.models import Device, EventChunk
    from consent.models import RetentionRule
    from consent.services import subject_for_employee
    from erasure.services import retention_enforce

    now = datetime.now(UTC).replace(microsecond=0)
    cutoff = now - timedelta(days=MAX_AGE_DAYS)
    tag = uuid.uuid4().hex[:6]
    subjects, devices = [], []
    for n in range(SUBJECTS):
        employee = UserFactory(actor="system:bench", username=f"ret-{tag}-{n}", employee=True)
        subjects.append(subject_for_employee(employee))
        devices.append(
            Device.objects.create(employee=employee, name="bench", platform="linux", secret_digest=uuid.uuid4().hex * 2)
        )
    RetentionRule.objects.update_or_create(category="mouse", defaults={"max_age_days": MAX_AGE_DAYS})
    filled = time.perf_counter()
    expected = _fill(subjects, devices, now, cutoff)
    fill_seconds = time.perf_counter() - filled
    total_chunks = EventChunk.objects.count()

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_retention_copy AS SELECT * FROM collection_eventchunk")
    purged_before = AuditEntry.objects.filter(action="collection.retention.purged").count()
    # The same plain DELETE on the real table (its indexes and foreign keys), timed and rolled back.
    with transaction.atomic(), connection.cursor() as cursor:
        in_place_started = time.perf_counter()
        cursor.execute(
            "DELETE FROM collection_eventchunk WHERE category = %s AND first_ts < %s",
            ["mouse", connection.ops.adapt_datetimefield_value(cutoff)],
        )
        in_place = time.perf_counter() - in_place_started
        in_place_rows = cursor.rowcount
        transaction.set_rollback(True)
    assert EventChunk.objects.count() == total_chunks

    started = time.perf_counter()
    deleted = retention_enforce(now=now)
    sweep = time.perf_counter() - started

    entries = list(
        AuditEntry.objects.filter(action="collection.retention.purged")
        .order_by("seq")
        .values_list("detail", flat=True)[purged_before:]
    )
    largest = max((e["chunks"] for e in entries), default=0)
    left_behind = EventChunk.objects.filter(category="mouse", first_ts__lt=cutoff).count()
    remaining = EventChunk.objects.count()

    with connection.cursor() as cursor:
        cutoff_param = connection.ops.adapt_datetimefield_value(cutoff)
        baseline_started = time.perf_counter()
        cursor.execute(
            "DELETE FROM bench_retention_copy WHERE category = %s AND first_ts < %s", ["mouse", cutoff_param]
        )
        baseline_rows = cursor.rowcount
        baseline = time.perf_counter() - baseline_started
        cursor.execute("DROP TABLE bench_retention_copy")

    correct = (
        deleted.get("mouse", 0) == expected["events"]
        and baseline_rows == expected["chunks"] == in_place_rows
        and total_chunks - remaining == expected["chunks"]
        and left_behind == 0
        and largest <= settings.RETENTION_BATCH_CHUNKS
    )
    figure = Figure(
        f"{NAME} over {EVENTS:,} events ({vendor})",
        sweep * 1000,
        "ms",
        f"≤ {settings.RETENTION_BATCH_CHUNKS:,} chunks per transaction; exactly the rows of the plain DELETE",
        correct,
    )
    figure.ratios["one plain DELETE of the same rows from an unindexed copy (time)"] = (
        sweep / baseline if baseline else 0.0
    )
    figure.ratios["one plain DELETE of the same rows from the chunk table itself, rolled back (time)"] = (
        sweep / in_place if in_place else 0.0
    )
    figure.notes += [
        f"{EVENTS:,} events of {SUBJECTS} subjects in {total_chunks:,} chunks of {PER_CHUNK} "
        f"(inserted in {fill_seconds:.1f} s); {expected['chunks']:,} chunks past the cutoff by their oldest event, "
        f"{expected['straddling']:,} of them straddling it",
        f"sweep deleted {deleted.get('mouse', 0):,} events in {len(entries)} transactions (largest "
        f"{largest:,} chunks), {sweep * 1000:.0f} ms; plain DELETE {baseline_rows:,} rows in one transaction, "
        f"{baseline * 1000:.0f} ms (on the chunk table itself: {in_place * 1000:.0f} ms)",
        f"left behind past the cutoff: {left_behind}; chunks remaining {remaining:,}",
    ]
    return [figure]


if __name__ == "__main__":
    bench.main_standalone(run)
