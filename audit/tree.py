"""The Merkle tree of the stored log, backed by the database.

Appending never touches the tree.  ``tree_sync`` brings the cache of
complete-subtree hashes (``AuditNode``, subtrees of ``2**CACHE_LEVEL`` leaves
and up) level with the log, reading only the leaves added since the last
sync.  ``StoredTree`` then answers roots and proofs for any size up to the
log's with one query for the cached nodes it needs and one for the few leaf
hashes below the cache level, so a request costs O(log n) rows however large
the log grows.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q

from audit import merkle
from audit.models import AuditEntry, AuditNode, AuditTreeState

# Subtrees of 256 leaves and more are cached: a proof needs at most a couple
# of 256-leaf blocks of leaf hashes, and the cache holds ~n/128 rows.
CACHE_LEVEL = 8
_STREAM_CHUNK = 8192


class TreeIntegrityError(RuntimeError):
    """The stored entries are not a gap-free sequence; the tree cannot be built."""


def leaf_hashes(start: int, end: int) -> Iterable[tuple[int, bytes]]:
    rows = (
        AuditEntry.objects.filter(seq__gte=start, seq__lt=end)
        .order_by("seq")
        .values_list("seq", "leaf_hash")
        .iterator(chunk_size=_STREAM_CHUNK)
    )
    for seq, h in rows:
        yield seq, bytes(h)


def tree_sync(size: int) -> int:
    """Store the hashes of every complete subtree of ``2**CACHE_LEVEL``+ leaves among the first ``size``.

    Run by whatever signs checkpoints, so the cache follows the log in
    steps; reads never write it.  Incremental and safe to call concurrently
    (the state row is locked).  Returns the size the cache now reaches, a
    multiple of ``2**CACHE_LEVEL``.
    """
    block = 1 << CACHE_LEVEL
    target = (size >> CACHE_LEVEL) << CACHE_LEVEL
    current = AuditTreeState.objects.filter(pk=1).values_list("size", flat=True).first()
    if current is not None and current >= target:
        return current
    with transaction.atomic():
        AuditTreeState.objects.bulk_create([AuditTreeState(pk=1, size=0)], ignore_conflicts=True)
        state = AuditTreeState.objects.select_for_update().get(pk=1)
        start = state.size
        if start >= target:
            return start
        frontier = _nodes([(level, (start >> (level + 1)) << 1) for level in _frontier_levels(start)], start)
        new_nodes: list[AuditNode] = []
        builder = merkle.TreeBuilder.from_frontier(
            start,
            frontier,
            on_node=lambda level, index, h: new_nodes.append(AuditNode(level=level, index=index, hash=h)),
            report_level=CACHE_LEVEL,
        )
        expected = start
        pending: list[bytes] = []
        for seq, h in leaf_hashes(start, target):
            if seq != expected:
                raise TreeIntegrityError(f"audit entry seq {expected} is missing")
            expected += 1
            pending.append(h)
            if len(pending) == block:
                builder.push(CACHE_LEVEL, merkle.perfect_root(pending))
                pending = []
                if len(new_nodes) >= 2000:
                    AuditNode.objects.bulk_create(new_nodes)
                    new_nodes.clear()
        if expected != target:
            raise TreeIntegrityError(f"audit entry seq {expected} is missing")
        AuditNode.objects.bulk_create(new_nodes)
        AuditTreeState.objects.filter(pk=1).update(size=target)
    return target


def _frontier_levels(size: int) -> list[int]:
    return [bit for bit in range(size.bit_length() - 1, -1, -1) if size >> bit & 1]


def _nodes(keys: list[tuple[int, int]], reach: int) -> list[bytes]:
    found = StoredTree(reach)._cached(keys)
    missing = [k for k in keys if k not in found]
    if missing:
        raise TreeIntegrityError(f"cached tree nodes are missing: {missing[:3]}")
    return [found[k] for k in keys]


class StoredTree:
    """Roots and proofs of the stored log for any size up to ``size``.

    Cached subtree hashes are used where ``tree_sync`` has stored them (up to
    the last checkpoint); the rest is computed from leaf hashes, which is
    correct, only slower.
    """

    def __init__(self, size: int):
        self.size = size

    # -- resolving ranges ---------------------------------------------------------
    def _cached(self, keys: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        out: dict[tuple[int, int], bytes] = {}
        for i in range(0, len(keys), 200):
            query = Q()
            for level, index in keys[i : i + 200]:
                query |= Q(level=level, index=index)
            for level, index, h in AuditNode.objects.filter(query).values_list("level", "index", "hash"):
                out[(level, index)] = bytes(h)
        return out

    def _leaves(self, spans: list[tuple[int, int]]) -> dict[int, bytes]:
        out: dict[int, bytes] = {}
        for i in range(0, len(spans), 100):
            query = Q()
            for start, end in spans[i : i + 100]:
                query |= Q(seq__gte=start, seq__lt=end)
            for seq, h in AuditEntry.objects.filter(query).values_list("seq", "leaf_hash"):
                out[seq] = bytes(h)
        return out

    def range_hashes(self, ranges: list[merkle.Range]) -> list[bytes]:
        """The RFC 6962 hash of each ``[start, end)`` in ``ranges`` (all within ``size``)."""
        for start, end in ranges:
            if not 0 <= start < end <= self.size:
                raise ValueError(f"range {start}..{end} is outside the log of size {self.size}")
        parts = [merkle.perfect_ranges(s, e) for s, e in ranges]
        perfect = {p for ps in parts for p in ps}
        keys = {p: ((p[1] - p[0]).bit_length() - 1, p[0] >> ((p[1] - p[0]).bit_length() - 1)) for p in perfect}
        cached = self._cached(sorted({keys[p] for p in perfect if keys[p][0] >= CACHE_LEVEL}))
        computed = [p for p in perfect if keys[p] not in cached]
        leaves = self._leaves(_merge_spans(computed)) if computed else {}
        hashes: dict[merkle.Range, bytes] = {}
        for p in perfect:
            if keys[p] in cached:
                hashes[p] = cached[keys[p]]
            else:
                try:
                    hashes[p] = merkle.perfect_root([leaves[i] for i in range(p[0], p[1])])
                except KeyError as missing:
                    raise TreeIntegrityError(f"audit entry seq {missing.args[0]} is missing") from None
        return [merkle.fold([hashes[p] for p in ps]) for ps in parts]

    # -- answers --------------------------------------------------------------------
    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        if size == 0:
            return merkle.EMPTY_ROOT
        return self.range_hashes([(0, size)])[0]

    def inclusion_proof(self, index: int, size: int) -> tuple[list[bytes], bytes, bytes]:
        """(proof, leaf hash, root) for the leaf at ``index`` in the tree of ``size`` leaves."""
        ranges = merkle.inclusion_ranges(index, size)
        hashes = self.range_hashes([*ranges, (index, index + 1), (0, size)])
        return hashes[:-2], hashes[-2], hashes[-1]

    def consistency_proof(self, first: int, second: int) -> tuple[list[bytes], bytes, bytes]:
        """(proof, first root, second root)."""
        ranges = merkle.consistency_ranges(first, second)
        extra = [r for r in ((0, first), (0, second)) if r[1] > 0]
        hashes = self.range_hashes([*ranges, *extra])
        first_root = hashes[len(ranges)] if first else merkle.EMPTY_ROOT
        second_root = hashes[-1] if second else merkle.EMPTY_ROOT
        return hashes[: len(ranges)], first_root, second_root


def _merge_spans(ranges: list[merkle.Range]) -> list[merkle.Range]:
    spans: list[list[int]] = []
    for start, end in sorted(ranges):
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    return [(s, e) for s, e in spans]
