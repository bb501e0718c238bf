"""Standalone verifier for a dataset export and its signed manifest, or for a deletion receipt.

Needs only the Python standard library and ``cryptography``: it imports
nothing from the project, so a data scientist or an auditor can copy this one
file and run it anywhere::

    python -m access.verify --export dataset.jsonl --manifest manifest.jwt --jwks jwks.json
    python -m access.verify --export dataset.jsonl.gz --manifest manifest.jwt --jwks jwks.json --json
    python verify.py ... --now 2026-07-01T00:00:00Z     # judge expiry at another moment

The files are what ``GET /api/v1/access/grants/<grant>/export``,
``GET /api/v1/access/exports/<export>/manifest`` and ``GET /.well-known/jwks.json``
serve.  It checks, and names the first problem:

* the manifest is a JWS in compact form with ``alg: EdDSA``, ``typ:
  dataset-manifest+jwt`` and a ``kid`` that the JWKS publishes as an Ed25519
  signing key, and the signature verifies;
* the payload holds every field the contract names, with the right types;
* the SHA-256 of the export's bytes is the manifest's ``sha256`` (a file saved
  still gzip-compressed is decompressed first: the hash covers the bytes
  before transfer encoding);
* every line is a JSON object with ``subject``, ``episode``, ``timestamp``,
  ``type`` and ``app``; the lines are ordered by subject, then timestamp; each
  app is one of the manifest's ``apps`` and each timestamp lies in
  ``[since, until)``; the counts of lines and of subjects match ``events`` and
  ``subjects``;
* and the grant has not expired at ``--now`` (default: the current time).

Then it states what the dataset may be used for, and until when.

With ``--receipt`` it checks an employee's deletion receipt instead::

    python -m access.verify --receipt receipt.jwt --jwks jwks.json --proof proof.json

(``GET /api/v1/consent/me/erasure-requests/<id>/receipt`` and ``.../receipt/proof``):
the receipt is a JWS with ``alg: EdDSA``, ``typ: erasure-receipt+jwt`` and a
``kid`` of an erasure key the JWKS publishes; its claims are complete and
agree with each other (scope and categories, a destroyed data key only when
everything was erased, ``deadline_met`` against ``completed_at`` and
``due_at``).  With ``--proof``, the checkpoint's signature by an audit key,
the leaf's hash against the receipt's ``audit_leaf_hash``, the RFC 6962
inclusion of that leaf at the receipt's ``audit_seq`` in the checkpoint's
tree, and that the entry is the ``erasure.completed`` entry of this request
saying what the receipt says.

Exit status: 0 verified and usable, 1 does not verify or the grant has
expired (the dataset must be deleted), 2 unusable input (a file is missing,
the manifest is not a JWS, the JWKS is malformed, bad arguments).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import gzip
import hashlib
import json
import re
import sys
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
MANIFEST_TYPE = "dataset-manifest+jwt"
LINE_FIELDS = ("subject", "episode", "timestamp", "type", "app")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class InputError(Exception):
    """An input is unusable (exit 2)."""


class Failed(Exception):
    """The dataset does not verify (exit 1); the message names the first problem."""


def b64url_decode(text: str) -> bytes:
    """Unpadded base64url (RFC 7515, section 2), strictly."""
    if not _B64URL.match(text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse_time(text: object) -> datetime | None:
    if not isinstance(text, str) or not _RFC3339.match(text):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:  # a month 13, a second 61
        return None


def _time(claims: dict, name: str) -> datetime:
    """A time field of a payload that ``verify_manifest`` has checked."""
    return cast(datetime, parse_time(claims[name]))


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_names(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) and v for v in value)


# What each field of the payload must be: (description, test).
PAYLOAD_FIELDS = {
    **dict.fromkeys(("grant", "request", "purpose"), ("a non-empty string", lambda v: isinstance(v, str) and v)),
    **dict.fromkeys(("categories", "apps"), ("a non-empty list of strings", _is_names)),
    **dict.fromkeys(("since", "until", "exported_at", "expires_at"), ("an RFC 3339 time", parse_time)),
    **dict.fromkeys(("subjects", "events", "audit_seq"), ("an integer of 0 or more", _is_count)),
    "sha256": ("64 lowercase hex digits", lambda v: isinstance(v, str) and _HEX64.match(v)),
}


def _load_json(path: str, what: str) -> object:
    try:
        with open(path, "rb") as handle:
            return json.loads(handle.read().decode("utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read the {what} {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, ValueError):
        raise InputError(f"the {what} {path} is not valid JSON") from None


def find_key(jwks: object, kid: str, what: str = "manifest") -> Ed25519PublicKey:
    """The Ed25519 public key the JWKS publishes under ``kid``."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise InputError('the JWKS is not a JSON object with a "keys" list')
    for jwk in jwks["keys"]:
        if not isinstance(jwk, dict) or jwk.get("kid") != kid:
            continue
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            raise Failed(f"the JWKS key {kid!r} is not an OKP/Ed25519 key")
        if jwk.get("use", "sig") != "sig":
            raise Failed(f"the JWKS key {kid!r} is not a signing key (use {jwk.get('use')!r})")
        try:
            return Ed25519PublicKey.from_public_bytes(b64url_decode(str(jwk.get("x", ""))))
        except (ValueError, binascii.Error):
            raise InputError(f'the JWKS key {kid!r} has an invalid "x"') from None
    raise Failed(f"the JWKS publishes no key {kid!r}: the {what} was not signed by a published key")


