"""Dataset export of 1,000,000 events (target: ≥ 100,000 events/s streamed, RSS growth ≤ 64 MiB).

Stores ``ACCESS_BENCH_EVENTS`` (default 1,000,000) events for
``ACCESS_BENCH_SUBJECTS`` (default 100) consenting employees the way
ingestion stores them: the reference client's synthetic activity (mouse
paths, typing, scrolling, app switches between an editor and a browser) in
uploads of 5,000 events, validated (``decode_batch``), policed
(``apply_safeguards``) and split into one encrypted chunk per (category,
application), so the chunks of one upload overlap in time across apps.
Storing is direct (no HTTP): the same plaintexts are reused for every
subject, each encrypted under that subject's data key and associated data.

A requester asks for every category in both apps over the whole time range;
two officers approve (keystrokes need four eyes).  Each round then runs, in
a fresh interpreter so the RSS figure is not hidden by memory the set-up
freed: ``export_begin`` (who is in, the counting pass, the audit entry)
and the consumption of every chunk of the stream (the SHA-256 and the
signed manifest are part of it), sampling VmRSS every 16 chunks (1 MiB) and
reading VmHWM (reset through ``/proc/self/clear_refs`` first) at the end.
Baseline, in its own fresh interpreter in the same round: the same chunks
fetched, decrypted and decoded, with nothing encoded or written out.

    python -m bench.access_export                       # SQLite (a temporary file)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/consent_bench python -m bench.access_export

``ACCESS_BENCH_EVENTS``, ``ACCESS_BENCH_SUBJECTS`` and ``ACCESS_BENCH_ROUNDS``
(default 2; figures are medians) change the size.
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import bench
from bench import Figure

EVENTS = int(os.environ.get("ACCESS_BENCH_EVENTS", "1000000"))
SUBJECTS = int(os.environ.get("ACCESS_BENCH_SUBJECTS", "100"))
ROUNDS = int(os.environ.get("ACCESS_BENCH_ROUNDS", "2"))
PER_UPLOAD = 5000
TARGET_EPS = 100_000.0
TARGET_RSS_MIB = 64.0
NAME = f"dataset export, {EVENTS:,} events"
APPS = ["com.microsoft.VSCode", "org.mozilla.firefox"]
CATEGORIES = ["app_focus", "clicks", "keystroke_timing", "keystrokes", "mouse"]
ALLOWED = {
    "com.microsoft.VSCode": CATEGORIES,
    "org.mozilla.firefox": ["app_focus", "clicks", "keystroke_timing", "keystrokes", "mouse"],
}
_CHILD_DB = "ACCESS_BENCH_CHILD_DB"
_ROOT = Path(__file__).resolve().parent.parent


# --- set-up --------------------------------------------------------------------------------


def _uploads(per_subject: int, start: float) -> list[dict[tuple[str, str], bytes]]:
    """One subject's uploads as ingestion stores them: per upload, (category, app) -> encoded events.

    Raw uploads of 5,000 events from the reference client go through
    ``decode_batch`` and ``apply_safeguards`` (which drop and redact a few);
    uploads are added until ``per_subject`` events are kept.
    """
    from capture_client import Session
    from collection.safeguards import Rules, apply_safeguards
    from collection.schema import decode_batch, encode_events

    session = Session(apps=APPS, rng=random.Random(7), stray=0.0)
    rules = Rules(
        apps={app: frozenset(categories) for app, categories in ALLOWED.items()},
        excluded_apps=frozenset(),
        consented=frozenset(CATEGORIES),
        granted_since={category: 0.0 for category in CATEGORIES},
        retention_cutoff={category: 0.0 for category in CATEGORIES},
        now=time.time(),
    )
    uploads, kept, t = [], 0, start
    while kept < per_subject:
        events: list[dict] = []
        while len(events) < PER_UPLOAD:
            events += session.generate(t, t + 30)
            t += 30
        body = json.dumps({"batch_id": str(uuid.uuid4()), "schema": "capture/v1", "events": events[:PER_UPLOAD]})
        groups = apply_safeguards(decode_batch(body.encode()).events, rules).groups
        room = per_subject - kept
        upload = {}
        for key, group in groups.items():
            group = group[:room]
            if group:
                upload[key] = (
                    encode_events(group),
                    len(group),
                    min(e.timestamp for e in group),
                    max(e.timestamp for e in group),
                )
                room -= len(group)
                kept += len(group)
        uploads.append(upload)
    return uploads


def _store(subjects, uploads) -> int:
    """Every subject gets the same uploads, encrypted under its own key and associated data."""
    from collection import crypto
    from collection.models import Batch, Device, EventChunk, SubjectKey

    stored = 0
    now = datetime.now(UTC)
    for employee, subject in subjects:
        device = Device.objects.create(
            employee=employee, name="bench", platform="linux", secret_digest=uuid.uuid4().hex * 2
        )
        wrapped = crypto.new_wrapped_data_key(subject.pseudonym)
        SubjectKey.objects.create(subject=subject, wrapped_key=wrapped)
        data_key = crypto.unwrap_data_key(wrapped, subject.pseudonym)
        batches = [
            Batch(
                batch_id=uuid.uuid4(),
                subject=subject,
                device=device,
                body_digest="0" * 64,
                response={},
                received_at=now,
            )
            for _ in uploads
        ]
        Batch.objects.bulk_create(batches)
        rows = []
        for batch, upload in zip(batches, uploads, strict=True):
            for (category, app), (plaintext, count, first, last) in upload.items():
                aad = crypto.chunk_aad(
                    pseudonym=subject.pseudonym, batch_id=str(batch.batch_id), category=category, app_id=app
                )
                nonce, ciphertext = crypto.encrypt_chunk(data_key, plaintext, aad)
                rows.append(
                    EventChunk(
                        subject=subject,
                        batch=batch,
                        category=category,
                        app_id=app,
                        count=count,
                        first_ts=datetime.fromtimestamp(first, tz=UTC),
                        last_ts=datetime.fromtimestamp(last, tz=UTC),
                        nonce=nonce,
                        ciphertext=ciphertext,
                    )
                )
                stored += count
        EventChunk.objects.bulk_create(rows, batch_size=500)
    return stored


def _prepare() -> tuple[str, str, int, int]:
    """Employees with consent and data, a requester, an approved request; returns (grant id, requester id, events, chunks)."""
    from django.utils import timezone

    from access.models import Grant
    from access.services import data_request_review, data_request_submit
    from accounts.factories import UserFactory
    from collection.models import EventChunk
    from consent.models import AllowedApplication, RetentionRule
    from consent.services import consent_grant, subject_for_employee

    run = uuid.uuid4().hex[:6]
    officers = [UserFactory(actor="system:bench", username=f"bench-officer-{run}-{n}", officer=True) for n in range(2)]
    notice = bench.benchmark_notice(officer=officers[0], categories=CATEGORIES)
    for app_id, categories in ALLOWED.items():
        AllowedApplication.objects.get_or_create(
            app_id=app_id, defaults={"display_name": app_id, "categories": categories}
        )
    for category in CATEGORIES:
        RetentionRule.objects.get_or_create(category=category, defaults={"max_age_days": 30})
    subjects = []
    for number in range(SUBJECTS):
        employee = UserFactory(actor="system:bench", username=f"bench-{run}-{number}", employee=True)
        consent_grant(employee=employee, categories=CATEGORIES, notice_version=notice.version)
        subjects.append((employee, subject_for_employee(employee)))
    start = time.time() - 86400
    events = _store(subjects, _uploads(EVENTS // SUBJECTS, start))

    requester = UserFactory(actor="system:bench", username=f"bench-requester-{run}", requester=True)
    request = data_request_submit(
        requester=requester,
        categories=CATEGORIES,
        apps=APPS,
        since=datetime.fromtimestamp(start - 3600, tz=UTC),
        until=timezone.now() - timedelta(seconds=1),
        purpose="agent-training",
        justification="Benchmark: the whole captured dataset, every category, both applications.",
    )
    for officer in officers:
        data_request_review(officer=officer, request=request, approve=True, reason="Benchmark approval.")
    grant = Grant.objects.get(request=request)
    return str(grant.id), str(requester.pk), events, EventChunk.objects.count()


# --- measured in a fresh interpreter ------------------------------------------------------


def _status(field: str) -> int:
    """A VmRSS/VmHWM line of /proc/self/status, in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _measure_export(grant_id: str, requester_id: str) -> dict:
    from access.models import Export, Grant
    from access.services import export_begin
    from accounts.models import User

    requester = User.objects.get(pk=requester_id)
    grant = Grant.objects.get(pk=grant_id)
    try:  # reset the peak so VmHWM is the peak of the export alone
        Path("/proc/self/clear_refs").write_text("5")
        hwm_reset = True
    except OSError:
        hwm_reset = False
    rss_before = peak = _status("VmRSS")
    cpu = time.process_time()
    started = time.perf_counter()
    stream = export_begin(actor=requester, grant=grant)
    begun = time.perf_counter()
    size = lines = 0
    for pieces, piece in enumerate(stream.chunks, 1):
        size += len(piece)
        lines += piece.count(b"\n")
        if pieces % 16 == 0:
            peak = max(peak, _status("VmRSS"))
    finished = time.perf_counter()
    cpu = time.process_time() - cpu
    peak = max(peak, _status("VmRSS"))
    hwm = _status("VmHWM") if hwm_reset else peak
    export = Export.objects.get(pk=stream.export.pk)
    assert export.manifest and lines == export.events, (lines, export.events)
    return {
        "seconds": finished - started,
        "cpu_seconds": cpu,
        "begin_seconds": begun - started,
        "events": export.events,
        "subjects": export.subjects,
        "bytes": size,
        "rss_growth": max(peak, hwm) - rss_before,
        "rss_before": rss_before,
    }


