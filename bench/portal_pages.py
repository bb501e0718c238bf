"""Portal pages at scale: p95 per page with 10,000 employees and 10,000,000 events (target ≤ 150 ms).

The organisation is written in bulk, shaped like real use: ``PORTAL_BENCH_EMPLOYEES``
(default 10,000) employees in 25 departments, each with a device, consent
for most categories (70% opted in), and ``PORTAL_BENCH_EVENTS`` (default
10,000,000) events stored as chunks of ``PORTAL_BENCH_CHUNK`` (default 100)
events, five chunks an upload, spread over the last 30 days; the audit log
holds ``PORTAL_BENCH_AUDIT`` (default 100,000) entries appended through
``audit_record``; a consent-rates release and some pending erasure and data
requests exist.  Chunk payloads are placeholders: no page decrypts them.

Each page is then requested ``PORTAL_BENCH_REQUESTS`` (default 40) times
in-process through Django's test client (routing, middleware, sessions,
queries and templates; no network), as the person who uses it: the
employee portal and My data as one employee, the officer console as a
privacy officer, the audit console as an auditor.  Reported: p95 per page,
and its ratio to the p95 of the sign-in page requested the same way in the
same run (a page that touches no data), so the figures can be compared
across runs on this shared machine.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/consent_bench python -m bench portal
"""

from __future__ import annotations

import os
import random
import statistics
import time
import uuid
from datetime import timedelta

import bench
from bench import Figure

EMPLOYEES = int(os.environ.get("PORTAL_BENCH_EMPLOYEES", "10000"))
EVENTS = int(os.environ.get("PORTAL_BENCH_EVENTS", "10000000"))
CHUNK = int(os.environ.get("PORTAL_BENCH_CHUNK", "100"))
AUDIT = int(os.environ.get("PORTAL_BENCH_AUDIT", "100000"))
REQUESTS = int(os.environ.get("PORTAL_BENCH_REQUESTS", "40"))
TARGET_MS = 150.0
CATEGORIES = ["app_focus", "clicks", "keystroke_timing", "keystrokes", "mouse"]
APPS = ["com.microsoft.VSCode", "org.mozilla.firefox", "com.apple.Terminal"]
PAGES = [
    ("employee portal", "employee", "/portal"),
    ("My data", "employee", "/portal/my-data"),
    ("officer console", "officer", "/officer"),
    ("audit console", "auditor", "/audit/"),
]


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


def _timed(client, path: str, n: int) -> list[float]:
    for _ in range(3):  # warm caches and the connection
        client.get(path)
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
    return samples