def verify_jws(token: str, jwks: object, *, typ: str, what: str, kind: str) -> tuple[str, dict]:
    """Check a compact JWS of ``typ`` signed by a key the JWKS publishes; return the ``kid`` and the claims.

    ``what`` names the document in messages ("manifest"), ``kind`` says what
    a document of another ``typ`` is not ("a dataset manifest").
    """
    parts = token.strip().split(".")
    try:
        if len(parts) != 3:
            raise ValueError("not three parts")
        header = json.loads(b64url_decode(parts[0]).decode("utf-8"))
        payload, signature = b64url_decode(parts[1]), b64url_decode(parts[2])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InputError(f"the {what} is not a JWS in compact serialization (header.payload.signature)") from None
    if not isinstance(header, dict):
        raise InputError(f"the {what}'s protected header is not a JSON object")
    if header.get("alg") != "EdDSA":
        raise Failed(f"the {what}'s alg is {header.get('alg')!r}, not 'EdDSA'")
    if header.get("typ") != typ:
        raise Failed(f"the {what}'s typ is {header.get('typ')!r}, not {typ!r}: it is not {kind}")
    if "crit" in header:
        raise Failed(f"the {what}'s header marks {header['crit']!r} critical; this verifier knows no extensions")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise Failed(f"the {what}'s header names no kid")
    key = find_key(jwks, kid, what)
    try:
        key.verify(signature, f"{parts[0]}.{parts[1]}".encode("ascii"))
    except InvalidSignature:
        raise Failed(
            f"the {what}'s signature does not verify with key {kid!r}: it was altered or signed by another key"
        ) from None
    try:
        claims = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Failed(f"the {what}'s payload is not JSON") from None
    if not isinstance(claims, dict):
        raise Failed(f"the {what}'s payload is not a JSON object")
    return kid, claims


def verify_manifest(token: str, jwks: object) -> tuple[str, dict]:
    """Check the JWS and its payload; return the ``kid`` and the claims."""
    kid, claims = verify_jws(token, jwks, typ=MANIFEST_TYPE, what="manifest", kind="a dataset manifest")
    missing = [name for name in PAYLOAD_FIELDS if name not in claims]
    if missing:
        raise Failed(f"the manifest lacks {', '.join(missing)}")
    for name, (what, test) in PAYLOAD_FIELDS.items():
        if not test(claims[name]):
            raise Failed(f"the manifest's {name} must be {what}, not {claims[name]!r}")
    if _time(claims, "since") >= _time(claims, "until"):
        raise Failed("the manifest's since is not before its until")
    return kid, claims


