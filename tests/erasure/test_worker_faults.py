"""Erasure under faults, with real Celery workers on Redis and PostgreSQL (no eager mode).

Each test starts ``celery worker`` subprocesses (``tests/erasure/_fault_worker``)
on the test database and a Redis broker, on a queue of its own, and drives
them through a fault: a worker killed with SIGKILL between the two erasure
steps, the same task delivered twice at once, the broker restarted while
requests are pending, the database connection cut mid-task.  Waits poll the
database (or the worker's log) against a deadline; workers and servers are
stopped in a ``finally``.  Durations are printed (``-s``) for the report.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable

from audit.models import AuditEntry
from collection import crypto
from collection.models import Batch, EventChunk, SubjectKey
from collection.services import device_enroll
from collection.services.storage import data_key_for_update
from consent.services import consent_grant, subject_for_employee
from erasure.models import DeletionReceipt, ErasureRequest
from erasure.receipts import data_key_id, receipt_claims
from erasure.services import consent_withdraw_with_erasure
from tests.conftest import ALL_CATEGORIES, make_user

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
ERASE = "erasure.tasks.erase_subject_task"
SWEEP = "erasure.tasks.process_erasures_task"
DEADLINE = 60.0  # seconds; a loaded 2-core machine starts a worker in a few
CHUNKS = 3
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def wait_for(what: str, check: Callable[[], Any], timeout: float = DEADLINE) -> Any:
    """Poll ``check`` until it returns something true, or fail naming ``what`` after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A private redis-server on its own port, which the test may stop and start again."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(f"redis-server on {self.port}", self._answers, timeout=30)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self.proc = None


class Worker:
    """One ``celery worker`` process; solo pool (the task runs in the process a test kills) or prefork."""

    def __init__(
        self,
        *,
        name: str,
        broker: str,
        queue: str,
        fault_dir: Path,
        settings: Any,
        pool: str = "solo",
        visibility_timeout: int = 2,
    ) -> None:
        db = connection.settings_dict
        database_url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,  # the test database pytest-django created
            "DATABASE_CONN_MAX_AGE": "0",
            "CELERY_BROKER_URL": broker,
            "FAULT_QUEUE": queue,
            "FAULT_DIR": str(fault_dir),
            "SIGNING_KEY_DIR": str(settings.SIGNING_KEY_DIR),
            "MASTER_KEY_FILE": str(settings.MASTER_KEY_FILE),
            "MASTER_KEY": "",
            # Redelivery of a dead worker's message after 2 s, not an hour.
            "CELERY_VISIBILITY_TIMEOUT_SECONDS": str(visibility_timeout),
        }
        self.log = fault_dir / f"{name}.log"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.erasure._fault_worker",
                f"--pool={pool}",
                "--concurrency=1",
                "--loglevel=INFO",
                f"--hostname={name}@faults",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def ready(self) -> None:
        def up() -> bool:
            assert self.proc.poll() is None, f"worker exited early:\n{self.text()}"
            return " ready." in self.text()

        wait_for(f"{self.log.name} to be ready", up)

    def results(self) -> list[str]:
        return re.findall(rf"{ERASE}\[[^\]]+\] succeeded in [\d.]+s: (True|False)", self.text())

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)


