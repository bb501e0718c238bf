"""Ingestion throughput through the real HTTP stack on PostgreSQL.

Target: ≥ 50,000 events/s with 1,000-event batches from 8 concurrent clients,
p99 batch latency ≤ 250 ms.  gunicorn (sync workers, production settings,
Redis cache when ``REDIS_URL`` answers) serves a migrated throwaway
database; 8 client processes post pre-built, uncompressed 1,000-event batches
of realistic synthetic activity (the reference client's session generator:
mouse paths, typing with some PII, a password field, app switches, events
on applications that are not allowed) with a valid collection token each.

Baseline, same run: the chunk rows the service stored, written again by 8
processes with a plain multi-row INSERT per batch (one transaction each) into
an unindexed copy of the table: the cost of the writes alone, without HTTP,
authentication, validation, safeguards and encryption.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/consent_bench python -m bench.ingest_bench

``INGEST_BENCH_BATCHES`` (per client, default 40) and ``INGEST_BENCH_WORKERS``
(gunicorn workers, default 4) change the size.
"""

from __future__ import annotations

import base64
import http.client
import json
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/consent_bench"
os.environ.setdefault("DATABASE_URL", DEFAULT_URL)

import bench  # noqa: E402
from bench import Figure, bench_database  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 8
EVENTS_PER_BATCH = 1000
WARMUP_BATCHES = 2
BATCHES = int(os.environ.get("INGEST_BENCH_BATCHES", "40"))
WORKERS = int(os.environ.get("INGEST_BENCH_WORKERS", "4"))
TARGET_EPS = 50_000.0
TARGET_P99_MS = 250.0
APPS = ["com.microsoft.VSCode", "org.mozilla.firefox"]
CATEGORIES = ["app_focus", "clicks", "keystroke_timing", "keystrokes", "mouse"]


def _prepare(clients: int) -> list[tuple[str, str]]:
    """Consenting employees with one device and a token each; returns (token, device_id)."""

    from accounts.factories import UserFactory
    from collection.models import Device
    from collection.services import device_enroll, token_issue
    from consent.models import AllowedApplication, RetentionRule
    from consent.services import consent_grant

    run = uuid.uuid4().hex[:6]
    officer = UserFactory(actor="system:bench", username=f"bench-officer-{run}", officer=True)
    notice = bench.benchmark_notice(officer=officer, categories=CATEGORIES)
    allowed = {
        "com.microsoft.VSCode": CATEGORIES,
        "org.mozilla.firefox": ["app_focus", "clicks", "mouse", "keystroke_timing"],
    }
    for app_id, categories in allowed.items():
        AllowedApplication.objects.get_or_create(
            app_id=app_id, defaults={"display_name": app_id, "categories": categories}
        )
    for category in CATEGORIES:
        RetentionRule.objects.get_or_create(category=category, defaults={"max_age_days": 30})
    out = []
    for number in range(clients):
        employee = UserFactory(actor="system:bench", username=f"bench-{run}-{number}", employee=True)
        consent_grant(employee=employee, categories=CATEGORIES, notice_version=notice.version)
        device, _ = device_enroll(employee=employee, name="bench", platform="linux")
        issued = token_issue(device=Device.objects.select_related("employee").get(pk=device.pk))
        out.append((issued.token, str(device.pk)))
    return out


def _bodies(client: int, count: int, start: float) -> list[bytes]:
    from capture_client import Session

    session = Session(apps=APPS, rng=random.Random(client))
    bodies = []
    for _ in range(count):
        events: list[dict] = []
        while len(events) < EVENTS_PER_BATCH:
            events += session.generate(start, start + 120)
        bodies.append(
            json.dumps(
                {"batch_id": str(uuid.uuid4()), "schema": "capture/v1", "events": events[:EVENTS_PER_BATCH]}
            ).encode()
        )
    return bodies


def _post(port: int, token: str, body: bytes) -> tuple[int, float, dict]:
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request(
        "POST",
        "/api/v1/collection/batches",
        body=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    response = connection.getresponse()
    answer = json.loads(response.read() or b"{}")
    connection.close()
    return response.status, time.perf_counter() - started, answer


def _client(port: int, token: str, bodies: list[bytes], barrier, results) -> None:
    for body in bodies[:WARMUP_BATCHES]:
        _post(port, token, body)
    barrier.wait()
    timings = []
    for body in bodies[WARMUP_BATCHES:]:
        status, seconds, answer = _post(port, token, body)
        timings.append((status, seconds, answer.get("accepted", 0), answer.get("dropped", {})))
    results.put(timings)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_url() -> str | None:
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/14"
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:
        return None
    return url


def _start_server(port: int, database_url: str, var_dir: str) -> subprocess.Popen:
    from django.conf import settings

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + uuid.uuid4().hex * 2,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": database_url,
        "VAR_DIR": var_dir,
        "SIGNING_KEY_DIR": str(settings.SIGNING_KEY_DIR),
        "SERVICE_ORIGIN": settings.SERVICE_ORIGIN,
        "MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "COLLECTION_RATE_LIMIT_PER_MINUTE": "100000000",
        "COLLECTION_RATE_LIMIT_BURST": "1000000",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    redis_url = _redis_url()
    if redis_url:
        env["REDIS_URL"] = redis_url
        env["CELERY_BROKER_URL"] = redis_url
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-w",
            str(WORKERS),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--timeout",
            "120",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/.well-known/jwks.json")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise RuntimeError("gunicorn did not come up")


def _plain_writer(rows_by_batch: list[list[tuple]], *, barrier) -> None:
    from django.db import connection, connections, transaction

    barrier.wait()
    for rows in rows_by_batch:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO bench_plain_chunks (subject_id, batch_id, category, app_id, count, first_ts, last_ts, nonce, ciphertext)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                rows,
            )
    connections.close_all()