def _line_problem(raw: bytes, state: dict) -> str | None:
    """Why ``raw`` (one line, with its newline) breaks the export's rules, or None; updates ``state``."""
    if not raw.endswith(b"\n"):
        return "not terminated by a newline (the file was cut short or appended to)"
    try:
        event = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return "not JSON"
    if not isinstance(event, dict):
        return "not a JSON object"
    missing = [name for name in LINE_FIELDS if name not in event]
    if missing:
        return f"lacks {', '.join(missing)}"
    subject, ts, app = event["subject"], event["timestamp"], event["app"]
    if not all(isinstance(event[name], str) for name in ("subject", "episode", "type", "app")):
        return "subject, episode, type and app must be strings"
    if not isinstance(ts, (int, float)) or isinstance(ts, bool):
        return "timestamp is not a number"
    if app not in state["apps"]:
        return f"app {app!r} is not one of the manifest's apps"
    if not state["low"] <= ts < state["high"]:
        try:
            moment = f" ({datetime.fromtimestamp(ts, UTC).isoformat().replace('+00:00', 'Z')})"
        except (OverflowError, ValueError, OSError):  # NaN, or beyond any calendar
            moment = ""
        return f"timestamp {ts}{moment} is outside the manifest's [since, until)"
    previous = state["previous"]
    if previous is not None and (subject, ts) < previous:
        return f"out of order: subject {subject!r} at {ts} comes after subject {previous[0]!r} at {previous[1]}"
    if previous is None or subject != previous[0]:
        state["subjects"] += 1
    state["previous"] = (subject, ts)
    return None


def check_export(path: str, claims: dict) -> dict:
    """Hash the export and check every line in one streaming pass; return what was found."""
    try:
        with open(path, "rb") as handle:
            compressed = handle.read(2) == b"\x1f\x8b"
    except OSError as exc:
        raise InputError(f"cannot read the export {path}: {exc.strerror}") from None
    state = {
        "apps": set(claims["apps"]),
        "low": _time(claims, "since").timestamp(),
        "high": _time(claims, "until").timestamp(),
        "previous": None,
        "subjects": 0,
    }
    digest, lines, problem = hashlib.sha256(), 0, None
    try:
        with gzip.open(path, "rb") if compressed else open(path, "rb") as handle:  # noqa: SIM115
            for raw in handle:
                digest.update(raw)
                lines += 1
                if problem is None and (why := _line_problem(raw, state)) is not None:
                    problem = f"line {lines}: {why}"
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise Failed(f"the export is gzip-compressed but the stream is damaged or cut short ({exc})") from None
    except OSError as exc:
        raise InputError(f"cannot read the export {path}: {exc.strerror}") from None
    found = {"gzip": compressed, "sha256": digest.hexdigest(), "events": lines, "subjects": state["subjects"]}
    counts = []
    if lines != claims["events"]:
        counts.append(f"it has {lines} lines, the manifest says {claims['events']} events")
    if problem is None and state["subjects"] != claims["subjects"]:
        counts.append(f"it has {state['subjects']} subjects, the manifest says {claims['subjects']}")
    if found["sha256"] != claims["sha256"]:
        details = "".join(f"; {d}" for d in [f"first bad line: {problem}" if problem else None, *counts] if d)
        raise Failed(
            f"the export's SHA-256 is {found['sha256']}, the manifest says {claims['sha256']}: "
            f"the file is not the dataset the manifest describes{details}"
        )
    if problem or counts:
        raise Failed(problem or "; ".join(counts))
    return found


def describe(claims: dict) -> list[str]:
    """What the dataset may be used for, in plain words."""
    return [
        f"Exported at {claims['exported_at']} under grant {claims['grant']} (request {claims['request']}); "
        f"the audit log records the export as entry seq {claims['audit_seq']}.",
        f"It may be used only for the purpose {claims['purpose']!r}: categories {', '.join(claims['categories'])}, "
        f"applications {', '.join(claims['apps'])}, events from {claims['since']} until {claims['until']}.",
    ]


