"""PostgreSQL: appends go to a queue without waiting; rounds number it in commit order, without gaps."""

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


def _open_writer(action: str):
    """A thread that appends in a transaction and keeps it open until released."""
    appended, release = threading.Event(), threading.Event()

    def writer():
        with transaction.atomic():
            assert audit_record(actor="user:open", action=action, target="t:open").seq is None
            appended.set()
            release.wait(30)

    thread = _in_thread(writer)
    assert appended.wait(30)
    return thread, release


def _actions() -> list[tuple[int, str]]:
    return list(AuditEntry.numbered.order_by("seq").values_list("seq", "action"))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_append_never_waits_and_entries_are_numbered_in_commit_order(postgres_only, monkeypatch):
    audit_record(actor="system", action="a.first", target="t:0")
    thread, release = _open_writer("a.slow")  # queued first, commits last
    monkeypatch.setattr(sequencing, "_last_round", float("-inf"))
    assert audit_record(actor="user:fast", action="a.fast", target="t:2").seq is None  # autocommit
    # Its own after-commit round numbered it; the open transaction's entry is not visible yet.
    assert log_size() == 2
    assert AuditPending.objects.count() == 0
    monkeypatch.setattr(sequencing, "_last_round", float("-inf"))
    release.set()
    thread.join(30)
    # The slow writer numbered its entry after its commit (no reader involved).
    assert log_size() == 3
    assert _actions() == [(0, "a.first"), (1, "a.fast"), (2, "a.slow")]
    entry = AuditEntry.numbered.get(seq=2)
    assert entry.leaf.encode() == rfc8785.dumps(json.loads(entry.leaf))
    assert bytes(entry.leaf_hash) == merkle.hash_leaf(entry.leaf.encode())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_process_numbers_at_most_once_per_interval_and_readers_number_the_rest(postgres_only, monkeypatch):
    monkeypatch.setattr(sequencing, "SEQUENCE_INTERVAL", 3600.0)
    monkeypatch.setattr(sequencing, "_last_round", float("-inf"))
    audit_record(actor="system", action="a.first", target="t:0")  # numbered by its own round
    audit_record(actor="user:second", action="a.second", target="t:1")
    audit_record(actor="user:third", action="a.third", target="t:2")
    # No more rounds from this process within the interval: the entries wait in the queue ...
    assert log_size() == 1
    assert AuditPending.objects.count() == 2
    # ... and whoever reads the log numbers them first.
    assert current_log_size() == 3
    assert not AuditPending.objects.exists()
    assert _actions() == [(0, "a.first"), (1, "a.second"), (2, "a.third")]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_queue_floor_waits_for_a_transaction_that_is_still_open(postgres_only):
    """Queue ids are taken at insert, not at commit: an old open transaction's entry must not be skipped."""
    audit_record(actor="system", action="a.first", target="t:0")
    thread, release = _open_writer("a.slow")
    assert not AuditPending.objects.exists()  # not visible: it has not committed
    # Many later entries are queued and numbered while the slow one stays open.
    for i in range(5):
        for j in range(3):
            audit_record(actor="user:queued", action="a.queue", target=f"t:{i}:{j}")
        current_log_size()
    size = log_size()
    assert size == 1 + 5 * 3
    release.set()
    thread.join(30)
    slow_id = AuditPending.objects.get().id
    assert slow_id >= AuditHead.objects.get().queue_floor  # the floor did not pass it
    assert current_log_size() == size + 1
    assert AuditEntry.numbered.get(seq=size).action == "a.slow"
    # With nothing open any more, the floor catches up: later lookups skip the numbered ids.
    for i in range(3):
        audit_record(actor="system", action="a.tick", target=f"t:tick:{i}")
        current_log_size()
    assert AuditHead.objects.get().queue_floor > slow_id


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_append_leaves_no_gap(postgres_only):
    audit_record(actor="system", action="a.first", target="t:0")
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor="user:undone", action="a.undone", target="t:1")
        raise RuntimeError("roll back")
    audit_record(actor="user:kept", action="a.kept", target="t:2")
    assert current_log_size() == 2
    assert _actions() == [(0, "a.first"), (1, "a.kept")]


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
def test_leaves_built_in_the_database_are_canonical_and_give_back_the_filter_columns(postgres_only):
    assert audit_record(**TRICKY_FIELDS).seq is None
    assert current_log_size() == 1
    _assert_stored_like(AuditEntry.objects.get(seq=0))


