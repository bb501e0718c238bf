"""Standalone verifier for audit log exports and checkpoints.

Needs only the Python standard library and ``cryptography``; it does not
import Django, so an auditor can copy ``audit/merkle.py``,
``audit/canonical.py`` and this file (with an empty ``audit/__init__.py``)
and run it anywhere::

    python -m audit.verify --entries export.jsonl --checkpoint cp.json --jwks jwks.json
    python -m audit.verify --entries export.jsonl --checkpoint cp.json --old-checkpoint old.json --jwks jwks.json
    python -m audit.verify --checkpoint cp.json --old-checkpoint old.json --consistency-proof proof.json --jwks jwks.json
    python -m audit.verify --entries export.jsonl --checkpoint cp.json --trusted-checkpoint kept.json --jwks jwks.json
    python -m audit.verify --proofs selection.proofs.jsonl --jwks jwks.json

What it checks:

* every checkpoint is well formed and its Ed25519 signature verifies with the
  key of its ``kid`` in the JWKS, over the RFC 8785 bytes of the checkpoint
  without ``signature``;
* the export's leaves (each line's bytes without the ``\\n``) hash to the
  checkpoint's root at its size, and to each ``--old-checkpoint``'s root at
  its size (so the newer checkpoint extends the older one);
* or, without entries, that a consistency proof (the JSON from
  ``GET /api/v1/audit/proofs/consistency``) links the two checkpoints.

When something does not verify it names the first bad entry: a line that is
not a well-formed canonical entry or does not carry the expected ``seq``
(removal, reordering, insertion) is named exactly.  An entry whose content
was changed but is still well formed can only be told apart by trusted
hashes: each further checkpoint (``--old-checkpoint``, repeatable) narrows
the range, and ``--old-entries`` (an earlier export that verifies against
its own checkpoint) pins it down to the line.

``--trusted-checkpoint`` is a checkpoint the auditor kept from earlier: the
server's newer checkpoint (and the export) must extend it, and a log that is
now smaller (a deleted tail, a wiped log) or different at its size (a
rewritten history) is named as such with exit status 1.

``--proofs`` verifies a filtered selection on its own (``GET /api/v1/audit/entries?format=proofs``):
its first line is a signed checkpoint, every other line one entry with its RFC 6962 inclusion
proof against that checkpoint.  Each entry must be well formed, hash to its ``leaf_hash``, and
its proof must lead to the checkpoint's root; the first line that does not is named.

Exit status: 0 verified, 1 the log does not verify, 2 unusable input
(malformed or wrongly signed checkpoint, unreadable files).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice

from audit import merkle
from audit.canonical import CanonicalizationError, canonical_json

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2

ENTRY_KEYS = frozenset({"seq", "ts", "actor", "action", "target", "detail"})
CHECKPOINT_KEYS = frozenset({"origin", "size", "root_hash", "timestamp", "kid", "signature"})
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
_LINES_PER_CHUNK = 65536


class InputError(Exception):
    """An input file is unusable (exit 2)."""


class VerificationFailed(Exception):
    """The log does not verify (exit 1). The message names the first bad entry."""

    def __init__(self, message: str, *, seq: int | None = None):
        super().__init__(message)
        self.seq = seq


# --- keys and checkpoints -------------------------------------------------------------


def _b64url_decode(text: str) -> bytes:
    if not isinstance(text, str) or not _B64URL.match(text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_jwks(document: object) -> dict[str, object]:
    """Ed25519 public keys by ``kid`` from an RFC 7517 key set."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise InputError('the JWKS is not a JSON object with a "keys" list')
    keys: dict[str, object] = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            continue
        if jwk.get("use", "sig") != "sig" or not isinstance(jwk.get("kid"), str):
            continue
        try:
            raw = _b64url_decode(jwk.get("x", ""))
            keys[jwk["kid"]] = Ed25519PublicKey.from_public_bytes(raw)
        except (ValueError, binascii.Error):
            raise InputError(f'the JWKS key {jwk["kid"]!r} has an invalid "x"') from None
    return keys


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes
    timestamp: str
    kid: str
    signature: bytes
    name: str = field(default="checkpoint", compare=False)

    def body(self) -> dict[str, object]:
        return {
            "origin": self.origin,
            "size": self.size,
            "root_hash": self.root_hash.hex(),
            "timestamp": self.timestamp,
            "kid": self.kid,
        }


