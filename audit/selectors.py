"""Reads of the audit log, each with its permission rule: only auditors read it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Max, Min, QuerySet

from accounts.guards import require_role
from accounts.models import Role, User
from audit import merkle
from audit.actions import AuditAction
from audit.models import AuditCheckpoint, AuditEntry, AuditHead
from audit.targets import subject_target
from audit.tree import StoredTree
from config.errors import InvalidInput, NotFound

FILTERS = ("from_seq", "to_seq", "since", "until", "actor", "action", "target", "family")

# Families of actions, by the prefix of their value, for filtering the log ("consent" matches
# "consent.granted", ...).  Derived from AuditAction so a new action's family is listed as soon as
# its prefix is; the labels are what the console's list shows.
FAMILY_LABELS = {
    "account": "Accounts and roles",
    "consent": "Consent",
    "notice": "Notices",
    "allowlist": "Allowlist of applications",
    "retention": "Retention rules",
    "device": "Capture devices",
    "collection": "Captured data (reads and deletions)",
    "data_request": "Data requests",
    "grant": "Dataset grants",
    "dataset": "Dataset exports",
    "erasure": "Erasure",
    "audit": "Audit log and checkpoints",
    "key": "Signing keys",
}
FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(str(a).split(".", 1)[0] for a in AuditAction))


def family_choices() -> list[tuple[str, str]]:
    """(family, label) for every family some action belongs to, in the order AuditAction declares them."""
    return [(f, FAMILY_LABELS.get(f, f.replace("_", " ").capitalize())) for f in FAMILIES]


# Inclusion proofs for a selection are computed in one pass; beyond this it is a full export's job.
PROOFS_MAX_ENTRIES = 10_000


def log_size() -> int:
    """The number of entries in the log.

    Entries and the head's size commit together, so every entry below this
    size is readable once it has been read.
    """
    return AuditHead.objects.filter(pk=1).values_list("size", flat=True).first() or 0


def _require_auditor(actor) -> None:
    require_role(actor, Role.AUDITOR, code="permission_denied", message="Only auditors can read the audit log.")


@dataclass(frozen=True)
class EntryFilter:
    """A selection of the log. ``to_seq`` is inclusive, ``since`` inclusive, ``until`` exclusive."""

    from_seq: int | None = None
    to_seq: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    actor: str | None = None
    action: str | None = None
    target: str | None = None
    family: str | None = None

    def as_query(self) -> dict[str, str]:
        out = {}
        for name in FILTERS:
            value = getattr(self, name)
            if value is not None and value != "":
                out[name] = value.isoformat() if isinstance(value, datetime) else str(value)
        return out


def entries_for_actor(*, actor, selection: EntryFilter, size: int | None = None) -> tuple[QuerySet[AuditEntry], int]:
    """The entries an auditor selected, in ``seq`` order, and the log size they were cut at.

    Capping at the size read up front gives an export a consistent end even
    while writers append.
    """
    _require_auditor(actor)
    size = log_size() if size is None else size
    if selection.from_seq is not None and selection.from_seq > size:
        raise InvalidInput(
            "from_seq_out_of_range", f"from_seq {selection.from_seq} is beyond the end of the log (size {size})."
        )
    if selection.from_seq is not None and selection.to_seq is not None and selection.to_seq < selection.from_seq:
        raise InvalidInput("invalid_range", f"to_seq {selection.to_seq} is before from_seq {selection.from_seq}.")
    if selection.since and selection.until and selection.until <= selection.since:
        raise InvalidInput("invalid_range", "until must be later than since.")
    if selection.family and selection.family not in FAMILIES:
        raise InvalidInput(
            "unknown_family", f"Unknown action family {selection.family!r}. Known: {', '.join(FAMILIES)}."
        )
    qs = AuditEntry.objects.filter(seq__lt=size)
    if selection.from_seq is not None:
        qs = qs.filter(seq__gte=selection.from_seq)
    if selection.to_seq is not None:
        qs = qs.filter(seq__lte=selection.to_seq)
    if selection.since is not None:
        qs = qs.filter(ts__gte=selection.since)
    if selection.until is not None:
        qs = qs.filter(ts__lt=selection.until)
    for name in ("actor", "action", "target"):
        value = getattr(selection, name)
        if value:
            qs = qs.filter(**{name: value})
    if selection.family:
        # The family is the part before the first dot: "grant" must not match "grant_x.y".
        qs = qs.filter(action__startswith=f"{selection.family}.")
    return qs.order_by("seq"), size


def inclusion_proofs_for_actor(*, actor, selection: EntryFilter) -> dict:
    """The selected entries with their RFC 6962 inclusion proofs against the latest checkpoint.

    Only entries the checkpoint covers are included (later ones cannot be proved yet).  All
    the proofs' subtree hashes are resolved in one ``StoredTree.range_hashes`` call, so the
    cost is a few queries for the whole selection, not a few per entry.  Raises
    ``InvalidInput`` when the selection holds more than ``PROOFS_MAX_ENTRIES`` entries.
    """
    max_entries = PROOFS_MAX_ENTRIES
    checkpoint = checkpoint_latest(actor=actor)
    qs, _ = entries_for_actor(actor=actor, selection=selection, size=checkpoint.size)
    rows = list(qs.values_list("seq", "leaf", "leaf_hash")[: max_entries + 1])
    if len(rows) > max_entries:
        raise InvalidInput(
            "selection_too_large",
            f"Proofs are given for at most {max_entries:,} entries; narrow the selection "
            "(or download the full export, which verifies as a whole).",
        )
    tree = StoredTree(checkpoint.size)
    paths = [merkle.inclusion_ranges(seq, checkpoint.size) for seq, _, _ in rows]
    hashes = tree.range_hashes([r for path in paths for r in path]) if rows else []
    entries, at = [], 0
    for (seq, leaf, leaf_hash), path in zip(rows, paths, strict=True):
        entries.append(
            {
                "leaf": leaf,
                "seq": seq,
                "leaf_hash": bytes(leaf_hash).hex(),
                "proof": [h.hex() for h in hashes[at : at + len(path)]],
                "tree_size": checkpoint.size,
            }
        )
        at += len(path)
    return {"checkpoint": checkpoint, "entries": entries}


def selection_bounds(qs: QuerySet[AuditEntry]) -> tuple[int | None, int | None]:
    """The first and last seq of a selection (None, None when it is empty)."""
    bounds = qs.aggregate(first=Min("seq"), last=Max("seq"))
    return bounds["first"], bounds["last"]


def selection_filename(selection: EntryFilter, extension: str, *, first: int | None, last: int | None) -> str:
    """What a downloaded selection is called: by its days when filtered by date, else by its seqs.

    "audit-log-seq-120-179.jsonl", "audit-log-2026-11-01-to-2026-11-30.csv" (``until`` is exclusive,
    so its last day is the one before it), with the family when one was chosen.
    """
    parts = ["audit-log"]
    if selection.family:
        parts.append(selection.family)
    if selection.since or selection.until:
        if selection.since:
            parts.append(f"{'' if selection.until else 'from-'}{selection.since.astimezone(UTC):%Y-%m-%d}")
        if selection.until:
            day = (selection.until - timedelta(microseconds=1)).astimezone(UTC)
            parts.append(f"{'to-' if selection.since else 'until-'}{day:%Y-%m-%d}")
    elif first is None:
        parts.append("empty")
    else:
        parts.append(f"seq-{first}-{last}")
    return f"{'-'.join(parts)}.{extension}"


def entry_leaves(qs: QuerySet[AuditEntry], *, chunk_size: int = 2000) -> Iterator[str]:
    """The leaf text of each selected entry, streamed from the database."""
    return qs.values_list("leaf", flat=True).iterator(chunk_size=chunk_size)


def checkpoints_for_actor(*, actor) -> QuerySet[AuditCheckpoint]:
    _require_auditor(actor)
    return AuditCheckpoint.objects.order_by("-size", "-id")


def checkpoint_latest(*, actor) -> AuditCheckpoint:
    checkpoint = checkpoints_for_actor(actor=actor).first()
    if checkpoint is None:
        raise NotFound("not_found", "No checkpoint has been made yet.")
    return checkpoint


def _check_size(name: str, value: int, size: int, *, allow_zero: bool) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidInput(
            "invalid_size", f"{name} must be {'0 or more' if allow_zero else 'at least 1'}, not {value}."
        )
    if value > size:
        raise InvalidInput("size_out_of_range", f"{name} {value} does not exist: the log has {size} entries.")


def inclusion_proof_for_actor(*, actor, seq: int, size: int | None) -> dict:
    """RFC 6962 §2.1.1 audit path of entry ``seq`` in the tree of ``size`` entries (default: the whole log)."""
    _require_auditor(actor)
    tree = StoredTree(log_size())
    size = tree.size if size is None else size
    _check_size("size", size, tree.size, allow_zero=False)
    if not 0 <= seq < size:
        raise InvalidInput("seq_out_of_range", f"seq {seq} is not in a tree of size {size} (valid: 0..{size - 1}).")
    proof, leaf_hash, root = tree.inclusion_proof(seq, size)
    leaf = AuditEntry.objects.filter(seq=seq).values_list("leaf", flat=True).first()
    return {
        "leaf_index": seq,
        "tree_size": size,
        "leaf_hash": leaf_hash.hex(),
        "root_hash": root.hex(),
        "proof": [h.hex() for h in proof],
        "leaf": leaf,
    }


def consistency_proof_for_actor(*, actor, first: int, second: int | None) -> dict:
    """RFC 6962 §2.1.2 proof that the tree of ``first`` entries is a prefix of the one of ``second``."""
    _require_auditor(actor)
    tree = StoredTree(log_size())
    second = tree.size if second is None else second
    _check_size("second", second, tree.size, allow_zero=True)
    _check_size("first", first, tree.size, allow_zero=True)
    if first > second:
        raise InvalidInput("invalid_range", f"first ({first}) must not be larger than second ({second}).")
    proof, first_root, second_root = tree.consistency_proof(first, second)
    return {
        "first": first,
        "second": second,
        "first_root_hash": first_root.hex(),
        "second_root_hash": second_root.hex(),
        "proof": [h.hex() for h in proof],
    }


# What the system does to carry out an erasure or a retention rule: steps of
# deleting data, not reads of it.  The employee sees them with their erasure
# requests, not among the accesses.
ERASURE_STEPS: tuple[str, ...] = tuple(
    str(action)
    for action in (
        AuditAction.ERASURE_KEY_DESTROYED,
        AuditAction.ERASURE_CIPHERTEXT_DELETED,
        AuditAction.ERASURE_COMPLETED,
        AuditAction.RETENTION_PURGED,
    )
)


def _own_subject_target(employee: User) -> str | None:
    """The target naming the employee's subject in the log; None if they have no subject."""
    try:
        pseudonym = employee.subject.pseudonym  # the reverse one-to-one from consent.Subject
    except ObjectDoesNotExist:
        return None
    return subject_target(pseudonym)