def _measure_baseline(grant_id: str) -> dict:
    """The same chunks fetched, decrypted and decoded: what any export must do before writing a byte."""
    from access.membership import data_key_of, members_now
    from access.models import Grant
    from collection import crypto
    from collection.models import EventChunk
    from collection.schema import decode_events

    request = Grant.objects.select_related("request").get(pk=grant_id).request
    cpu = time.process_time()
    started = time.perf_counter()
    members = members_now(request)
    events = 0
    for member in members:
        data_key = data_key_of(member)
        rows = (
            EventChunk.objects.filter(
                subject_id=member.subject_id, category__in=request.categories, app_id__in=request.apps
            )
            .order_by("first_ts", "pk")
            .values_list("batch_id", "category", "app_id", "nonce", "ciphertext")
        )
        for batch_id, category, app_id, nonce, ciphertext in rows.iterator(chunk_size=100):
            aad = crypto.chunk_aad(pseudonym=member.pseudonym, batch_id=str(batch_id), category=category, app_id=app_id)
            events += len(decode_events(crypto.decrypt_chunk(data_key, nonce, ciphertext, aad)))
    return {"seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu, "events": events}


def _child(argv: list[str]) -> None:
    mode, grant_id, requester_id = argv
    bench.setup_django()
    from django.db import connection

    connection.settings_dict["NAME"] = os.environ[_CHILD_DB]
    result = _measure_export(grant_id, requester_id) if mode == "export" else _measure_baseline(grant_id)
    print(json.dumps(result))


def _in_child(mode: str, grant_id: str, requester_id: str) -> dict:
    from django.db import connection, connections

    connections.close_all()
    env = {**os.environ, _CHILD_DB: str(connection.settings_dict["NAME"])}
    done = subprocess.run(
        [sys.executable, "-m", "bench.access_export", "--child", mode, grant_id, requester_id],
        cwd=_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"the {mode} process failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run() -> list[Figure]:
    bench.setup_django()
    from django.conf import settings
    from django.db import connection

    # The measuring processes read the master key from the environment: the same one.
    key = settings.MASTER_KEY or os.environ.get("MASTER_KEY") or base64.b64encode(os.urandom(32)).decode()
    settings.MASTER_KEY = os.environ["MASTER_KEY"] = key
    if connection.vendor == "sqlite" and not bench._database_ready:
        # A file, not the in-memory default, so the measuring processes see the same database.
        temporary = tempfile.mkdtemp(prefix="access-bench-")
        atexit.register(shutil.rmtree, temporary, True)  # after the run has dropped the database in it
        connection.settings_dict.setdefault("TEST", {})["NAME"] = str(Path(temporary) / "bench.sqlite3")
    vendor = bench.bench_database()
    if vendor == "sqlite" and connection.is_in_memory_db():
        raise RuntimeError("access_export needs a file database; run it first or alone (python -m bench.access_export)")

    prepared = time.perf_counter()
    grant_id, requester_id, stored, chunks = _prepare()
    prepared = time.perf_counter() - prepared

    exports, baselines = [], []
    for _ in range(ROUNDS):
        exports.append(_in_child("export", grant_id, requester_id))
        baselines.append(_in_child("baseline", grant_id, requester_id))
    events = exports[0]["events"]
    assert events == stored, (events, stored)  # the request covers everything stored
    assert all(e["events"] == events for e in exports) and all(b["events"] == events for b in baselines), (
        exports,
        baselines,
    )
    eps = statistics.median(events / e["seconds"] for e in exports)
    base_eps = statistics.median(events / b["seconds"] for b in baselines)
    ratio = statistics.median(
        (events / e["seconds"]) / (events / b["seconds"]) for e, b in zip(exports, baselines, strict=True)
    )
    growth = max(e["rss_growth"] for e in exports) / 2**20
    begin = statistics.median(e["begin_seconds"] for e in exports)
    size = exports[0]["bytes"]

    throughput = Figure(NAME, eps, "events/s", f"≥ {TARGET_EPS:,.0f} events/s", eps >= TARGET_EPS)
    throughput.ratios["fetch + decrypt + decode of the same chunks, nothing written (events/s)"] = ratio
    throughput.notes += [
        f"{vendor}; {events:,} events of {exports[0]['subjects']} subjects in {chunks:,} chunks"
        f" (≤ {PER_UPLOAD:,} events each, 5 categories × 2 apps); set up in {prepared:.0f} s",
        f"{size / 2**20:,.0f} MiB of JSON Lines, {size / events:.0f} bytes/event;"
        f" median of {ROUNDS} rounds: export {eps:,.0f} events/s, baseline {base_eps:,.0f} events/s",
        "CPU time of the process alone (the machine is shared), median: export"
        f" {statistics.median(events / e['cpu_seconds'] for e in exports):,.0f} events per CPU-second,"
        f" baseline {statistics.median(events / b['cpu_seconds'] for b in baselines):,.0f}",
        "per round (export, baseline events/s): "
        + ", ".join(
            f"({events / e['seconds']:,.0f}, {events / b['seconds']:,.0f})"
            for e, b in zip(exports, baselines, strict=True)
        ),
    ]
    memory = Figure(
        "dataset export: RSS growth while streaming",
        growth,
        "MiB",
        f"≤ {TARGET_RSS_MIB:.0f} MiB",
        growth <= TARGET_RSS_MIB,
    )
    memory.notes.append(
        f"largest over {ROUNDS} rounds, from {exports[0]['rss_before'] / 2**20:.0f} MiB before export_begin"
        " (VmRSS sampled every MiB served, and VmHWM reset before the export)"
    )
    counting = Figure("dataset export: export_begin (membership, counting pass, audit)", begin * 1000, "ms")
    counting.ratios["share of the whole export"] = begin / statistics.median(e["seconds"] for e in exports)
    return [throughput, memory, counting]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2:])
    else:
        bench.main_standalone(run)
