"""The database-backed tree gives the same roots and proofs as the tree in memory."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit import merkle
from audit.models import AuditEntry, AuditNode, AuditTreeState
from audit.selectors import log_size
from audit.tree import StoredTree, tree_sync


@pytest.fixture
def small_cache(monkeypatch):
    """Cache subtrees of 4 leaves and up, so a few dozen entries exercise every path."""
    monkeypatch.setattr("audit.tree.CACHE_LEVEL", 2)


def _memory_tree() -> merkle.ListTree:
    return merkle.ListTree([bytes(h) for h in AuditEntry.objects.order_by("seq").values_list("leaf_hash", flat=True)])


@pytest.mark.django_db
def test_stored_roots_and_proofs_equal_the_in_memory_ones(record, small_cache):
    record(37)
    tree_sync(log_size())
    tree = StoredTree(log_size())
    memory = _memory_tree()
    assert tree.size == 37
    assert AuditTreeState.objects.get().size == 36
    for size in range(1, 38):
        assert tree.root(size) == memory.root(size)
        for index in {0, size // 2, size - 1}:
            proof, leaf_hash, r = tree.inclusion_proof(index, size)
            assert proof == memory.inclusion_proof(index, size)
            merkle.verify_inclusion(index, size, leaf_hash, proof, r)
        for first in {0, 1, size // 3, size - 1, size}:
            proof, r1, r2 = tree.consistency_proof(first, size)
            assert proof == memory.consistency_proof(first, size)
            merkle.verify_consistency(first, size, proof, r1, r2)


@pytest.mark.django_db
def test_sync_is_incremental_and_stores_every_complete_subtree(record, small_cache):
    record(10)
    assert tree_sync(log_size()) == 8
    assert sorted(AuditNode.objects.values_list("level", "index")) == [(2, 0), (2, 1), (3, 0)]
    record(9)
    assert tree_sync(log_size()) == 16
    assert sorted(AuditNode.objects.values_list("level", "index")) == [
        (2, 0),
        (2, 1),
        (2, 2),
        (2, 3),
        (3, 0),
        (3, 1),
        (4, 0),
    ]
    memory = _memory_tree()
    for level, index, h in AuditNode.objects.values_list("level", "index", "hash"):
        assert bytes(h) == memory.perfect_hash(index << level, (index + 1) << level)


@pytest.mark.django_db
def test_a_proof_reads_a_handful_of_rows(record, small_cache):
    record(300)
    tree_sync(log_size())
    tree = StoredTree(log_size())
    with CaptureQueriesContext(connection) as queries:
        proof, _, _ = tree.inclusion_proof(123, 300)
        tree.consistency_proof(77, 300)
    assert len(queries) <= 4
    assert len(proof) == 9


@pytest.mark.django_db
def test_empty_log_has_the_empty_root():
    tree = StoredTree(log_size())
    assert tree.size == 0
    assert tree.root() == merkle.EMPTY_ROOT


@pytest.mark.django_db
def test_proofs_beyond_the_cache_are_computed_from_leaves_without_writing(record, small_cache):
    record(9)
    tree_sync(log_size())
    record(6)
    memory = _memory_tree()
    with CaptureQueriesContext(connection) as queries:
        tree = StoredTree(log_size())
        assert tree.root() == memory.root(15)
        assert tree.inclusion_proof(13, 15)[0] == memory.inclusion_proof(13, 15)
    assert not [q for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    assert AuditTreeState.objects.get().size == 8
