"""Erasure of one subject holding 1,000,000 captured events (target: unreadable at once, gone ≤ 10 s).

Stores 1,000 batches of 1,000 events for one subject the way ingestion does
(one encrypted chunk per batch here), then times ``subject_data_erase``:
the data is unreadable once its wrapped key is deleted (first commit) and
gone once the ciphertext rows are deleted (second commit).  A ``VACUUM`` of
the chunk table afterwards, which returns the space, is timed too.
Baseline, same run: a plain ``DELETE`` of the same rows from an unindexed copy.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/consent_bench python -m bench.ingest_erasure

``ERASURE_BENCH_EVENTS`` (default 1,000,000) changes the size.
"""

from __future__ import annotations

import base64
import json
import os
import random
import time
import uuid
from datetime import UTC, datetime

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/consent_bench"
os.environ.setdefault("DATABASE_URL", DEFAULT_URL)

import bench  # noqa: E402
from bench import Figure, bench_database  # noqa: E402

EVENTS = int(os.environ.get("ERASURE_BENCH_EVENTS", "1000000"))
PER_CHUNK = 1000
TARGET_SECONDS = 10.0
NAME = "erasure of a subject with 1,000,000 events"


def _fill(subject, device) -> int:
    from capture_client import Session
    from collection import crypto
    from collection.models import Batch, EventChunk, SubjectKey
    from collection.schema import decode_batch, encode_events

    SubjectKey.objects.create(subject=subject, wrapped_key=crypto.new_wrapped_data_key(subject.pseudonym))
    data_key = crypto.unwrap_data_key(SubjectKey.objects.get(subject=subject).wrapped_key, subject.pseudonym)
    session = Session(apps=["com.microsoft.VSCode"], rng=random.Random(1), stray=0)
    events: list[dict] = []
    while len(events) < PER_CHUNK:
        events += session.generate(time.time(), time.time() + 60)
    body = json.dumps({"batch_id": str(uuid.uuid4()), "schema": "capture/v1", "events": events[:PER_CHUNK]})
    plaintext = encode_events(decode_batch(body.encode()).events)
    now = datetime.now(UTC)
    chunks = EVENTS // PER_CHUNK
    for start in range(0, chunks, 200):
        batches = [
            Batch(
                batch_id=uuid.uuid4(),
                subject=subject,
                device=device,
                body_digest="0" * 64,
                response={},
                received_at=now,
            )
            for _ in range(min(200, chunks - start))
        ]
        Batch.objects.bulk_create(batches)
        rows = []
        for batch in batches:
            aad = crypto.chunk_aad(
                pseudonym=subject.pseudonym,
                batch_id=str(batch.batch_id),
                category="mouse",
                app_id="com.microsoft.VSCode",
            )
            nonce, ciphertext = crypto.encrypt_chunk(data_key, plaintext, aad)
            rows.append(
                EventChunk(
                    subject=subject,
                    batch=batch,
                    category="mouse",
                    app_id="com.microsoft.VSCode",
                    count=PER_CHUNK,
                    first_ts=now,
                    last_ts=now,
                    nonce=nonce,
                    ciphertext=ciphertext,
                )
            )
        EventChunk.objects.bulk_create(rows)
    return chunks * PER_CHUNK


def run() -> list[Figure]:
    vendor = bench_database()
    if vendor != "postgresql":
        skipped = Figure(NAME, 0, "ms", f"≤ {TARGET_SECONDS * 1000:,.0f} ms", None)
        skipped.notes.append("skipped: set DATABASE_URL to a PostgreSQL server")
        return [skipped]
    from django.conf import settings
    from django.db import connection

    from accounts.factories import UserFactory
    from audit.models import AuditEntry
    from collection.models import Device, EventChunk, SubjectKey
    from collection.services import subject_data_erase, subject_events
    from consent.services import subject_for_employee

    settings.MASTER_KEY = base64.b64encode(os.urandom(32)).decode()
    employee = UserFactory(actor="system:bench", username=f"erase-{uuid.uuid4().hex[:6]}", employee=True)
    subject = subject_for_employee(employee)
    device = Device.objects.create(
        employee=employee, name="bench", platform="linux", secret_digest=uuid.uuid4().hex * 2
    )
    events = _fill(subject, device)
    sizes = EventChunk.objects.filter(subject=subject).values_list("ciphertext", flat=True)[:10]
    chunk_bytes = sum(len(c) for c in sizes) // len(sizes)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_plain_delete AS SELECT * FROM collection_eventchunk WHERE subject_id = %s", [subject.pk]
        )

    started = time.perf_counter()
    subject_data_erase(subject=subject, actor="system:bench", reason="benchmark")
    total = time.perf_counter() - started
    steps = {
        e.action: e.ts
        for e in AuditEntry.objects.filter(
            action__startswith="collection.erase.", target=f"subject:{subject.pseudonym}"
        )
    }
    second_step = (
        steps["collection.erase.ciphertext_deleted"] - steps["collection.erase.key_destroyed"]
    ).total_seconds()
    unreadable = max(0.0, total - second_step)
    gone = (
        not SubjectKey.objects.filter(subject=subject).exists()
        and not EventChunk.objects.filter(subject=subject).exists()
    )
    assert subject_events(subject) == []

    with connection.cursor() as cursor:
        vacuum_started = time.perf_counter()
        cursor.execute("VACUUM collection_eventchunk")
        vacuum = time.perf_counter() - vacuum_started
        baseline_started = time.perf_counter()
        cursor.execute("DELETE FROM bench_plain_delete")
        baseline = time.perf_counter() - baseline_started
        cursor.execute("DROP TABLE bench_plain_delete")
    figure = Figure(NAME, total * 1000, "ms", f"≤ {TARGET_SECONDS * 1000:,.0f} ms", gone and total <= TARGET_SECONDS)
    figure.ratios["plain DELETE of the same rows from an unindexed copy (time)"] = total / baseline if baseline else 0.0
    figure.notes += [
        f"{events:,} events in {events // PER_CHUNK:,} encrypted chunks of about {chunk_bytes:,} bytes",
        f"unreadable (wrapped key deleted, committed) after about {unreadable * 1000:.0f} ms;"
        f" rows gone after {total * 1000:.0f} ms",
        f"VACUUM of the chunk table afterwards: {vacuum * 1000:.0f} ms; plain DELETE baseline {baseline * 1000:.1f} ms",
    ]
    return [figure]


if __name__ == "__main__":
    bench.main_standalone(run)
