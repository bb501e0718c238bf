"""Full verification of the stored log, for ``manage.py verify_audit_log`` and the console.

Reads every entry once and checks, naming the first bad entry:

* ``seq`` runs from 0 without gaps and the head row agrees with the count;
* each leaf hashes to its stored ``leaf_hash`` and is a well-formed,
  canonical entry whose fields equal the row's columns;
* the leaves hash to the root of every stored checkpoint at its size, and
  every checkpoint's signature verifies with its published key;
* the cached complete-subtree hashes equal the recomputed ones (a change
  that rewrote both a leaf and its hash is pinned down to one block this way);
* the log is anchored: a non-empty log with no checkpoint is not called
  verified ("no checkpoint: cannot vouch for ..."), and an empty log with
  checkpoints is named as wiped.  Entries after the largest checkpoint are
  reported as not yet covered.

Everything stored can be rewritten by someone with the database's superuser
rights, checkpoints included, so an auditor can pin a checkpoint they hold
(``trusted``): its signature is checked against the audit key set, and the
report names a wiped log, a deleted tail (fewer entries than it covers) or a
rewritten history (the entries no longer hash to its root).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from django.conf import settings
from django.utils import timezone

from audit import merkle, tree
from audit.canonical import canonical_json
from audit.models import AuditCheckpoint, AuditEntry, AuditNode
from audit.selectors import log_size
from audit.timestamps import rfc3339
from audit.verify import (
    ENTRY_KEYS,
    RFC3339,
    Checkpoint,
    InputError,
    load_jwks,
    parse_checkpoint,
    verify_checkpoint_signature,
)
from config.errors import InvalidInput
from signing.keyring import Purpose, b64url_decode, jwks, keyring

_CHUNK = 5000


@dataclass
class VerificationReport:
    ok: bool = True
    size: int = 0
    entries_checked: int = 0
    checkpoints_checked: int = 0
    problems: list[str] = field(default_factory=list)
    first_bad_seq: int | None = None
    seconds: float = 0.0
    checked_at: str = ""
    # How many entries, from seq 0, a checkpoint that matches vouches for.
    vouched_size: int = 0
    notes: list[str] = field(default_factory=list)
    trusted: dict | None = None

    def fail(self, message: str, seq: int | None = None) -> None:
        self.ok = False
        if seq is not None and (self.first_bad_seq is None or seq < self.first_bad_seq):
            self.first_bad_seq = seq
        if len(self.problems) < 50:
            self.problems.append(message)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _row_problem(seq, ts, actor, action, target, detail, leaf: str, stored_hash: bytes) -> str | None:
    raw = leaf.encode("utf-8")
    if merkle.hash_leaf(raw) != stored_hash:
        return "its leaf bytes do not hash to the stored leaf hash"
    try:
        entry = json.loads(leaf)
    except ValueError:
        return "its leaf is not JSON"
    if not isinstance(entry, dict) or set(entry) != ENTRY_KEYS:
        return "its leaf is not an entry object"
    if entry["seq"] != seq:
        return f"its leaf says seq {entry['seq']}"
    if not isinstance(entry["ts"], str) or not RFC3339.match(entry["ts"]):
        return "its leaf's ts is not RFC 3339"
    columns = {"ts": rfc3339(ts), "actor": actor, "action": action, "target": target, "detail": detail}
    for name, value in columns.items():
        if entry[name] != value:
            return f"its {name} column differs from its leaf"
    if canonical_json(entry) != raw:
        return "its leaf is not in RFC 8785 canonical form"
    return None


def trusted_checkpoint_parse(document: object) -> Checkpoint:
    """A checkpoint an auditor holds (as served by ``GET /api/v1/audit/checkpoints/latest``), checked.

    It must be well formed, from this service's origin, and signed by an
    audit key of the published key set; otherwise ``InvalidInput`` names the
    problem.
    """
    try:
        checkpoint = parse_checkpoint(document, name="the trusted checkpoint")
        if checkpoint.origin != settings.SERVICE_ORIGIN:
            raise InputError(f"the trusted checkpoint is from {checkpoint.origin!r}, not {settings.SERVICE_ORIGIN!r}")
        # Only the audit keys of the published set: a checkpoint signed with
        # another purpose's key (a dataset manifest's, say) is not a checkpoint.
        audit_kids = {key.kid for key in keyring(Purpose.AUDIT).all()}
        if checkpoint.kid not in audit_kids:
            raise InputError(f"the trusted checkpoint is signed with {checkpoint.kid!r}, which is not an audit key")
        published = [jwk for jwk in jwks()["keys"] if jwk["kid"] in audit_kids]
        verify_checkpoint_signature(checkpoint, load_jwks({"keys": published}))
    except InputError as exc:
        raise InvalidInput("invalid_checkpoint", str(exc)) from None
    return checkpoint


def _check_trusted(report: VerificationReport, trusted: Checkpoint, roots: dict[int, bytes]) -> None:
    """Compare the stored log with a checkpoint the auditor holds (see the module docstring)."""
    m = trusted.size
    what = f"the trusted checkpoint (size {m}, signed {trusted.timestamp})"
    if m in roots:
        if roots[m] != trusted.root_hash:
            # Stored checkpoints cannot narrow it down: whoever rewrote the
            # entries may have had new checkpoints signed over them.
            report.fail(
                f"rewritten history: the stored entries 0..{m - 1} do not hash to the root of {what}; "
                f"the first changed entry is one of seq 0..{m - 1}",
                0,
            )
        else:
            report.vouched_size = max(report.vouched_size, m)
    elif report.size == 0 and report.entries_checked == 0:
        report.fail(f"wiped: the log is empty but {what} covers {m} entries", 0)
    elif report.size < m:
        report.fail(
            f"deleted tail: the log has {report.size} entries but {what} covers {m}: "
            f"entries {report.size}..{m - 1} were removed",
            report.size,
        )
    else:
        report.fail(f"{what} covers {m} entries but only {report.entries_checked} are stored in sequence")


def audit_log_verify(*, trusted: Checkpoint | None = None) -> VerificationReport:
    """Verify everything stored, against ``trusted`` too if given (already parsed and signature-checked)."""
    started = time.monotonic()
    report = VerificationReport(size=log_size(), checked_at=rfc3339(timezone.now()))
    if trusted is not None:
        report.trusted = {"size": trusted.size, "root_hash": trusted.root_hash.hex(), "timestamp": trusted.timestamp}
    checkpoints = list(AuditCheckpoint.objects.order_by("size", "id"))
    ring = keyring(Purpose.AUDIT)
    for cp in checkpoints:
        key = ring.get(cp.kid)
        if key is None:
            report.fail(f"checkpoint {cp.pk}: signing key {cp.kid} is unknown")
            continue
        try:
            key.public_key.verify(b64url_decode(cp.signature), canonical_json(cp.body()))
        except (InvalidSignature, ValueError):
            report.fail(f"checkpoint {cp.pk} (size {cp.size}): the signature does not verify")
    targets: dict[int, list[AuditCheckpoint]] = {}
    for cp in checkpoints:
        targets.setdefault(cp.size, []).append(cp)
    sizes = set(targets) | ({trusted.size} if trusted is not None else set())
    stored_nodes = {(lv, ix): bytes(h) for lv, ix, h in AuditNode.objects.values_list("level", "index", "hash")}
    mismatched_nodes: list[tuple[int, int]] = []

    def on_node(level: int, index: int, h: bytes) -> None:
        stored = stored_nodes.get((level, index))
        if stored is not None and stored != h:
            mismatched_nodes.append((level, index))

    builder = merkle.TreeBuilder(on_node=on_node, report_level=tree.CACHE_LEVEL)
    roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT}
    expected = 0
    rows = (
        AuditEntry.objects.order_by("seq")
        .values_list("seq", "ts", "actor", "action", "target", "detail", "leaf", "leaf_hash")
        .iterator(chunk_size=_CHUNK)
    )
    for seq, ts, actor, action, target, detail, leaf, stored_hash in rows:
        if seq != expected:
            report.fail(f"entry seq {expected} is missing (the next stored entry is seq {seq})", expected)
            break
        stored_hash = bytes(stored_hash)
        problem = _row_problem(seq, ts, actor, action, target, detail, leaf, stored_hash)
        if problem:
            report.fail(f"entry seq {seq}: {problem}", seq)
        builder.append(merkle.hash_leaf(leaf.encode("utf-8")))
        expected += 1
        if expected in sizes:
            roots[expected] = builder.root()
    report.entries_checked = expected
    if expected != report.size and report.first_bad_seq is None:
        report.fail(f"the log head says {report.size} entries but {expected} are stored", min(expected, report.size))
    exact = report.first_bad_seq
    good = 0
    wiped = expected == 0 and report.size == 0 and any(size > 0 for size in targets)
    if wiped:
        largest = checkpoints[-1]
        report.fail(f"wiped: the log is empty but checkpoint {largest.pk} covers {largest.size} entries", 0)
    for size in sorted(targets):
        for cp in targets[size]:
            report.checkpoints_checked += 1
            if size not in roots:
                if not wiped:
                    report.fail(f"checkpoint {cp.pk} covers {size} entries but only {expected} are stored", expected)
            elif roots[size].hex() != cp.root_hash:
                report.fail(
                    f"checkpoint {cp.pk} (size {size}) does not match the stored entries: "
                    f"the first changed entry is one of seq {good}..{size - 1}"
                )
                if exact is None and report.first_bad_seq is None:
                    report.first_bad_seq = good
        if size in roots and all(roots[size].hex() == cp.root_hash for cp in targets[size]):
            good = size
            report.vouched_size = size
    if trusted is not None:
        _check_trusted(report, trusted, roots)
    if report.ok and report.size > 0 and report.vouched_size == 0:
        report.fail(
            f"no checkpoint: cannot vouch for entries 0..{report.size - 1}; no signed checkpoint covers them "
            "(sign one, or verify against a checkpoint you hold)"
        )
    elif report.ok and report.vouched_size < report.size:
        report.notes.append(
            f"entries {report.vouched_size}..{report.size - 1} are not yet covered by a checkpoint: "
            "they are vouched for from the next one"
        )
    if mismatched_nodes:
        lowest = min(level for level, _ in mismatched_nodes)
        blocks = sorted(index for level, index in mismatched_nodes if level == lowest)
        for index in blocks[:5]:
            first, last = index << lowest, ((index + 1) << lowest) - 1
            report.fail(f"entries seq {first}..{last} no longer hash to the tree stored when they were added")
        if exact is None:
            report.first_bad_seq = blocks[0] << lowest
    report.seconds = round(time.monotonic() - started, 3)
    return report