def _organisation(rng: random.Random) -> dict:
    """Write the organisation in bulk; returns the people the pages are measured as."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from accounts.factories import UserFactory
    from accounts.models import Role, User, UserRole
    from collection.models import Batch, Device, EventChunk
    from consent.models import AllowedApplication, ConsentState, RetentionRule, Subject

    now = timezone.now()
    officer = UserFactory(actor="system:bench", username="bench-officer", roles=[Role.PRIVACY_OFFICER])
    auditor = UserFactory(actor="system:bench", username="bench-auditor", roles=[Role.AUDITOR])
    notice = bench.benchmark_notice(officer=officer, categories=CATEGORIES)
    for app_id in APPS:
        AllowedApplication.objects.create(app_id=app_id, display_name=app_id.rsplit(".", 1)[-1], categories=CATEGORIES)
    RetentionRule.objects.bulk_create([RetentionRule(category=c, max_age_days=90) for c in CATEGORIES])

    password = make_password(None)
    with transaction.atomic():
        users = User.objects.bulk_create(
            [
                User(username=f"emp{i:05d}", password=password, department=f"Department {i % 25:02d}")
                for i in range(EMPLOYEES)
            ],
            batch_size=2000,
        )
        UserRole.objects.bulk_create([UserRole(user=u, role=Role.EMPLOYEE) for u in users], batch_size=5000)
        subjects = Subject.objects.bulk_create([Subject(employee=u) for u in users], batch_size=5000)
        since = now.isoformat()
        states = []
        for subject in subjects:
            granted = (
                {
                    c: {"since": since, "notice_version": notice.version, "event_id": str(uuid.uuid4())}
                    for c in CATEGORIES
                    if rng.random() < 0.8
                }
                if rng.random() < 0.7
                else {}
            )
            states.append(ConsentState(subject=subject, epoch=1, granted=granted))
        ConsentState.objects.bulk_create(states, batch_size=5000)
        devices = Device.objects.bulk_create(
            [
                Device(employee=u, name="Work laptop", platform="linux", secret_digest=uuid.uuid4().hex * 2)
                for u in users
            ],
            batch_size=5000,
        )

    chunks_total = max(1, EVENTS // CHUNK)
    per_subject = max(1, chunks_total // EMPLOYEES)
    start = now - timedelta(days=30)
    for lo in range(0, EMPLOYEES, 500):
        batches, chunks = [], []
        for subject, device in zip(subjects[lo : lo + 500], devices[lo : lo + 500], strict=True):
            for k in range(0, per_subject, 5):
                at = start + timedelta(seconds=rng.uniform(0, 30 * 86400))
                batch = Batch(
                    batch_id=uuid.uuid4(),
                    subject=subject,
                    device=device,
                    body_digest="0" * 64,
                    response={},
                    received_at=at,
                )
                batches.append(batch)
                for j in range(min(5, per_subject - k)):
                    chunks.append(
                        EventChunk(
                            subject=subject,
                            batch=batch,
                            category=CATEGORIES[j % len(CATEGORIES)],
                            app_id=APPS[(k + j) % len(APPS)],
                            count=CHUNK,
                            first_ts=at,
                            last_ts=at + timedelta(seconds=5),
                            nonce=b"\0" * 12,
                            ciphertext=b"",
                        )
                    )
        with transaction.atomic():
            Batch.objects.bulk_create(batches, batch_size=5000)
            EventChunk.objects.bulk_create(chunks, batch_size=5000)
    return {"employee": users[0], "officer": officer, "auditor": auditor, "notice": notice}


def _audit_log(n: int) -> None:
    from django.db import transaction

    from audit.actions import AuditAction
    from audit.services import audit_record

    for lo in range(0, n, 5000):
        with transaction.atomic():
            for i in range(lo, min(n, lo + 5000)):
                audit_record(
                    actor="system:bench",
                    action=AuditAction.DATA_SUMMARY_VIEW,
                    target=f"subject:sub_bench{i % EMPLOYEES:05d}",
                    detail={"events": i},
                )


def _pending_work() -> None:
    """A consent-rates release, and 20 erasure requests the worker has not reached yet."""
    from unittest import mock

    from accounts.models import User
    from consent.stats import consent_rates_release_make
    from erasure.services import erasure_request_create

    consent_rates_release_make()
    # The test settings run tasks at once; these stay pending, as under load.
    with mock.patch("erasure.tasks.erase_subject_task.delay"):
        for user in User.objects.filter(username__startswith="emp").order_by("-username")[:20]:
            erasure_request_create(employee=user)


def run() -> list[Figure]:
    vendor = bench.bench_database()
    from django.conf import settings
    from django.test import Client

    settings.ALLOWED_HOSTS = ["*"]
    rng = random.Random(7)
    started = time.monotonic()
    people = _organisation(rng)
    _audit_log(AUDIT)
    _pending_work()
    built = time.monotonic() - started

    anonymous = Client()
    baseline = _p95(_timed(anonymous, "/login", REQUESTS))
    figures = []
    for name, who, path in PAGES:
        client = Client()
        client.force_login(people[who])
        p95 = _p95(_timed(client, path, REQUESTS))
        figure = Figure(f"{name} ({path}) p95", p95, "ms", f"≤ {TARGET_MS:.0f} ms", p95 <= TARGET_MS)
        figure.ratios["the sign-in page's p95"] = p95 / baseline
        figures.append(figure)
    figures[0].notes.append(
        f"{vendor}; {EMPLOYEES:,} employees, {EVENTS:,} events in chunks of {CHUNK}, {AUDIT:,} audit entries; "
        f"built in {built:.0f} s; {REQUESTS} requests a page; sign-in page p95 {baseline:.1f} ms"
    )
    return figures


if __name__ == "__main__":
    try:
        for figure in run():
            print("\n".join(figure.lines()))
    finally:
        bench.teardown_database()