def accesses_for_employee(*, employee: User, limit: int = 100) -> list[AuditEntry]:
    """Entries about the employee's data by others, newest first: what "who accessed data about you" shows.

    The employee's own actions and consent changes are in their history, not
    here; the system's erasure steps are with their erasure requests
    (``erasure_steps_for_employee``).  Dataset exports target their grant, not
    the people in them: ``access.employee`` lists those.
    """
    target = _own_subject_target(employee)
    if target is None:
        return []
    return list(
        AuditEntry.objects.filter(target=target, seq__lt=log_size())
        .exclude(actor=target)
        .exclude(action__startswith="consent.")
        .exclude(action__in=ERASURE_STEPS)
        .order_by("-seq")[:limit]
    )


def erasure_steps_for_employee(*, employee: User, limit: int = 100) -> list[AuditEntry]:
    """The steps that erased the employee's data (key destroyed, ciphertext deleted, completed), newest first."""
    target = _own_subject_target(employee)
    if target is None:
        return []
    return list(
        AuditEntry.objects.filter(target=target, seq__lt=log_size(), action__in=ERASURE_STEPS).order_by("-seq")[:limit]
    )


def recorded_seq(*, action: str, target: str, **detail: str) -> int:
    """The ``seq`` of the committed entry with this action and target whose detail holds these values.

    Entries are numbered when their transaction commits; a service that must
    cite its own entry (a manifest's ``audit_seq``) looks it up afterwards.
    """
    lookups = {f"detail__{key}": value for key, value in detail.items()}
    return AuditEntry.objects.filter(action=str(action), target=target, **lookups).values_list("seq", flat=True).get()