# --- deletion receipts -------------------------------------------------------------------

RECEIPT_TYPE = "erasure-receipt+jwt"
# Keys are named "<purpose>-<thumbprint>": only the erasure key signs receipts, only the audit key checkpoints.
RECEIPT_KID_PREFIX, CHECKPOINT_KID_PREFIX = "erasure-", "audit-"
COMPLETED_ACTION = "erasure.completed"
CHECKPOINT_FIELDS = ("origin", "size", "root_hash", "timestamp", "kid", "signature")


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value)


RECEIPT_FIELDS = {
    **dict.fromkeys(("iss", "sub", "jti", "erasure_request", "reason"), ("a non-empty string", _is_text)),
    "categories": ("a list of strings", lambda v: isinstance(v, list) and all(_is_text(c) for c in v)),
    "scope": ('"all" or "categories"', lambda v: v in ("all", "categories")),
    **dict.fromkeys(("events", "chunks", "audit_seq"), ("an integer of 0 or more", _is_count)),
    **dict.fromkeys(
        ("requested_at", "due_at", "completed_at", "ciphertext_deleted_at"), ("an RFC 3339 time", parse_time)
    ),
    "data_key_id": ("a non-empty string or null", lambda v: v is None or _is_text(v)),
    "data_key_destroyed_at": ("an RFC 3339 time or null", lambda v: v is None or parse_time(v)),
    "deadline_met": ("true or false", lambda v: isinstance(v, bool)),
    "audit_leaf_hash": ("64 lowercase hex digits", lambda v: isinstance(v, str) and _HEX64.match(v)),
}


def verify_receipt(token: str, jwks: object) -> tuple[str, dict]:
    """Check a deletion receipt's signature, header and claims; return the ``kid`` and the claims."""
    kid, claims = verify_jws(token, jwks, typ=RECEIPT_TYPE, what="receipt", kind="a deletion receipt")
    if not kid.startswith(RECEIPT_KID_PREFIX):
        raise Failed(f"the receipt is signed by {kid!r}, which is not an erasure key ({RECEIPT_KID_PREFIX}...)")
    missing = [name for name in RECEIPT_FIELDS if name not in claims]
    if missing:
        raise Failed(f"the receipt lacks {', '.join(missing)}")
    for name, (what, test) in RECEIPT_FIELDS.items():
        if not test(claims[name]):
            raise Failed(f"the receipt's {name} must be {what}, not {claims[name]!r}")
    if (claims["scope"] == "all") != (not claims["categories"]):
        raise Failed(f"the receipt's scope {claims['scope']!r} contradicts its categories {claims['categories']!r}")
    if (claims["data_key_id"] is None) != (claims["data_key_destroyed_at"] is None):
        raise Failed("the receipt names a data key without when it was destroyed, or the reverse")
    if claims["scope"] == "categories" and claims["data_key_id"] is not None:
        raise Failed("the receipt says a data key was destroyed, but only some categories were erased")
    met = _time(claims, "completed_at") <= _time(claims, "due_at")
    if claims["deadline_met"] != met:
        raise Failed(
            f"the receipt's deadline_met is {claims['deadline_met']}, but it was completed at "
            f"{claims['completed_at']} for a deadline of {claims['due_at']}"
        )
    return kid, claims


def _canonical(document: dict) -> bytes:
    # RFC 8785: a checkpoint holds only strings and integers, for which sorted keys,
    # no whitespace and json.dumps' escaping (ensure_ascii=False) are exactly JCS.
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion(index: int, size: int, leaf_hash: bytes, proof: list[bytes]) -> bytes:
    """The root ``proof`` leads to from ``leaf_hash`` at ``index`` in a tree of ``size`` (RFC 9162 2.1.3.2)."""
    if not 0 <= index < size:
        raise Failed(f"the proof's leaf_index {index} is not inside its tree of {size} entries")
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise Failed("the inclusion proof is longer than the tree is high")
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Failed("the inclusion proof is shorter than the tree is high")
    return r