@pytest.mark.postgres
@pytest.mark.django_db
def test_appends_work_without_prepared_statements(postgres_only, settings):
    """Behind a pooler that cannot keep prepared statements, the append binds on the server unprepared."""
    settings.DATABASE_PREPARED_STATEMENTS = False
    connection.ensure_connection()
    connection.connection.prepare_threshold = None  # as the settings leave it when the flag is off
    for i in range(8):
        audit_record(actor="system", action="a.b", target=f"t:{i}")
    assert current_log_size() == 8
    assert [e.target for e in AuditEntry.objects.all()] == [f"t:{i}" for i in range(8)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone()[0] == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_append_has_its_transaction_id_before_its_queue_id(postgres_only):
    """The queue floor relies on it; the planner must not be able to reorder it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION test_probe_xid_first() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF pg_current_xact_id_if_assigned() IS NULL THEN "
            "RAISE EXCEPTION 'queue id % taken before the transaction id', NEW.id; END IF; "
            "RETURN NEW; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER test_probe_xid_first BEFORE INSERT ON audit_auditpending "
            "FOR EACH ROW EXECUTE FUNCTION test_probe_xid_first()"
        )
    try:
        for i in range(10):  # each the first write of its own transaction (autocommit)
            audit_record(actor="system", action="a.b", target=f"t:{i}")
        with transaction.atomic(), transaction.atomic():  # in a savepoint, too
            audit_record(actor="system", action="a.b", target="t:nested")
        assert current_log_size() == 11
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER test_probe_xid_first ON audit_auditpending")
            cursor.execute("DROP FUNCTION test_probe_xid_first()")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_queue_sequence_that_went_back_is_noticed_and_nothing_is_lost(postgres_only, caplog):
    for i in range(5):
        audit_record(actor="system", action="a.b", target=f"t:{i}")
        current_log_size()
    assert AuditHead.objects.get().queue_floor > 1
    with connection.cursor() as cursor:  # what `manage.py sqlsequencereset audit` does to an empty queue
        cursor.execute("SELECT setval('audit_auditpending_id_seq', 1, false)")
    audit_record(actor="system", action="a.after_reset", target="t:5")
    assert current_log_size() == 6
    assert AuditEntry.numbered.get(seq=5).action == "a.after_reset"
    assert "went back below the floor" in caplog.text


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_rounds_are_bounded_and_the_floor_only_passes_what_was_numbered(postgres_only, monkeypatch):
    monkeypatch.setattr(sequencing, "NUMBER_BATCH", 3)
    monkeypatch.setattr(sequencing, "SEQUENCE_INTERVAL", 3600.0)
    monkeypatch.setattr(sequencing, "_last_round", 0.0)
    monkeypatch.setattr(sequencing.time, "monotonic", lambda: 1.0)  # no after-commit rounds
    for i in range(8):
        audit_record(actor="system", action="a.b", target=f"t:{i}")
    assert sequencing._sequence_round(wait_for_disk=True) == 3
    assert current_log_size() == 8
    assert [t for t in AuditEntry.numbered.values_list("target", flat=True)] == [f"t:{i}" for i in range(8)]
    assert not AuditPending.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_queue_itself_refuses_what_could_not_be_numbered(postgres_only):
    from django.db import DatabaseError

    from audit.pg_functions import ENQUEUE

    for prefix in (
        '{"action":"a","actor":"' + "x" * 201 + '","detail":{}',
        '{"action":"a","actor":"b","detail":[]',
        "{",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                ENQUEUE, {"ts": "2026-01-01T00:00:00Z", "prefix": prefix, "suffix": ',"target":"t","ts":"x"}'}
            )
    assert not AuditPending.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_checkpoint_task_sweeps_below_the_floor_so_nothing_is_ever_lost(postgres_only, monkeypatch, caplog):
    from audit.services import checkpoint_create

    monkeypatch.setattr(sequencing, "SEQUENCE_INTERVAL", 3600.0)
    monkeypatch.setattr(sequencing, "_last_round", float("inf"))  # no after-commit rounds
    audit_record(actor="system", action="a.first", target="t:0")
    assert current_log_size() == 1
    audit_record(actor="system", action="a.stranded", target="t:1")
    with connection.cursor() as cursor:  # as if a bug had moved the floor past a committed entry
        cursor.execute(
            "UPDATE audit_audithead SET queue_floor = "
            "(SELECT last_value + 1 FROM audit_auditpending_id_seq), queue_mark_xmax = 0"
        )
    assert current_log_size() == 1  # readers look above the floor only
    checkpoint = checkpoint_create()
    assert checkpoint.size == 2
    assert _actions() == [(0, "a.first"), (1, "a.stranded")]
    assert "below the queue floor" in caplog.text
