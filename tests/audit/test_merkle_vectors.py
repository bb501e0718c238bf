"""RFC 6962 tree hashes and proofs against the reference vectors.

The vectors are copied from transparency-dev/merkle (``proof/verify_test.go``,
``rfc6962/rfc6962_test.go``, the successor of the trillian/CT test data).
There, inclusion vectors number leaves from 1; here they are 0-based.
"""

from __future__ import annotations

import hashlib

import pytest

from audit import merkle

LEAVES = [
    bytes.fromhex(h)
    for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf index, tree size, proof)
INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
# (first size, second size, proof)
CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")
LEAF_HASHES = [merkle.hash_leaf(leaf) for leaf in LEAVES]
TREE = merkle.ListTree(LEAF_HASHES)


def root(size: int) -> bytes:
    return bytes.fromhex(ROOTS[size - 1])


def test_hashes_match_the_rfc6962_hasher_vectors():
    assert merkle.EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert merkle.hash_leaf(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert merkle.hash_leaf(b"L123456").hex() == "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    assert (
        merkle.hash_children(b"N123", b"N456").hex()
        == "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    )


@pytest.mark.parametrize("size", range(1, 9))
def test_root_of_each_size_matches_the_reference(size):
    assert TREE.root(size) == root(size)
    assert merkle.root_from_leaf_hashes(LEAF_HASHES[:size]) == root(size)
    builder = merkle.TreeBuilder()
    builder.extend(LEAF_HASHES[:size])
    assert builder.root() == root(size)


def test_the_empty_tree_has_the_hash_of_nothing():
    assert TREE.root(0) == merkle.EMPTY_ROOT
    assert merkle.root_from_leaf_hashes([]) == merkle.EMPTY_ROOT
    assert merkle.TreeBuilder().root() == merkle.EMPTY_ROOT


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_proofs_match_the_reference(index, size, proof):
    expected = [bytes.fromhex(h) for h in proof]
    assert TREE.inclusion_proof(index, size) == expected
    merkle.verify_inclusion(index, size, LEAF_HASHES[index], expected, root(size))


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY)
def test_consistency_proofs_match_the_reference(first, second, proof):
    expected = [bytes.fromhex(h) for h in proof]
    assert TREE.consistency_proof(first, second) == expected
    merkle.verify_consistency(first, second, expected, root(first), root(second))


def _corrupt_inclusion(index, size, proof, leaf_hash, good_root):
    probes = [
        (index - 1, size, good_root, leaf_hash, proof),
        (index + 1, size, good_root, leaf_hash, proof),
        (index ^ 2, size, good_root, leaf_hash, proof),
        (index, size * 2, good_root, leaf_hash, proof),
        (index, size // 2, good_root, leaf_hash, proof),
        (index, size, good_root, b"WrongLeaf", proof),
        (index, size, merkle.EMPTY_ROOT, leaf_hash, proof),
        (index, size, SOME_HASH, leaf_hash, proof),
        (index, size, good_root, leaf_hash, [*proof, b""]),
        (index, size, good_root, leaf_hash, [*proof, good_root]),  # longer than needed
        (index, size, good_root, leaf_hash, [b"", *proof]),
        (index, size, good_root, leaf_hash, [good_root, *proof]),
    ]
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 8]) + flipped[i][1:]
        probes.append((index, size, good_root, leaf_hash, flipped))
    if proof:
        probes.append((index, size, good_root, leaf_hash, proof[:-1]))
    if len(proof) > 1:
        probes.append((index, size, good_root, leaf_hash, [proof[0], SOME_HASH, *proof[1:]]))
    return probes


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION[1:])
def test_corrupted_inclusion_proofs_are_refused(index, size, proof):
    proof = [bytes.fromhex(h) for h in proof]
    for probe_index, probe_size, probe_root, probe_leaf, probe_proof in _corrupt_inclusion(
        index, size, proof, LEAF_HASHES[index], root(size)
    ):
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(probe_index, probe_size, probe_leaf, probe_proof, probe_root)