@pytest.fixture
def faults(tmp_path, settings, transactional_db) -> Iterator[Any]:
    """Start workers and a private Redis, and send tasks; everything started is stopped afterwards."""
    folder = tmp_path / "faults"
    folder.mkdir()
    queue = f"faults-{uuid.uuid4().hex[:12]}"
    workers: list[Worker] = []
    servers: list[RedisServer] = []
    clients: list[Celery] = []

    class Faults:
        dir = folder

        def worker(self, name: str, broker: str = settings.CELERY_BROKER_URL, **options: Any) -> Worker:
            worker = Worker(name=name, broker=broker, queue=queue, fault_dir=folder, settings=settings, **options)
            workers.append(worker)
            worker.ready()
            return worker

        def redis(self) -> RedisServer:
            server = RedisServer(folder)
            servers.append(server)
            server.start()
            return server

        def send(self, task: str, *args: str, broker: str = settings.CELERY_BROKER_URL) -> None:
            client = Celery("fault-client", set_as_current=False)
            clients.append(client)
            # An explicit connection: Celery prefers the CELERY_BROKER_URL environment over broker=.
            with client.connection_for_write(broker) as conn:
                client.send_task(task, args=list(args), queue=queue, connection=conn)

        def pause(self, n: int) -> Path:
            path = folder / f"pause-{n}"
            path.touch()
            return path

        def reached(self, n: int) -> bool:
            return (folder / f"reached-{n}").exists()

    try:
        yield Faults()
    finally:
        for worker in workers:
            worker.kill()
        for client in clients:
            client.close()
        for server in servers:
            server.stop()
        # The shared test broker keeps nothing of this test's queue.
        with redis.Redis.from_url(settings.CELERY_BROKER_URL) as shared:
            shared.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


@pytest.fixture(autouse=True)
def _master_key(settings):
    settings.MASTER_KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
    settings.MASTER_KEY_FILE.write_text(base64.b64encode(os.urandom(32)).decode())
    settings.MASTER_KEY = ""
    settings.MASTER_KEY_AUTOCREATE = False


@pytest.fixture
def no_erasure_messages(monkeypatch):
    """The request's own message is not sent from the test process: each test sends (or loses) it itself."""
    monkeypatch.setattr("erasure.tasks.erase_subject_task.delay", lambda request_id: None)


def employee_with_data(username: str, notice: Any) -> tuple[Any, Any, str]:
    """An employee who consented, with ``CHUNKS`` chunks stored; (employee, subject, the data key's public id)."""
    employee = make_user(username, "employee")
    consent_grant(employee=employee, categories=ALL_CATEGORIES, notice_version=notice.version)
    device, _secret = device_enroll(employee=employee, name="Work laptop", platform="macos")
    subject = subject_for_employee(employee)
    with transaction.atomic():
        key = data_key_for_update(subject)
        stored = Batch.objects.create(
            batch_id=uuid.uuid4(),
            subject=subject,
            device=device,
            body_digest="0" * 64,
            response={},
            received_at=timezone.now(),
        )
        for category in ["mouse", "clicks", "app_focus"][:CHUNKS]:
            aad = crypto.chunk_aad(
                pseudonym=subject.pseudonym, batch_id=str(stored.batch_id), category=category, app_id="app"
            )
            nonce, ciphertext = crypto.encrypt_chunk(key, b"[]", aad)
            now = timezone.now()
            EventChunk.objects.create(
                subject=subject,
                batch=stored,
                category=category,
                app_id="app",
                count=2,
                first_ts=now,
                last_ts=now,
                nonce=nonce,
                ciphertext=ciphertext,
            )
    wrapped = SubjectKey.objects.values_list("wrapped_key", flat=True).get(subject=subject)
    return employee, subject, data_key_id(wrapped)


def steps(subject: Any) -> list[str]:
    return list(
        AuditEntry.objects.filter(target=f"subject:{subject.pseudonym}")
        .filter(Q(action__startswith="erasure.") | Q(action__startswith="collection.erase."))
        .order_by("seq")
        .values_list("action", flat=True)
    )


def receipt_of(request: ErasureRequest) -> DeletionReceipt | None:
    return DeletionReceipt.objects.filter(request=request).first()