def _baseline(batch_ids: list[str]) -> float:
    """Seconds for 8 processes to write the same chunk rows with plain INSERTs, one transaction per batch."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_plain_chunks")
        cursor.execute(
            "CREATE TABLE bench_plain_chunks (LIKE collection_eventchunk INCLUDING DEFAULTS INCLUDING IDENTITY)"
        )
        cursor.execute(
            "SELECT batch_id::text, subject_id, batch_id, category, app_id, count, first_ts, last_ts, nonce, ciphertext"
            " FROM collection_eventchunk WHERE batch_id::text = ANY(%s)",
            [batch_ids],
        )
        grouped: dict[str, list[tuple]] = {}
        for row in cursor.fetchall():
            grouped.setdefault(row[0], []).append(tuple(row[1:]))
    batches = list(grouped.values())
    shares = [batches[i::CLIENTS] for i in range(CLIENTS)]
    try:
        return bench.run_in_processes(_plain_writer, [(share,) for share in shares])
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE bench_plain_chunks")


def _database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def run() -> list[Figure]:
    vendor = bench_database()
    if vendor != "postgresql":
        return [
            Figure(
                "ingestion, 8 clients, 1,000-event batches",
                0,
                "events/s",
                f"≥ {TARGET_EPS:,.0f}/s",
                None,
                notes=["skipped: set DATABASE_URL to a PostgreSQL server"],
            )
        ]
    from django.db import connections

    clients = _prepare(CLIENTS)
    start = time.time() + 1
    bodies = [_bodies(number, WARMUP_BATCHES + BATCHES, start) for number in range(CLIENTS)]
    timed_ids = [json.loads(b)["batch_id"] for per_client in bodies for b in per_client[WARMUP_BATCHES:]]
    port = _free_port()
    connections.close_all()
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as var_dir:
        server = _start_server(port, _database_url(), var_dir)
        try:
            context = multiprocessing.get_context("fork")
            barrier = context.Barrier(CLIENTS + 1)
            results = context.Queue()
            processes = [
                context.Process(target=_client, args=(port, token, bodies[number], barrier, results))
                for number, (token, _) in enumerate(clients)
            ]
            for process in processes:
                process.start()
            barrier.wait()
            started = time.perf_counter()
            timings = [t for _ in processes for t in results.get(timeout=600)]
            elapsed = time.perf_counter() - started
            for process in processes:
                process.join()
        finally:
            server.terminate()
            server.wait(timeout=30)

    statuses = {status for status, *_ in timings}
    latencies = sorted(seconds * 1000 for _, seconds, *_ in timings)
    events = len(timings) * EVENTS_PER_BATCH
    accepted = sum(t[2] for t in timings)
    reasons: dict[str, int] = {}
    for *_, counts in timings:
        for reason, count in counts.items():
            reasons[reason] = reasons.get(reason, 0) + count
    dropped = sum(reasons.values())
    eps = events / elapsed
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(round(0.99 * len(latencies))) - 1)]
    ok = statuses == {202} and accepted + dropped == events

    baseline_seconds = _baseline(timed_ids)
    baseline_eps = events / baseline_seconds
    notes = [
        f"{len(timings)} batches of {EVENTS_PER_BATCH} events in {elapsed:.2f} s; statuses {sorted(statuses)};"
        f" {accepted:,} accepted, {dropped:,} dropped by safeguards {dict(sorted(reasons.items()))}",
        f"gunicorn {WORKERS} sync workers, production settings; cache: {'Redis' if _redis_url() else 'file'}",
        f"baseline: the same chunk rows by plain INSERT, 8 processes, one transaction per batch: {baseline_seconds:.2f} s"
        f" ({baseline_eps:,.0f} events/s)",
    ]
    if not ok:
        notes.append("ERROR: not every batch was accepted with 202 and fully accounted for")
    return [
        Figure(
            "ingestion throughput, 8 clients, 1,000-event batches",
            eps,
            "events/s",
            f"≥ {TARGET_EPS:,.0f}/s",
            ok and eps >= TARGET_EPS,
            ratios={"plain INSERT of the same rows": eps / baseline_eps},
            notes=notes,
        ),
        Figure(
            "ingestion batch latency p99",
            p99,
            "ms",
            f"≤ {TARGET_P99_MS:.0f} ms",
            ok and p99 <= TARGET_P99_MS,
            notes=[f"p50 {p50:.1f} ms, max {latencies[-1]:.1f} ms"],
        ),
    ]


if __name__ == "__main__":
    bench.main_standalone(run)