def parse_checkpoint(document: object, *, name: str = "checkpoint") -> Checkpoint:
    """Check the shape of a checkpoint; raise ``InputError`` naming what is wrong."""
    if not isinstance(document, dict):
        raise InputError(f"{name} is not a JSON object")
    missing = sorted(CHECKPOINT_KEYS - set(document))
    extra = sorted(set(document) - CHECKPOINT_KEYS)
    if missing:
        raise InputError(f"{name} lacks {', '.join(missing)}")
    if extra:
        raise InputError(f"{name} has unsigned extra field(s) {', '.join(extra)}")
    for key in ("origin", "timestamp", "kid", "root_hash", "signature"):
        if not isinstance(document[key], str) or not document[key]:
            raise InputError(f"{name}: {key} must be a non-empty string")
    size = document["size"]
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InputError(f"{name}: size must be an integer of 0 or more")
    if not _HEX64.match(document["root_hash"]):
        raise InputError(f"{name}: root_hash must be 64 lowercase hex digits")
    if not RFC3339.match(document["timestamp"]):
        raise InputError(f"{name}: timestamp is not RFC 3339")
    try:
        signature = _b64url_decode(document["signature"])
    except (ValueError, binascii.Error):
        raise InputError(f"{name}: signature is not base64url") from None
    if len(signature) != 64:
        raise InputError(f"{name}: signature must be 64 bytes (Ed25519)")
    return Checkpoint(
        origin=document["origin"],
        size=size,
        root_hash=bytes.fromhex(document["root_hash"]),
        timestamp=document["timestamp"],
        kid=document["kid"],
        signature=signature,
        name=name,
    )


def verify_checkpoint_signature(checkpoint: Checkpoint, keys: dict[str, object]) -> None:
    from cryptography.exceptions import InvalidSignature

    key = keys.get(checkpoint.kid)
    if key is None:
        raise InputError(f"{checkpoint.name}: no Ed25519 key with kid {checkpoint.kid!r} in the JWKS")
    try:
        key.verify(checkpoint.signature, canonical_json(checkpoint.body()))  # type: ignore[attr-defined]
    except InvalidSignature:
        raise InputError(f"{checkpoint.name}: the signature does not verify with key {checkpoint.kid!r}") from None


# --- entries -----------------------------------------------------------------------------


def _read_chunks(path: str) -> Iterator[list[bytes]]:
    try:
        handle = open(path, "rb", buffering=1 << 20)  # noqa: SIM115 - closed below
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        while True:
            lines = list(islice(handle, _LINES_PER_CHUNK))
            if not lines:
                return
            yield lines


