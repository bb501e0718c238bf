"""PostgreSQL: a writer that finds the head row held queues its entry instead of waiting."""

from __future__ import annotations

import json
import threading

import pytest
import rfc8785
from django.db import connections, transaction

from audit import merkle
from audit.models import AuditEntry, AuditHead, AuditPending
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


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_writer_queues_behind_a_held_head_row_and_is_numbered_after_commit(postgres_only):
    audit_record(actor="system", action="a.first", target="t:0")
    holding, release, results = threading.Event(), threading.Event(), {}

    def holder():
        with transaction.atomic():
            results["holder"] = audit_record(actor="user:holder", action="a.hold", target="t:1").seq
            holding.set()
            release.wait(30)

    thread = _in_thread(holder)
    assert holding.wait(30)
    queued = audit_record(actor="user:queued", action="a.queue", target="t:2")  # autocommit: commits at once
    assert queued.seq is None
    assert AuditPending.objects.count() == 1
    assert AuditHead.objects.get().size == 1  # the holder has not committed yet
    release.set()
    thread.join(30)
    # The holder drained the queue after its commit: commit order, no gap.
    assert results["holder"] == 1
    assert list(AuditEntry.objects.order_by("seq").values_list("seq", "action")) == [
        (0, "a.first"),
        (1, "a.hold"),
        (2, "a.queue"),
    ]
    assert not AuditPending.objects.exists()
    assert AuditHead.objects.get().size == 3
    entry = AuditEntry.objects.get(seq=2)
    assert entry.leaf.encode() == rfc8785.dumps(json.loads(entry.leaf))
    assert bytes(entry.leaf_hash) == merkle.hash_leaf(entry.leaf.encode())


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
    from audit.services import audit_sequence_pending

    audit_sequence_pending()
    assert list(AuditEntry.objects.values_list("seq", "action")) == [(0, "a.first"), (1, "a.queue")]


@pytest.mark.postgres
@pytest.mark.django_db
def test_leaves_built_in_the_database_are_canonical(postgres_only):
    tricky = {
        "quote": 'a"b\\c',
        "ctl": "\x01\x1f\t\n",
        "uni": "é€😀\u2028",
        "num": [1, 2.5, -0.0, 1e21],
        "z": None,
        "A": True,
    }
    entry = audit_record(actor="user:élodie", action="x.y", target='app:"odd"\\name\u2029', detail=tricky)
    stored = AuditEntry.objects.get(seq=entry.seq)
    assert stored.leaf == entry.leaf
    assert stored.leaf.encode() == rfc8785.dumps(json.loads(stored.leaf))
    assert bytes(stored.leaf_hash) == merkle.hash_leaf(stored.leaf.encode())
    assert stored.detail == json.loads(stored.leaf)["detail"]