def _checkpoint(document: object, jwks: object) -> dict:
    """Check the bundle's checkpoint and its Ed25519 signature by a published audit key."""
    if not isinstance(document, dict) or sorted(document) != sorted(CHECKPOINT_FIELDS):
        raise InputError(f"the proof's checkpoint must be an object of exactly {', '.join(CHECKPOINT_FIELDS)}")
    size, root_hash = document["size"], document["root_hash"]
    if not _is_count(size) or not isinstance(root_hash, str) or not _HEX64.match(root_hash):
        raise InputError("the proof's checkpoint needs an integer size and a 64-hex-digit root_hash")
    if not all(_is_text(document[name]) for name in ("origin", "timestamp", "kid", "signature")):
        raise InputError("the proof's checkpoint needs origin, timestamp, kid and signature as strings")
    kid = document["kid"]
    if not kid.startswith(CHECKPOINT_KID_PREFIX):
        raise Failed(f"the checkpoint is signed by {kid!r}, which is not an audit key ({CHECKPOINT_KID_PREFIX}...)")
    key = find_key(jwks, kid, "checkpoint")
    body = {name: document[name] for name in CHECKPOINT_FIELDS if name != "signature"}
    try:
        key.verify(b64url_decode(document["signature"]), _canonical(body))
    except (ValueError, binascii.Error, InvalidSignature):
        raise Failed(
            f"the checkpoint's signature does not verify with key {kid!r}: it was altered or signed by another key"
        ) from None
    return document


def check_inclusion(bundle: object, claims: dict, jwks: object) -> dict:
    """Check that the receipt's audit entry is in the log a signed checkpoint commits to, and says the same.

    ``bundle`` is what ``GET .../erasure-requests/<id>/receipt/proof`` serves.
    """
    if not isinstance(bundle, dict):
        raise InputError("the proof is not a JSON object")
    missing = [
        name for name in ("leaf_index", "tree_size", "leaf", "leaf_hash", "proof", "checkpoint") if name not in bundle
    ]
    if missing:
        raise InputError(f"the proof lacks {', '.join(missing)}")
    index, size, leaf, path = bundle["leaf_index"], bundle["tree_size"], bundle["leaf"], bundle["proof"]
    if not _is_count(index) or not _is_count(size) or not isinstance(leaf, str):
        raise InputError("the proof's leaf_index and tree_size must be integers and its leaf a string")
    if not isinstance(path, list) or not all(isinstance(h, str) and _HEX64.match(h) for h in path):
        raise InputError("the proof's proof must be a list of 64-hex-digit hashes")
    checkpoint = _checkpoint(bundle["checkpoint"], jwks)
    if checkpoint["size"] != size:
        raise Failed(f"the proof is for a tree of {size} entries, its checkpoint signs {checkpoint['size']}")
    if index != claims["audit_seq"]:
        raise Failed(f"the proof is for audit entry {index}, the receipt cites entry {claims['audit_seq']}")
    leaf_hash = hashlib.sha256(b"\x00" + leaf.encode("utf-8")).digest()
    if leaf_hash.hex() != claims["audit_leaf_hash"]:
        raise Failed("the proof's leaf is not the audit entry the receipt cites (its hash differs)")
    if bundle["leaf_hash"] != leaf_hash.hex():
        raise Failed("the proof's leaf_hash is not SHA-256(0x00 || leaf)")
    root = root_from_inclusion(index, size, leaf_hash, [bytes.fromhex(h) for h in path])
    if root.hex() != checkpoint["root_hash"]:
        raise Failed(
            f"the inclusion proof does not lead to the checkpoint's root hash: entry {index} is not "
            f"in the log of {size} entries the checkpoint signs"
        )
    try:
        entry = json.loads(leaf)
    except ValueError:
        raise Failed("the audit entry is not JSON") from None
    detail = entry.get("detail") if isinstance(entry, dict) else None
    if not isinstance(detail, dict):
        raise Failed("the audit entry has no detail object")
    expected = {
        "seq": (entry.get("seq"), index),
        "action": (entry.get("action"), COMPLETED_ACTION),
        "target": (entry.get("target"), f"subject:{claims['sub']}"),
        "detail.erasure_request_id": (detail.get("erasure_request_id"), claims["erasure_request"]),
        "detail.reason": (detail.get("reason"), claims["reason"]),
        "detail.categories": (detail.get("categories"), claims["categories"]),
        "detail.events": (detail.get("events"), claims["events"]),
        "detail.chunks": (detail.get("chunks"), claims["chunks"]),
        "detail.data_key": (detail.get("data_key"), claims["data_key_id"]),
        "detail.key_destroyed_at": (detail.get("key_destroyed_at"), claims["data_key_destroyed_at"]),
        # Entries written before receipts existed do not state it; the receipt then gives the completion time.
        "detail.ciphertext_deleted_at": (
            detail.get("ciphertext_deleted_at", claims["ciphertext_deleted_at"]),
            claims["ciphertext_deleted_at"],
        ),
        "detail.overdue": (detail.get("overdue"), not claims["deadline_met"]),
    }
    for name, (found, wanted) in expected.items():
        if found != wanted:
            raise Failed(f"the audit entry's {name} is {found!r}, the receipt says {wanted!r}")
    return {"seq": index, "tree_size": size, "checkpoint": checkpoint}