def entry_problem(line: bytes, index: int) -> str | None:
    """Why ``line`` (with its ``\\n``) is not the canonical entry number ``index``, or None."""
    if not line.endswith(b"\n"):
        return "the last line is not terminated by a newline (truncated or appended to)"
    raw = line[:-1]
    try:
        entry = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return "not a JSON document"
    if not isinstance(entry, dict):
        return "not a JSON object"
    if set(entry) != ENTRY_KEYS:
        return f"fields are {sorted(entry)}, not {sorted(ENTRY_KEYS)}"
    seq = entry["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool):
        return "seq is not an integer"
    if seq != index:
        if seq > index:
            return f"holds seq {seq} where seq {index} belongs: entry {index} was removed, or entries were moved"
        return f"holds seq {seq} where seq {index} belongs: an entry was inserted, duplicated or moved"
    for key in ("ts", "actor", "action", "target"):
        if not isinstance(entry[key], str):
            return f"{key} is not a string"
    if not RFC3339.match(entry["ts"]):
        return "ts is not RFC 3339"
    if not isinstance(entry["detail"], dict):
        return "detail is not an object"
    try:
        if canonical_json(entry) != raw:
            return "not in RFC 8785 canonical form (the bytes were edited)"
    except CanonicalizationError as exc:
        return f"cannot be canonical: {exc}"
    return None


def first_structural_problem(path: str, *, start: int = 0, limit: int | None = None) -> tuple[int, str] | None:
    """The first line in ``[start, limit)`` that is not a well-formed entry in sequence."""
    index = 0
    for lines in _read_chunks(path):
        if index + len(lines) <= start:
            index += len(lines)
            continue
        for line in lines:
            if limit is not None and index >= limit:
                return None
            problem = entry_problem(line, index) if index >= start else None
            if problem is not None:
                return index, problem
            index += 1
    return None


@dataclass
class EntriesResult:
    count: int
    roots: dict[int, bytes]
    last_line_terminated: bool


def hash_entries(path: str, sizes: Sequence[int]) -> EntriesResult:
    """Stream the export once: leaf hashes into a compact tree, taking the root at each of ``sizes``."""
    sha256 = hashlib.sha256
    targets = sorted({s for s in sizes if s > 0})
    roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT} if 0 in sizes else {}
    builder = merkle.TreeBuilder()
    t = 0
    terminated = True
    for lines in _read_chunks(path):
        terminated = lines[-1].endswith(b"\n")
        if not terminated:
            lines[-1] += b"\n"  # hash what is there; the structural pass reports the missing newline
        hashes = [sha256(b"\x00" + line[:-1]).digest() for line in lines]
        i = 0
        while i < len(hashes):
            if t < len(targets) and builder.size + len(hashes) - i >= targets[t]:
                take = targets[t] - builder.size
                builder.extend(hashes[i : i + take])
                i += take
                roots[targets[t]] = builder.root()
                t += 1
            else:
                builder.extend(hashes[i:])
                i = len(hashes)
    return EntriesResult(count=builder.size, roots=roots, last_line_terminated=terminated)


def _first_difference(path: str, reference: str, limit: int) -> int | None:
    """The first line before ``limit`` where the export differs from the reference export."""
    index = 0
    chunks_a, chunks_b = _read_chunks(path), _read_chunks(reference)
    for lines_a in chunks_a:
        lines_b = next(chunks_b, [])
        for a, b in zip(lines_a, lines_b, strict=False):
            if index >= limit:
                return None
            if a != b:
                return index
            index += 1
        if len(lines_a) != len(lines_b):
            return None  # one of the two ends here; past the reference nothing can be compared
    return None


@dataclass
class Report:
    ok: bool
    messages: list[str]
    first_bad_seq: int | None = None


def verify_export(
    path: str,
    checkpoint: Checkpoint,
    *,
    older: Sequence[Checkpoint] = (),
    old_entries: str | None = None,
) -> Report:
    """Check an export against a checkpoint and any older checkpoints. Signatures must be checked first."""
    checkpoints = sorted([checkpoint, *older], key=lambda c: c.size)
    by_size: dict[int, Checkpoint] = {}
    for cp in checkpoints:
        other = by_size.setdefault(cp.size, cp)
        if other.root_hash != cp.root_hash:
            raise VerificationFailed(
                f"{other.name} and {cp.name} are both signed for size {cp.size} with different root hashes: the log forked"
            )
    result = hash_entries(path, list(by_size))
    messages = [f"read {result.count} entries"]

    # Where the hashes stop matching: entries before `good` are proven, the
    # first bad one lies in [good, bad).
    good, bad, bad_cp = 0, None, None
    for size, cp in sorted(by_size.items()):
        if size > result.count:
            bad, bad_cp = size, cp
            break
        if result.roots[size] != cp.root_hash:
            bad, bad_cp = size, cp
            break
        good = size
        messages.append(f"entries 0..{size - 1} match {cp.name} (size {size})")

    if bad is None:
        # Everything a signature covers verifies; entries past it must still be well formed.
        tail = (
            first_structural_problem(path, start=good)
            if result.count > good or not result.last_line_terminated
            else None
        )
        if tail is not None:
            index, problem = tail
            return Report(False, [*messages, f"first bad entry: seq {index} (line {index + 1}): {problem}"], index)
        if result.count > checkpoint.size:
            messages.append(
                f"entries {checkpoint.size}..{result.count - 1} are later than the checkpoint and not covered by it"
            )
        return Report(True, messages)

    structural = first_structural_problem(path, limit=bad)
    if structural is not None:
        index, problem = structural
        return Report(False, [*messages, f"first bad entry: seq {index} (line {index + 1}): {problem}"], index)
    if bad > result.count:
        return Report(
            False,
            [
                *messages,
                f"first bad entry: seq {result.count}: missing — {bad_cp.name} covers {bad} entries "
                f"but the export ends after {result.count} (entries were removed from the end)",
            ],
            result.count,
        )
    if old_entries is not None:
        index = _first_difference(path, old_entries, bad)
        if index is not None and index >= good:
            return Report(
                False,
                [*messages, f"first bad entry: seq {index} (line {index + 1}): differs from the reference export"],
                index,
            )
    if bad - good == 1:
        return Report(
            False, [*messages, f"first bad entry: seq {good}: its content differs from what {bad_cp.name} signed"], good
        )
    return Report(
        False,
        [
            *messages,
            f"the entries do not match {bad_cp.name} (size {bad}): the first bad entry is one of seq {good}..{bad - 1}; "
            "every entry there is well formed, so its content was changed. Pass older checkpoints "
            "(--old-checkpoint) or an earlier verified export (--old-entries) to pin it down.",
        ],
        good,
    )


