"""Audit append throughput: 8 concurrent writers on PostgreSQL (target ≥ 1,000 entries/s, no gap, no fork).

Writers are processes (like web workers), each appending entries one
transaction at a time.  Every append is numbered inside its own
transaction, so the clock stops when the last writer has committed.

Baselines, in the same run: the same processes doing a plain one-row
INSERT of the same leaf bytes per transaction into an unindexed, unlocked
table, and an INSERT into a table indexed like the log.  The machine is
shared and its speed drifts, so the three are run in alternation for
``AUDIT_BENCH_ROUNDS`` rounds and each figure is the median; the ratios are
medians of the per-round ratios.  Afterwards the log must hold exactly
``0..n-1`` and verify against a checkpoint made after the run.
"""

from __future__ import annotations

import os
import statistics

import bench
from bench import Figure, bench_database

WRITERS = 8
PER_WRITER = int(os.environ.get("AUDIT_BENCH_PER_WRITER", "1000"))
ROUNDS = int(os.environ.get("AUDIT_BENCH_ROUNDS", "3"))
TARGET = 1000.0


def _audit_writer(number: int, per_writer: int, *, barrier) -> None:
    from django.db import connections, transaction

    from audit.services import audit_record

    barrier.wait()
    for i in range(per_writer):
        with transaction.atomic():
            audit_record(
                actor=f"user:writer{number}",
                action="dataset.download",
                target=f"grant:{number}-{i}",
                detail={"bytes": 1024 * i, "categories": ["mouse", "clicks"]},
            )
    connections.close_all()


def _plain_writer(number: int, per_writer: int, leaf: str, leaf_hash: bytes, *, barrier) -> None:
    from django.db import connection, connections, transaction

    barrier.wait()
    for _ in range(per_writer):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_plain_insert (leaf, leaf_hash) VALUES (%s, %s)", [leaf, leaf_hash])
    connections.close_all()


def _indexed_writer(number: int, per_writer: int, leaf: str, leaf_hash: bytes, *, barrier) -> None:
    from django.db import connection, connections, transaction
    from django.utils import timezone

    barrier.wait()
    for i in range(per_writer):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_plain_indexed (seq, ts, actor, action, target, detail, leaf, leaf_hash) "
                "VALUES (nextval('bench_plain_indexed_seq'), %s, %s, %s, %s, %s::jsonb, %s, %s)",
                [
                    timezone.now(),
                    f"user:writer{number}",
                    "dataset.download",
                    f"grant:{number}-{i}",
                    "{}",
                    leaf,
                    leaf_hash,
                ],
            )
    connections.close_all()


def _timed(target, args_for) -> float:
    return bench.run_in_processes(target, [(n, *args_for(n)) for n in range(WRITERS)])


def _timed_audit() -> float:
    return _timed(_audit_writer, lambda n: (PER_WRITER,))


def run() -> list[Figure]:
    vendor = bench_database()
    if vendor != "postgresql":
        return [
            Figure(
                "audit append, 8 writers",
                0,
                "entries/s",
                f"≥ {TARGET:,.0f}/s",
                None,
                notes=["skipped: set DATABASE_URL to a PostgreSQL server"],
            )
        ]
    from django.db import connection

    from audit.models import AuditEntry, AuditHead
    from audit.services import checkpoint_create
    from audit.verification import audit_log_verify

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_plain_insert (id bigserial PRIMARY KEY, leaf text, leaf_hash bytea)"
        )
        # Same columns and indexes as the log, without its triggers, head row or numbering.
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_plain_indexed (LIKE audit_auditentry INCLUDING DEFAULTS INCLUDING INDEXES)"
        )
        cursor.execute("CREATE SEQUENCE IF NOT EXISTS bench_plain_indexed_seq")
    per_round = WRITERS * PER_WRITER
    audit_s, plain_s, indexed_s = [], [], []
    for _ in range(ROUNDS):
        audit_s.append(_timed_audit())
        leaf, leaf_hash = AuditEntry.objects.order_by("seq").values_list("leaf", "leaf_hash").first()
        plain_s.append(_timed(_plain_writer, lambda n: (PER_WRITER, leaf, bytes(leaf_hash))))  # noqa: B023
        indexed_s.append(_timed(_indexed_writer, lambda n: (PER_WRITER, leaf, bytes(leaf_hash))))  # noqa: B023
    total = per_round * ROUNDS

    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    no_gap = seqs == list(range(total)) and AuditHead.objects.get().size == total
    checkpoint = checkpoint_create()
    report = audit_log_verify()
    no_fork = report.ok and checkpoint.size == total

    rate = per_round / statistics.median(audit_s)
    plain_rate = per_round / statistics.median(plain_s)
    indexed_rate = per_round / statistics.median(indexed_s)
    rounds = ", ".join(f"{per_round / a:,.0f} vs {per_round / p:,.0f}" for a, p in zip(audit_s, plain_s, strict=True))
    return [
        Figure(
            name="audit append, 8 concurrent writers (PostgreSQL)",
            value=rate,
            unit="entries/s",
            target=f"≥ {TARGET:,.0f} entries/s, no gap, no fork",
            met=rate >= TARGET and no_gap and no_fork,
            ratios={
                f"of plain one-row INSERT transactions ({plain_rate:,.0f} rows/s)": statistics.median(
                    p / a for a, p in zip(audit_s, plain_s, strict=True)
                ),
                f"of INSERTs into a table indexed like the log ({indexed_rate:,.0f} rows/s)": statistics.median(
                    i / a for a, i in zip(audit_s, indexed_s, strict=True)
                ),
            },
            notes=[
                f"{ROUNDS} rounds of {per_round} entries; entries/s vs plain INSERT rows/s per round: {rounds}",
                f"seq 0..{total - 1} without gap: {no_gap}; log verifies against a fresh checkpoint: {no_fork}",
            ],
        )
    ]
