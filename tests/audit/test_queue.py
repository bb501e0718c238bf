"""PostgreSQL: a writer that finds the head row held queues its entry instead of waiting."""

from __future__ import annotations

import json
import threading

import pytest
import rfc8785
from django.db import connection, connections, transaction

from audit import merkle, sequencing
from audit.models import AuditEntry, AuditHead, AuditPending
from audit.sequencing import current_log_size, log_size
from audit.services import audit_record


def _in_thread(target) -> threading.Thread:
    def wrapped():
        try:
            target()
        finally:
            connections.close_all()

    thread = threading.Thread(target=wrapped)
    thread.start()
    return thread


def _hold_the_head_row(action: str = "a.hold"):
    """A thread that appends (taking the free head row) and keeps its transaction open until released."""
    holding, release, results = threading.Event(), threading.Event(), {}

    def holder():
        with transaction.atomic():
            results["seq"] = audit_record(actor="user:holder", action=action, target="t:1").seq
            holding.set()
            release.wait(30)

    thread = _in_thread(holder)
    assert holding.wait(30)
    return thread, release, results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_writer_queues_behind_a_held_head_row_and_the_holder_numbers_it_after_commit(postgres_only, monkeypatch):
    audit_record(actor="system", action="a.first", target="t:0")
    thread, release, results = _hold_the_head_row()
    queued = audit_record(actor="user:queued", action="a.queue", target="t:2")  # autocommit: commits at once
    assert queued.seq is None
    assert AuditPending.objects.count() == 1
    assert AuditHead.objects.get().size == 1  # the holder has not committed yet
    monkeypatch.setattr(sequencing, "_last_round", float("-inf"))  # no round in this process just now
    release.set()
    thread.join(30)
    # The holder numbered the queue after its commit (no reader involved): commit order, no gap.
    assert results["seq"] == 1
    assert AuditHead.objects.get().size == 3
    assert list(AuditEntry.objects.order_by("seq").values_list("seq", "action")) == [
        (0, "a.first"),
        (1, "a.hold"),
        (2, "a.queue"),
    ]
    assert not AuditPending.objects.exists()
    entry = AuditEntry.objects.get(seq=2)
    assert entry.leaf.encode() == rfc8785.dumps(json.loads(entry.leaf))
    assert bytes(entry.leaf_hash) == merkle.hash_leaf(entry.leaf.encode())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_process_numbers_at_most_once_per_interval_and_readers_number_the_rest(postgres_only, monkeypatch):
    monkeypatch.setattr(sequencing, "SEQUENCE_INTERVAL", 3600.0)
    audit_record(actor="system", action="a.first", target="t:0")  # its round counts as this process's last
    thread, release, _ = _hold_the_head_row()
    audit_record(actor="user:queued", action="a.queue", target="t:2")
    release.set()
    thread.join(30)
    # Neither after-commit round ran: the entry waits in the queue ...
    assert AuditPending.objects.count() == 1
    assert log_size() == 2
    # ... and whoever reads the log numbers it first.
    assert current_log_size() == 3
    assert not AuditPending.objects.exists()
    assert AuditEntry.objects.get(seq=2).action == "a.queue"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_queue_floor_waits_for_a_transaction_that_is_still_open(postgres_only):
    """Queue ids are taken at insert, not at commit: an old open transaction's entry must not be skipped."""
    audit_record(actor="system", action="a.first", target="t:0")
    thread, release, _ = _hold_the_head_row()
    slow_queued, finish_slow = threading.Event(), threading.Event()

    def slow_writer():
        with transaction.atomic():
            assert audit_record(actor="user:slow", action="a.slow", target="t:slow").seq is None
            slow_queued.set()
            finish_slow.wait(30)

    slow = _in_thread(slow_writer)
    assert slow_queued.wait(30)
    assert not AuditPending.objects.exists()  # not visible: it has not committed
    release.set()
    thread.join(30)
    # Many later entries queue and are numbered while the slow one stays open.
    for i in range(5):
        thread, release, _ = _hold_the_head_row(action=f"a.hold{i}")
        for j in range(3):
            audit_record(actor="user:queued", action="a.queue", target=f"t:{i}:{j}")
        release.set()
        thread.join(30)
        current_log_size()
    head = AuditHead.objects.get()
    assert head.size == 1 + 1 + 5 * 4
    finish_slow.set()
    slow.join(30)
    slow_id = AuditPending.objects.get().id
    assert slow_id >= AuditHead.objects.get().queue_floor  # the floor did not pass it
    assert current_log_size() == head.size + 1
    assert AuditEntry.objects.get(seq=head.size).action == "a.slow"
    # With nothing open any more, the floor catches up: later lookups skip the numbered ids.
    for i in range(3):
        audit_record(actor="system", action="a.tick", target=f"t:tick:{i}")
        current_log_size()
    assert AuditHead.objects.get().queue_floor > slow_id


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_holder_gives_its_number_to_the_queue(postgres_only):
    audit_record(actor="system", action="a.first", target="t:0")
    holding, release = threading.Event(), threading.Event()

    def holder():
        with pytest.raises(RuntimeError), transaction.atomic():
            audit_record(actor="user:holder", action="a.hold", target="t:1")
            holding.set()
            release.wait(30)
            raise RuntimeError("roll back")

    thread = _in_thread(holder)
    assert holding.wait(30)
    assert audit_record(actor="user:queued", action="a.queue", target="t:2").seq is None
    release.set()
    thread.join(30)
    current_log_size()
    assert list(AuditEntry.objects.values_list("seq", "action")) == [(0, "a.first"), (1, "a.queue")]