def assert_erased_once(request: ErasureRequest, subject: Any, key_id: str) -> None:
    """Done, with one entry per step, one receipt naming the destroyed key, and nothing of the subject left."""
    request.refresh_from_db()
    assert request.status == ErasureRequest.Status.DONE
    assert not SubjectKey.objects.filter(subject=subject).exists()
    assert not EventChunk.objects.filter(subject=subject).exists()
    assert not Batch.objects.filter(subject=subject).exists()
    assert steps(subject) == [
        "erasure.requested",
        "collection.erase.key_destroyed",
        "collection.erase.ciphertext_deleted",
        "erasure.completed",
    ]
    assert DeletionReceipt.objects.filter(request=request).count() == 1
    claims = receipt_claims(receipt_of(request))
    assert claims["erasure_request"] == str(request.pk)
    assert claims["data_key_id"] == key_id and claims["data_key_destroyed_at"]
    assert (claims["chunks"], claims["events"]) == (CHUNKS, CHUNKS * 2)
    completed = AuditEntry.objects.get(action="erasure.completed", detail__erasure_request_id=str(request.pk))
    assert completed.seq == claims["audit_seq"]


def report(what: str, started: float) -> None:
    print(f"\n[fault figures] {what}: {time.monotonic() - started:.2f}s")


def test_worker_killed_after_the_key_is_destroyed_is_finished_by_the_next_worker(
    faults, notice, allowlist, no_erasure_messages
):
    alice, subject, key_id = employee_with_data("alice", notice)
    _event, request = consent_withdraw_with_erasure(employee=alice)
    pause = faults.pause(1)
    first = faults.worker("first")
    started = time.monotonic()
    faults.send(ERASE, str(request.pk))
    wait_for("the first worker to stop between the two steps", lambda: faults.reached(1))

    # The window: the key's destruction has committed, the ciphertext is still there.
    request.refresh_from_db()
    assert request.status == ErasureRequest.Status.PENDING
    assert not SubjectKey.objects.filter(subject=subject).exists()
    assert EventChunk.objects.filter(subject=subject).count() == CHUNKS
    assert steps(subject).count("collection.erase.key_destroyed") == 1

    first.kill()
    pause.unlink()
    second = faults.worker("second")
    # The message was never acknowledged: Redis hands it to the new worker after the visibility timeout.
    wait_for("the erasure and its receipt", lambda: receipt_of(request))
    report("SIGKILL between key and ciphertext, redelivered to a new worker", started)
    assert_erased_once(request, subject, key_id)
    assert second.results() == ["True"]
    assert first.results() == []


def test_a_pool_process_killed_mid_erasure_puts_the_task_back_on_the_queue(
    faults, notice, allowlist, no_erasure_messages
):
    alice, subject, key_id = employee_with_data("alice", notice)
    _event, request = consent_withdraw_with_erasure(employee=alice)
    pause = faults.pause(1)
    # A visibility timeout far beyond the test: only the requeue on the lost pool process can deliver it again.
    worker = faults.worker("prefork", pool="prefork", visibility_timeout=3600)
    started = time.monotonic()
    faults.send(ERASE, str(request.pk))
    wait_for("the pool process to stop between the two steps", lambda: faults.reached(1))
    child = int((faults.dir / "reached-1").read_text())
    assert child != worker.proc.pid

    os.kill(child, signal.SIGKILL)
    pause.unlink()
    # reject_on_worker_lost: the message goes back on the queue at once and a new pool process runs it
    # (without it, it waits in Redis's unacked set for the visibility timeout).
    wait_for("the erasure and its receipt", lambda: receipt_of(request))
    report("pool process SIGKILLed between key and ciphertext, requeued", started)
    assert "WorkerLostError" in worker.text()
    assert worker.proc.poll() is None
    assert_erased_once(request, subject, key_id)