# --- command line ------------------------------------------------------------------------------


def _load_json(path: str, what: str) -> object:
    try:
        with open(path, "rb") as handle:
            return json.loads(handle.read().decode("utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, ValueError):
        raise InputError(f"{what} {path} is not valid JSON") from None


def _load_proof(path: str) -> tuple[int, int, list[bytes]]:
    document = _load_json(path, "consistency proof")
    try:
        first, second, proof = document["first"], document["second"], document["proof"]  # type: ignore[index]
        hashes = [bytes.fromhex(h) for h in proof]
    except (TypeError, KeyError, ValueError):
        raise InputError(f'consistency proof {path} needs "first", "second" and "proof" (hex hashes)') from None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (first, second)):
        raise InputError("first and second in the consistency proof must be integers")
    return first, second, hashes


PROOF_KEYS = frozenset({"leaf", "seq", "leaf_hash", "proof", "tree_size"})


def _proof_line_problem(document: object, checkpoint: Checkpoint) -> str | None:
    """Why one line of a proofs bundle does not prove its entry is in ``checkpoint``, or None."""
    if not isinstance(document, dict) or set(document) != PROOF_KEYS:
        return f"is not an object with exactly the fields {', '.join(sorted(PROOF_KEYS))}"
    seq, leaf, size = document["seq"], document["leaf"], document["tree_size"]
    if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(leaf, str):
        return "seq must be an integer and leaf a string"
    if size != checkpoint.size:
        return f"is proved against a tree of size {size}, the checkpoint has size {checkpoint.size}"
    raw = leaf.encode("utf-8")
    problem = entry_problem(raw + b"\n", seq)
    if problem is not None:
        return f"the leaf is not a well-formed entry: {problem}"
    leaf_hash = merkle.hash_leaf(raw)
    if not isinstance(document["leaf_hash"], str) or document["leaf_hash"] != leaf_hash.hex():
        return "the leaf does not hash to its leaf_hash (the entry was changed)"
    proof = document["proof"]
    try:
        hashes = [bytes.fromhex(h) for h in proof] if isinstance(proof, list) else None
    except (TypeError, ValueError):
        hashes = None
    if hashes is None:
        return "proof must be a list of hex hashes"
    try:
        merkle.verify_inclusion(seq, size, leaf_hash, hashes, checkpoint.root_hash)
    except merkle.ProofError as exc:
        return f"the inclusion proof does not verify against the checkpoint: {exc}"
    return None


def verify_proofs(path: str, keys: dict[str, object], *, origin: str | None = None) -> tuple[int, list[str]]:
    """Verify a proofs bundle: its signed checkpoint, then every entry's inclusion in it."""
    try:
        with open(path, "rb") as handle:
            lines = handle.read().split(b"\n")
    except OSError as exc:
        raise InputError(f"cannot read proofs {path}: {exc.strerror}") from None
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        raise InputError(f"proofs {path} is empty: its first line must be the checkpoint")
    try:
        document = json.loads(lines[0].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InputError(f"proofs {path}: the first line (the checkpoint) is not valid JSON") from None
    checkpoint = parse_checkpoint(document, name=f"checkpoint in {path}")
    verify_checkpoint_signature(checkpoint, keys)
    if origin is not None and checkpoint.origin != origin:
        raise InputError(f"{checkpoint.name} is from origin {checkpoint.origin!r}, not {origin!r}")
    messages = [f"{checkpoint.name}: signature by {checkpoint.kid} verifies (size {checkpoint.size})"]
    previous = -1
    for number, line in enumerate(lines[1:], start=2):
        try:
            entry = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return EXIT_FAILED, [*messages, f"line {number}: not a JSON document", "FAILED"]
        problem = _proof_line_problem(entry, checkpoint)
        seq = entry.get("seq") if isinstance(entry, dict) else None
        if problem is None and seq <= previous:
            problem = f"seq {seq} does not follow seq {previous}: lines were repeated or reordered"
        if problem is not None:
            where = f"line {number} (seq {seq})" if isinstance(seq, int) else f"line {number}"
            return EXIT_FAILED, [*messages, f"{where}: {problem}", "FAILED"]
        previous = seq
    count = len(lines) - 1
    messages.append(f"{count} entr{'y' if count == 1 else 'ies'}: each is included in the checkpoint's tree")
    return EXIT_OK, [*messages, "OK"]


def run(argv: Sequence[str] | None = None) -> tuple[int, list[str]]:
    parser = argparse.ArgumentParser(
        prog="python -m audit.verify",
        description="Verify an audit log export and checkpoints independently of the server.",
    )
    parser.add_argument(
        "--checkpoint", help="checkpoint JSON (GET /api/v1/audit/checkpoints/latest); not with --proofs"
    )
    parser.add_argument("--jwks", required=True, help="the key set file (GET /.well-known/jwks.json)")
    parser.add_argument("--entries", help="JSON Lines export (GET /api/v1/audit/entries?format=jsonl), from seq 0")
    parser.add_argument(
        "--old-checkpoint",
        action="append",
        default=[],
        help="an earlier checkpoint the new one must extend (repeatable)",
    )
    parser.add_argument("--old-entries", help="an earlier export, verified against its own --old-checkpoint")
    parser.add_argument("--consistency-proof", help="GET /api/v1/audit/proofs/consistency JSON linking the checkpoints")
    parser.add_argument("--origin", help="refuse checkpoints from any other origin")
    parser.add_argument(
        "--trusted-checkpoint",
        help="a checkpoint you kept earlier: the log must still extend it (a smaller or different log fails)",
    )
    parser.add_argument(
        "--proofs",
        help="a filtered selection with inclusion proofs (GET /api/v1/audit/entries?format=proofs), verified alone",
    )
    args = parser.parse_args(argv)
    if args.proofs:
        if args.checkpoint or args.entries or args.old_checkpoint or args.consistency_proof or args.trusted_checkpoint:
            parser.error("--proofs carries its own checkpoint: give it with --jwks (and --origin) only")
        return verify_proofs(args.proofs, load_jwks(_load_json(args.jwks, "JWKS")), origin=args.origin)
    if not args.checkpoint:
        parser.error("the following arguments are required: --checkpoint")

    keys = load_jwks(_load_json(args.jwks, "JWKS"))
    checkpoint = parse_checkpoint(_load_json(args.checkpoint, "checkpoint"), name=f"checkpoint {args.checkpoint}")
    older = []
    for path in args.old_checkpoint:
        document = _load_json(path, "checkpoint")
        if isinstance(document, list):  # GET /api/v1/audit/checkpoints: many at once
            older += [parse_checkpoint(d, name=f"checkpoint {path}[{i}]") for i, d in enumerate(document)]
        else:
            older.append(parse_checkpoint(document, name=f"checkpoint {path}"))
    trusted = None
    if args.trusted_checkpoint:
        trusted = parse_checkpoint(
            _load_json(args.trusted_checkpoint, "checkpoint"), name=f"trusted checkpoint {args.trusted_checkpoint}"
        )
    for cp in [checkpoint, *older, *([trusted] if trusted else [])]:
        verify_checkpoint_signature(cp, keys)
        if args.origin is not None and cp.origin != args.origin:
            raise InputError(f"{cp.name} is from origin {cp.origin!r}, not {args.origin!r}")
        if cp.origin != checkpoint.origin:
            raise InputError(f"{cp.name} is from origin {cp.origin!r}, the checkpoint from {checkpoint.origin!r}")
        if cp.size > checkpoint.size and cp is not trusted:
            raise InputError(f"{cp.name} (size {cp.size}) is newer than the checkpoint (size {checkpoint.size})")

    messages = [f"{cp.name}: signature by {cp.kid} verifies (size {cp.size})" for cp in [*older, checkpoint]]
    if trusted is not None:
        # Both are signed: a log that is now smaller, or different at the
        # same size, was cut back or rewritten after the trusted one was issued.
        messages.insert(0, f"{trusted.name}: signature by {trusted.kid} verifies (size {trusted.size})")
        if trusted.size > checkpoint.size:
            return EXIT_FAILED, [
                *messages,
                f"deleted tail: the checkpoint covers {checkpoint.size} entries but {trusted.name} covers "
                f"{trusted.size}: entries {checkpoint.size}..{trusted.size - 1} were removed (or the log was wiped)",
                "FAILED",
            ]
        if trusted.size == checkpoint.size and trusted.root_hash != checkpoint.root_hash:
            return EXIT_FAILED, [
                *messages,
                f"rewritten history: the checkpoint and {trusted.name} are both signed for size {trusted.size} "
                "with different root hashes",
                "FAILED",
            ]
        older.append(trusted)

    if args.consistency_proof:
        if len(older) != 1:
            raise InputError("--consistency-proof needs exactly one --old-checkpoint (or --trusted-checkpoint)")
        first, second, proof = _load_proof(args.consistency_proof)
        old = older[0]
        if (first, second) != (old.size, checkpoint.size):
            raise InputError(
                f"the proof is for sizes {first}→{second}, the checkpoints are {old.size}→{checkpoint.size}"
            )
        try:
            merkle.verify_consistency(first, second, proof, old.root_hash, checkpoint.root_hash)
        except merkle.ProofError as exc:
            if old is trusted:
                return EXIT_FAILED, [
                    *messages,
                    f"rewritten history: the checkpoint does not extend {trusted.name}: {exc}",
                    "FAILED",
                ]
            return EXIT_FAILED, [*messages, f"the checkpoints are NOT consistent: {exc}"]
        messages.append(f"size {first} is a prefix of size {second}: the consistency proof verifies")
        if not args.entries:
            return EXIT_OK, [*messages, "OK"]
    elif not args.entries:
        raise InputError("give --entries, or --old-checkpoint with --consistency-proof")

    if args.old_entries:
        if not older:
            raise InputError("--old-entries needs the --old-checkpoint it was verified against")
        reference = verify_export(args.old_entries, max(older, key=lambda c: c.size))
        if not reference.ok:
            raise InputError("--old-entries does not verify against its checkpoint: " + reference.messages[-1])

    try:
        report = verify_export(args.entries, checkpoint, older=older, old_entries=args.old_entries)
    except VerificationFailed as exc:
        return EXIT_FAILED, [*messages, str(exc)]
    return (EXIT_OK if report.ok else EXIT_FAILED), [*messages, *report.messages, "OK" if report.ok else "FAILED"]


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code, messages = run(argv)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    stream = sys.stdout if code == EXIT_OK else sys.stderr
    for message in messages:
        print(message, file=stream)
    return code


if __name__ == "__main__":
    sys.exit(main())