@pytest.mark.parametrize(("first", "second", "proof"), [c for c in CONSISTENCY if c[2]])
def test_corrupted_consistency_proofs_are_refused(first, second, proof):
    proof = [bytes.fromhex(h) for h in proof]
    r1, r2 = root(first), root(second)
    probes = [
        (first - 1, second, r1, r2, proof),
        (first + 1, second, r1, r2, proof),
        (first ^ 2, second, r1, r2, proof),
        (first, second * 2, r1, r2, proof),
        (first, second // 2, r1, r2, proof),
        (first, second, b"WrongRoot", r2, proof),
        (first, second, r1, b"WrongRoot", proof),
        (first, second, r2, r1, proof),
        (first, second, r1, r2, []),
        (first, second, r1, r2, [*proof, b""]),
        (first, second, r1, r2, [*proof, r1]),  # longer than needed
        (first, second, r1, r2, [*proof, r2]),
        (first, second, r1, r2, [b"", *proof]),
        (first, second, r1, r2, [r1, *proof]),
        (first, second, r1, r2, [r2, *proof]),
        (first, second, r1, r2, [proof[0], *proof]),
        (first, second, r1, r2, proof[:-1]),
    ]
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 16]) + flipped[i][1:]
        probes.append((first, second, r1, r2, flipped))
    for s1, s2, a, b, p in probes:
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(s1, s2, p, a, b)


def test_single_entry_tree_has_an_empty_inclusion_proof():
    h = merkle.hash_leaf(b"data")
    merkle.verify_inclusion(0, 1, h, [], h)
    for leaf, good_root in [(h, b""), (b"", h), (b"", b"")]:
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(0, 1, leaf, [], good_root)


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 0), (2, 1), (1, 1)])
def test_inclusion_outside_the_tree_is_refused(index, size):
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(index, size, SOME_HASH, [], merkle.EMPTY_ROOT)
    with pytest.raises(ValueError):
        merkle.inclusion_ranges(index, size)


def test_consistency_edge_cases_follow_the_reference():
    r1, r2 = b"don't care 1".ljust(32, b"."), b"don't care 2".ljust(32, b".")
    ok = [(0, 0, r1, r1, []), (0, 1, r1, r2, []), (1, 1, r2, r2, [])]
    bad = [
        (0, 0, r1, r2, []),
        (1, 1, r1, r2, []),
        (1, 0, r1, r2, []),
        (2, 1, r1, r2, []),
        (1, 2, r1, r2, []),
        (0, 0, merkle.EMPTY_ROOT, r2, []),
        (0, 0, merkle.EMPTY_ROOT, merkle.EMPTY_ROOT, [merkle.EMPTY_ROOT]),
        (0, 1, merkle.EMPTY_ROOT, merkle.EMPTY_ROOT, [merkle.EMPTY_ROOT]),
        (1, 1, merkle.EMPTY_ROOT, merkle.EMPTY_ROOT, [merkle.EMPTY_ROOT]),
    ]
    for s1, s2, a, b, p in ok:
        merkle.verify_consistency(s1, s2, p, a, b)
    for s1, s2, a, b, p in bad:
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(s1, s2, p, a, b)


def test_proof_shapes_follow_the_reference_node_lists():
    # Node lists from transparency-dev/merkle proof/proof_test.go, as leaf ranges.
    assert merkle.inclusion_ranges(0, 7) == [(1, 2), (2, 4), (4, 7)]
    assert merkle.inclusion_ranges(6, 7) == [(4, 6), (0, 4)]
    assert merkle.inclusion_ranges(3, 5) == [(2, 3), (0, 2), (4, 5)]
    assert merkle.consistency_ranges(5, 7) == [(4, 5), (5, 6), (6, 7), (0, 4)]
    assert merkle.consistency_ranges(3, 7) == [(2, 3), (3, 4), (0, 2), (4, 7)]
    assert merkle.consistency_ranges(7, 8) == [(6, 7), (7, 8), (4, 6), (0, 4)]
    assert merkle.consistency_ranges(4, 4) == []


def test_every_proof_verifies_up_to_a_thousand_leaves():
    hashes = [merkle.hash_leaf(hashlib.sha256(str(i).encode()).digest()) for i in range(1030)]
    tree = merkle.ListTree(hashes)
    for size in [*range(1, 70), 127, 128, 129, 255, 256, 257, 1023, 1024, 1025, 1030]:
        r = tree.root(size)
        assert r == merkle.root_from_leaf_hashes(hashes[:size])
        builder = merkle.TreeBuilder()
        builder.extend(hashes[:size])
        assert builder.root() == r
        for index in {0, size // 3, size // 2, size - 1}:
            merkle.verify_inclusion(index, size, hashes[index], tree.inclusion_proof(index, size), r)
        for first in {0, 1, size // 2, size - 1, size}:
            merkle.verify_consistency(first, size, tree.consistency_proof(first, size), tree.root(first), r)