def describe_receipt(claims: dict) -> list[str]:
    """What the receipt says was erased, and when, in plain words."""
    what = "everything recorded" if claims["scope"] == "all" else f"the categories {', '.join(claims['categories'])}"
    key = (
        f"data key {claims['data_key_id']} destroyed at {claims['data_key_destroyed_at']}; "
        if claims["data_key_id"]
        else ""
    )
    met = "met" if claims["deadline_met"] else "MISSED"
    return [
        f"Erasure request {claims['erasure_request']} ({claims['reason']}) for subject {claims['sub']}: {what}, "
        f"{claims['events']} events in {claims['chunks']} chunks removed.",
        f"{key}ciphertext deleted at {claims['ciphertext_deleted_at']}; completed at {claims['completed_at']}, "
        f"due by {claims['due_at']}: deadline {met}. The audit log records it as entry seq {claims['audit_seq']}.",
    ]


def _read_text(path: str, what: str) -> str:
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("ascii")
    except OSError as exc:
        raise InputError(f"cannot read the {what} {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"the {what} is not a JWS in compact serialization (header.payload.signature)") from None


def run_receipt(args: argparse.Namespace) -> tuple[int, dict]:
    """``--receipt`` mode: the receipt against the JWKS and, with ``--proof``, the log's signed checkpoint."""
    report: dict = {
        "status": "failed",
        "problem": None,
        "kid": None,
        "receipt": None,
        "inclusion": None,
        "messages": [],
    }
    jwks = _load_json(args.jwks, "JWKS")
    token = _read_text(args.receipt, "receipt")
    bundle = _load_json(args.proof, "proof") if args.proof else None
    try:
        report["kid"], claims = verify_receipt(token, jwks)
        report["receipt"] = claims
        report["messages"].append(f"receipt: the signature by {report['kid']} verifies")
        if bundle is not None:
            found = check_inclusion(bundle, claims, jwks)
            report["inclusion"] = {"seq": found["seq"], "tree_size": found["tree_size"]}
            checkpoint = found["checkpoint"]
            report["messages"].append(
                f"audit log: entry {found['seq']} is included in the checkpoint of {found['tree_size']} entries "
                f"signed by {checkpoint['kid']} at {checkpoint['timestamp']}, and records this erasure"
            )
    except Failed as exc:
        report["problem"] = str(exc)
        report["messages"].append(f"DOES NOT VERIFY: {exc}")
        return EXIT_FAILED, report
    report["messages"] += describe_receipt(claims)
    report["status"] = "verified"
    report["messages"].append(
        "VERIFIED: the receipt and its inclusion in the audit log."
        if bundle is not None
        else "VERIFIED: the receipt's signature and claims; its inclusion in the audit log was not checked "
        "(pass --proof with the proof bundle)."
    )
    return EXIT_OK, report


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # bad arguments are unusable input, reported like the rest (also in JSON)
        raise InputError(message)


def _now(text: str) -> datetime:
    moment = parse_time(text)
    if moment is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not an RFC 3339 time")
    return moment


def run(argv: Sequence[str] | None = None) -> tuple[int, dict]:
    parser = _Parser(prog="python -m access.verify", description=__doc__.split("\n")[0])
    parser.add_argument("--export", help="the dataset (JSON Lines, or as saved still gzip-compressed)")
    parser.add_argument("--manifest", help="the signed manifest (GET .../exports/<id>/manifest)")
    parser.add_argument("--jwks", required=True, help="the key set (GET /.well-known/jwks.json)")
    parser.add_argument("--json", action="store_true", help="print one JSON object for machines")
    parser.add_argument("--now", type=_now, default=None, help="judge expiry at this RFC 3339 time (default: now)")
    parser.add_argument(
        "--receipt", help="instead of a dataset: a deletion receipt (.../erasure-requests/<id>/receipt)"
    )
    parser.add_argument("--proof", help="with --receipt: its inclusion proof (.../erasure-requests/<id>/receipt/proof)")
    args = parser.parse_args(argv)
    if args.receipt is not None:
        if args.export is not None or args.manifest is not None:
            raise InputError("--receipt checks a deletion receipt; it takes no --export or --manifest")
        return run_receipt(args)
    if args.proof is not None:
        raise InputError("--proof goes with --receipt")
    missing = [f"--{name}" for name in ("export", "manifest") if getattr(args, name) is None]
    if missing:
        raise InputError(f"the following arguments are required: {', '.join(missing)} (or --receipt)")
    report: dict = {"status": "failed", "problem": None, "kid": None, "manifest": None, "export": None, "messages": []}
    jwks = _load_json(args.jwks, "JWKS")
    try:
        with open(args.manifest, "rb") as handle:
            token = handle.read().decode("ascii")
    except OSError as exc:
        raise InputError(f"cannot read the manifest {args.manifest}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError("the manifest is not a JWS in compact serialization (header.payload.signature)") from None
    try:
        report["kid"], claims = verify_manifest(token, jwks)
        report["manifest"] = claims
        report["messages"].append(f"manifest: the signature by {report['kid']} verifies")
        report["export"] = found = check_export(args.export, claims)
    except Failed as exc:
        report["problem"] = str(exc)
        report["messages"].append(f"DOES NOT VERIFY: {exc}")
        return EXIT_FAILED, report
    packed = " (saved gzip-compressed)" if found["gzip"] else ""
    report["messages"] += [
        f"export{packed}: {found['events']} events of {found['subjects']} subjects; SHA-256 matches the manifest",
        *describe(claims),
    ]
    now = args.now or datetime.now(UTC)
    if now >= _time(claims, "expires_at"):
        report["status"] = "expired"
        report["problem"] = f"the grant expired at {claims['expires_at']}"
        report["messages"].append(
            f"EXPIRED: the grant expired at {claims['expires_at']}; the dataset must be deleted, with every copy."
        )
        return EXIT_FAILED, report
    report["status"] = "verified"
    report["messages"].append(
        f"VERIFIED: usable until {claims['expires_at']}, unless the grant is revoked earlier; "
        f"GET /api/v1/access/grants/{claims['grant']}/withdrawals lists subjects whose events must be deleted."
    )
    return EXIT_OK, report


def main(argv: Sequence[str] | None = None) -> int:
    as_json = "--json" in (sys.argv[1:] if argv is None else argv)
    try:
        code, report = run(argv)
    except InputError as exc:
        code, report = EXIT_BAD_INPUT, {"status": "unusable", "problem": str(exc), "messages": [f"error: {exc}"]}
    if as_json:
        print(json.dumps({"exit_status": code, **report}, indent=2))
    else:
        print("\n".join(report["messages"]), file=sys.stdout if code == EXIT_OK else sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