def test_the_same_erasure_delivered_twice_at_once_erases_once(faults, notice, allowlist, no_erasure_messages):
    alice, subject, key_id = employee_with_data("alice", notice)
    _event, request = consent_withdraw_with_erasure(employee=alice)
    pause = faults.pause(1)
    one, two = faults.worker("one"), faults.worker("two")
    started = time.monotonic()
    faults.send(ERASE, str(request.pk))
    faults.send(ERASE, str(request.pk))
    # One worker holds the request between the steps while the other has the second delivery.
    wait_for("one worker between the steps", lambda: faults.reached(1))
    wait_for("both deliveries to be received", lambda: all(f"{ERASE}[" in w.text() for w in (one, two)))
    pause.unlink()
    wait_for("the erasure and its receipt", lambda: receipt_of(request))
    wait_for("both runs to finish", lambda: {"True", "False"} <= set(one.results() + two.results()))
    report("same task twice on two workers", started)
    # One run erased; the other found the request taken or done.  (Each worker ran one of them.)
    assert (one.results() + two.results()).count("True") == 1
    assert one.results() and two.results()
    assert_erased_once(request, subject, key_id)


def test_requests_pending_while_redis_restarts_are_finished_by_the_sweep(faults, notice, allowlist, monkeypatch):
    broker = faults.redis()
    worker = faults.worker("sweeper", broker=broker.url)
    alice, alice_subject, alice_key = employee_with_data("alice", notice)
    bob, bob_subject, bob_key = employee_with_data("bob", notice)

    broker.stop()
    started = time.monotonic()

    def broker_down(request_id: str) -> None:
        raise BrokerUnavailable("Error 111 connecting to the broker. Connection refused.")

    # The requests commit while the broker is down: their messages are lost (the commit hook is robust).
    monkeypatch.setattr("erasure.tasks.erase_subject_task.delay", broker_down)
    _event, alice_request = consent_withdraw_with_erasure(employee=alice)
    _event, bob_request = consent_withdraw_with_erasure(employee=bob)
    assert set(ErasureRequest.objects.values_list("status", flat=True)) == {ErasureRequest.Status.PENDING}

    broker.start()  # empty: what was queued before is gone, as after a crash without persistence
    # The same worker reconnects by itself; then the sweep comes, as beat sends it every
    # ERASURE_SWEEP_INTERVAL_SECONDS, and finds the requests pending in the database.
    wait_for("the worker to reconnect", lambda: worker.text().count("Connected to redis") >= 2)
    faults.send(SWEEP, broker=broker.url)
    wait_for("both erasures and their receipts", lambda: DeletionReceipt.objects.count() == 2)
    report("Redis stopped, requests made, Redis restarted, sweep", started)
    assert worker.proc.poll() is None  # the same worker reconnected
    assert_erased_once(alice_request, alice_subject, alice_key)
    assert_erased_once(bob_request, bob_subject, bob_key)


def test_a_database_connection_cut_mid_erasure_is_retried_and_nothing_is_marked_done_early(
    faults, notice, allowlist, no_erasure_messages
):
    alice, subject, key_id = employee_with_data("alice", notice)
    _event, request = consent_withdraw_with_erasure(employee=alice)
    first_try, retry = faults.pause(1), faults.pause(2)
    worker = faults.worker("flaky")
    started = time.monotonic()
    faults.send(ERASE, str(request.pk))
    wait_for("the worker between the steps", lambda: faults.reached(1))

    # Cut the worker's database connection while it holds the request, as a database restart would.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchone()[0] >= 1
    first_try.unlink()
    wait_for("the retry", lambda: faults.reached(2))

    # The failed attempt changed nothing beyond the committed first step.
    request.refresh_from_db()
    assert request.status == ErasureRequest.Status.PENDING and request.completed_at is None
    assert EventChunk.objects.filter(subject=subject).count() == CHUNKS
    assert steps(subject).count("collection.erase.key_destroyed") == 1
    assert "collection.erase.ciphertext_deleted" not in steps(subject)
    assert "erasure.completed" not in steps(subject)
    assert "Retry in" in worker.text()

    retry.unlink()
    wait_for("the erasure and its receipt", lambda: receipt_of(request))
    report("database connection terminated mid-task, retried", started)
    assert_erased_once(request, subject, key_id)