TRICKY = {
    "quote": 'a"b\\c',
    "ctl": "\x01\x1f\t\n",
    "uni": "é€😀\u2028",
    "num": [1, 2.5, -0.0, 1e21],
    "z": None,
    "A": True,
}
TRICKY_FIELDS = {"actor": "user:élodie", "action": "x.y", "target": 'app:"odd"\\name\u2029', "detail": TRICKY}


def _assert_stored_like(stored: AuditEntry) -> None:
    assert stored.leaf.encode() == rfc8785.dumps(json.loads(stored.leaf))
    assert bytes(stored.leaf_hash) == merkle.hash_leaf(stored.leaf.encode())
    for name in ("actor", "action", "target"):
        assert getattr(stored, name) == TRICKY_FIELDS[name]
    assert stored.detail == json.loads(stored.leaf)["detail"] == json.loads(json.dumps(TRICKY))


@pytest.mark.postgres
@pytest.mark.django_db
def test_leaves_built_in_the_database_are_canonical(postgres_only):
    entry = audit_record(**TRICKY_FIELDS)
    stored = AuditEntry.objects.get(seq=entry.seq)
    assert stored.leaf == entry.leaf
    _assert_stored_like(stored)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_queued_entries_get_their_filter_columns_back_from_the_leaf(postgres_only):
    audit_record(actor="system", action="a.first", target="t:0")
    thread, release, _ = _hold_the_head_row()
    assert audit_record(**TRICKY_FIELDS).seq is None
    release.set()
    thread.join(30)
    assert current_log_size() == 3
    _assert_stored_like(AuditEntry.objects.get(seq=2))


@pytest.mark.postgres
@pytest.mark.django_db
def test_appends_work_without_prepared_statements(postgres_only, settings):
    """Behind a pooler that cannot keep prepared statements, the append binds on the server unprepared."""
    settings.DATABASE_PREPARED_STATEMENTS = False
    connection.ensure_connection()
    connection.connection.prepare_threshold = None  # as the settings leave it when the flag is off
    entries = [audit_record(actor="system", action="a.b", target=f"t:{i}") for i in range(8)]
    assert [e.seq for e in entries] == list(range(8))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone()[0] == 0
