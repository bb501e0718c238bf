"""RFC 6962 Merkle tree hashing and proofs, standard library only.

The server and the standalone verifier (``python -m audit.verify``) share
this module, so it must never import Django.

Trees are described by half-open leaf ranges ``(start, end)``.  Proof
generation is split in two steps: ``inclusion_ranges`` / ``consistency_ranges``
say *which* subtrees a proof consists of, and the caller resolves each range
to its hash (``range_hash``) from wherever it keeps them: a list in memory,
or the database with its cache of complete-subtree hashes.  Every range that
occurs in an RFC 6962 proof starts at a multiple of the largest power of two
not smaller than its length, so it splits into complete ("perfect") subtrees
with ``perfect_ranges``.

Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 (the iterative
algorithms for the RFC 6962 proof formats).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

Range = tuple[int, int]

_sha256 = hashlib.sha256


def hash_leaf(data: bytes) -> bytes:
    """SHA-256(0x00 || leaf bytes)."""
    return _sha256(b"\x00" + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return _sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def is_perfect(start: int, end: int) -> bool:
    n = end - start
    return n > 0 and n & (n - 1) == 0 and start % n == 0


# --- which subtrees ------------------------------------------------------------


def perfect_ranges(start: int, end: int) -> list[Range]:
    """Split ``[start, end)`` into the complete subtrees its RFC 6962 hash is made of, left to right."""
    out: list[Range] = []
    while start < end:
        n = end - start
        if n & (n - 1) == 0:
            out.append((start, end))
            break
        k = _split(n)
        out.append((start, start + k))
        start += k
    return out


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The ranges whose hashes form PATH(index, D[0:size]) (RFC 6962 §2.1.1), leaf upward."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not inside a tree of size {size}")
    out: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            start += k
    out.reverse()
    return out


def consistency_ranges(first: int, second: int) -> list[Range]:
    """The ranges whose hashes form PROOF(first, D[0:second]) (RFC 6962 §2.1.2).

    Empty when ``first`` is 0 or equals ``second``: every tree is consistent
    with the empty tree and with itself.
    """
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    if first == 0 or first == second:
        return []
    out: list[Range] = []
    start, end, m, complete = 0, second, first, True
    while True:
        n = end - start
        if m == n:
            if not complete:
                out.append((start, end))
            break
        k = _split(n)
        if m <= k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            start += k
            m -= k
            complete = False
    out.reverse()
    return out


# --- hashes ----------------------------------------------------------------


def fold(perfect_hashes: Sequence[bytes]) -> bytes:
    """Combine the hashes of ``perfect_ranges(...)`` (left to right) into the range hash."""
    if not perfect_hashes:
        return EMPTY_ROOT
    h = perfect_hashes[-1]
    for left in reversed(perfect_hashes[:-1]):
        h = hash_children(left, h)
    return h


def perfect_root(leaf_hashes: Sequence[bytes]) -> bytes:
    """Root of a complete tree (len is a power of two), level by level; the fast path."""
    level = list(leaf_hashes)
    while len(level) > 1:
        level = [_sha256(b"\x01" + a + b).digest() for a, b in zip(level[0::2], level[1::2], strict=True)]
    return level[0]


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a whole list of leaf hashes (the last odd node is promoted, as RFC 6962 implies)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    while len(level) > 1:
        paired = [_sha256(b"\x01" + a + b).digest() for a, b in zip(level[0:-1:2], level[1::2], strict=False)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def range_hash(start: int, end: int, perfect_hash: Callable[[int, int], bytes]) -> bytes:
    """MTH(D[start:end]) given a function that returns the hash of a complete subtree."""
    return fold([perfect_hash(s, e) for s, e in perfect_ranges(start, end)])


class ListTree:
    """A tree held in memory as its leaf hashes; used by tests and small callers."""

    def __init__(self, leaf_hashes: Sequence[bytes]):
        self.leaf_hashes = list(leaf_hashes)

    def perfect_hash(self, start: int, end: int) -> bytes:
        return perfect_root(self.leaf_hashes[start:end])

    def root(self, size: int | None = None) -> bytes:
        size = len(self.leaf_hashes) if size is None else size
        return range_hash(0, size, self.perfect_hash)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return [range_hash(s, e, self.perfect_hash) for s, e in inclusion_ranges(index, size)]

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        return [range_hash(s, e, self.perfect_hash) for s, e in consistency_ranges(first, second)]


class TreeBuilder:
    """Appends leaf hashes one by one (or in complete chunks) and gives the root at any size.

    Keeps the "compact range": one complete subtree hash per set bit of the
    size, so memory is O(log n).  ``on_node`` is called with
    ``(level, index, hash)`` for every complete subtree of at least
    ``2**report_level`` leaves as it is finished.
    """

    CHUNK_LEVEL = 10

    def __init__(self, *, on_node: Callable[[int, int, bytes], None] | None = None, report_level: int = 0):
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []
        self._on_node = on_node
        self._report_level = report_level

    @classmethod
    def from_frontier(cls, size: int, frontier: Sequence[bytes], **kwargs) -> TreeBuilder:
        """Resume at ``size`` from the hashes of its complete subtrees, largest first."""
        builder = cls(**kwargs)
        levels = [bit for bit in range(size.bit_length() - 1, -1, -1) if size >> bit & 1]
        if len(levels) != len(frontier):
            raise ValueError("frontier does not match the size")
        builder._stack = list(zip(levels, frontier, strict=True))
        builder.size = size
        return builder

    def push(self, level: int, node: bytes) -> None:
        """Append a complete subtree of ``2**level`` leaves; the size must be a multiple of it."""
        if self.size & ((1 << level) - 1):
            raise ValueError("subtree is not aligned")
        start = self.size
        self.size += 1 << level
        if self._on_node is not None and level >= self._report_level:
            self._on_node(level, start >> level, node)
        stack = self._stack
        while stack and stack[-1][0] == level:
            _, left = stack.pop()
            node = hash_children(left, node)
            level += 1
            if self._on_node is not None and level >= self._report_level:
                self._on_node(level, (self.size - (1 << level)) >> level, node)
        stack.append((level, node))

    def append(self, leaf_hash: bytes) -> None:
        self.push(0, leaf_hash)

    def extend(self, leaf_hashes: Sequence[bytes]) -> None:
        """Append many leaf hashes; aligned chunks are hashed level by level, which is faster."""
        chunk = 1 << self.CHUNK_LEVEL
        i, n = 0, len(leaf_hashes)
        fast = self._on_node is None or self._report_level >= self.CHUNK_LEVEL
        while i < n and (self.size & (chunk - 1) or n - i < chunk or not fast):
            self.append(leaf_hashes[i])
            i += 1
        while fast and n - i >= chunk:
            self.push(self.CHUNK_LEVEL, perfect_root(leaf_hashes[i : i + chunk]))
            i += chunk
        for j in range(i, n):
            self.append(leaf_hashes[j])

    def frontier(self) -> list[bytes]:
        return [h for _, h in self._stack]

    def root(self) -> bytes:
        return fold(self.frontier())


# --- verification ------------------------------------------------------------


class ProofError(ValueError):
    """A proof does not verify."""


def _check_hashes(hashes: Iterable[bytes]) -> None:
    for h in hashes:
        if not isinstance(h, bytes | bytearray) or len(h) != HASH_SIZE:
            raise ProofError("a hash in the proof is not 32 bytes long")


def root_from_inclusion_proof(index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` leads to from ``leaf_hash`` at ``index`` (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not inside a tree of size {size}")
    _check_hashes([leaf_hash, *proof])
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError("the inclusion proof is longer than the tree is high")
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = hash_children(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the inclusion proof is shorter than the tree is high")
    return r


def verify_inclusion(index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Raise ``ProofError`` unless ``proof`` shows the leaf at ``index`` is in the tree with ``root``."""
    if root_from_inclusion_proof(index, size, leaf_hash, proof) != root:
        raise ProofError("the inclusion proof does not lead to the root hash")


def verify_consistency(first: int, second: int, proof: Sequence[bytes], first_root: bytes, second_root: bytes) -> None:
    """Raise ``ProofError`` unless the tree of size ``first`` is a prefix of the one of size ``second``."""
    if not 0 <= first <= second:
        raise ProofError(f"size {first} cannot be a prefix of size {second}")
    _check_hashes(proof)
    if first == second:
        if proof:
            raise ProofError("the consistency proof between equal sizes must be empty")
        if first_root != second_root:
            raise ProofError("equal sizes with different root hashes")
        return
    if first == 0:
        if proof:
            raise ProofError("the consistency proof from the empty tree must be empty")
        return
    if not proof:
        raise ProofError("the consistency proof is empty")
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is longer than needed")
        if fn & 1 or fn == sn:
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = hash_children(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the consistency proof is shorter than needed")
    if fr != first_root:
        raise ProofError("the consistency proof does not lead to the first root hash")
    if sr != second_root:
        raise ProofError("the consistency proof does not lead to the second root hash")
