"""What the data-access app tells an employee about themselves: the dataset exports that included them.

An export's audit entry targets its grant (``grant:<id>``), not the people in
it, so the employee's "who accessed data about you" finds exports through
``ExportSubject``, the record of who was in each.  Every export cites the
``seq`` of its ``dataset.exported`` entry, and the employee can get that
entry's RFC 6962 inclusion proof against a signed checkpoint, to check with
the JWKS and ``audit.merkle`` (or any RFC 6962 verifier) that the access they
are shown is the one in the tamper-evident log.

Only the employee reads theirs: every function takes the employee as the
actor and answers about nobody else; an export that did not include them is
"not found".
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from access.models import DataRequest, Export, ExportSubject
from accounts.guards import require_role
from accounts.models import Role, User
from audit.actions import AuditAction
from audit.models import AuditCheckpoint, AuditEntry
from audit.selectors import recorded_seq
from audit.services import CheckpointRefused, checkpoint_create
from audit.targets import grant_target
from audit.tree import StoredTree
from config.errors import Conflict, NotFound


@dataclass(frozen=True)
class ExportAccess:
    """One dataset export that included the employee, as they are shown it."""

    export_id: uuid.UUID
    exported_at: datetime
    requester: str  # username
    purpose: str  # the purpose id of the notice the request was made under
    purpose_description: str
    grant_id: uuid.UUID
    categories: list[str]  # the request's scope, as its audit entry states it
    audit_seq: int | None  # None only until the export's entry has been looked up after its commit


def _require_employee(employee: User) -> None:
    require_role(
        employee, Role.EMPLOYEE, code="permission_denied", message="Only employees see the exports that included them."
    )


def purpose_description(request: DataRequest) -> str:
    """The words the request's notice used for its purpose (the id itself if the notice has no such purpose)."""
    for purpose in request.notice.purposes or []:
        if isinstance(purpose, dict) and purpose.get("id") == request.purpose:
            return str(purpose.get("description") or request.purpose)
    return request.purpose


def _memberships(employee: User) -> QuerySet[ExportSubject]:
    return ExportSubject.objects.filter(subject__employee=employee).select_related(
        "export__grant__request__requester", "export__grant__request__notice"
    )


def _access(export: Export) -> ExportAccess:
    request = export.grant.request
    return ExportAccess(
        export_id=export.id,
        exported_at=export.created_at,
        requester=request.requester.username,
        purpose=request.purpose,
        purpose_description=purpose_description(request),
        grant_id=export.grant_id,
        categories=list(request.categories),
        audit_seq=export.audit_seq,
    )


def exports_for_employee(*, employee: User, limit: int | None = None) -> list[ExportAccess]:
    """The dataset exports that included the employee's data, newest first (at most ``limit``)."""
    _require_employee(employee)
    memberships = _memberships(employee).order_by("-export__created_at", "-export__audit_seq")
    if limit is not None:
        memberships = memberships[:limit]
    return [_access(m.export) for m in memberships]


def export_for_employee(*, employee: User, export_id: uuid.UUID | str) -> ExportAccess:
    """One export that included the employee; any other export is "not found"."""
    _require_employee(employee)
    try:
        export_uuid = uuid.UUID(str(export_id))
    except ValueError:
        raise NotFound("not_found", "No such export.") from None
    membership = _memberships(employee).filter(export_id=export_uuid).first()
    if membership is None:
        raise NotFound("not_found", "No such export.")
    return _access(membership.export)


def _entry_seq(access: ExportAccess) -> int:
    if access.audit_seq is not None:
        return access.audit_seq
    # The export row and its entry commit together; the row is given the seq
    # just after, so a row without one only needs the lookup repeated.
    try:
        return recorded_seq(
            action=AuditAction.DATASET_EXPORTED, target=grant_target(access.grant_id), export=str(access.export_id)
        )
    except AuditEntry.DoesNotExist:
        raise NotFound("not_found", "This export has no audit entry yet.") from None


def _checkpoint_covering(seq: int) -> AuditCheckpoint:
    """The latest signed checkpoint, signing a new one first if the latest does not cover entry ``seq``."""
    checkpoint = AuditCheckpoint.objects.order_by("-size", "-id").first()
    if checkpoint is None or checkpoint.size <= seq:
        try:
            checkpoint = checkpoint_create(only_if_grown=True)
        except CheckpointRefused as exc:
            raise Conflict("log_inconsistent", str(exc)) from None
    if checkpoint.size <= seq:  # cannot happen for a committed entry; never serve a proof that cannot verify
        raise Conflict("not_checkpointed", f"No checkpoint covers audit entry {seq} yet.")
    return checkpoint


def export_proof_for_employee(*, employee: User, export_id: uuid.UUID | str) -> dict[str, Any]:
    """The RFC 6962 inclusion proof of the export's audit entry against the latest signed checkpoint.

    The audit path is of leaf ``seq`` in the tree of the checkpoint's size.
    If that checkpoint predates the entry, a new one is signed first (the
    audit log's own write, as the periodic task makes; nothing of the
    employee's changes).  Returns the export id, ``leaf_index``,
    ``tree_size``, ``leaf`` (the entry's leaf bytes, RFC 8785 JSON),
    ``leaf_hash`` and ``proof`` (lowercase hex), and ``checkpoint`` exactly
    as signed.
    """
    access = export_for_employee(employee=employee, export_id=export_id)
    seq = _entry_seq(access)
    checkpoint = _checkpoint_covering(seq)
    proof, leaf_hash, root = StoredTree(checkpoint.size).inclusion_proof(seq, checkpoint.size)
    if root.hex() != checkpoint.root_hash:
        raise Conflict("log_inconsistent", f"The stored log no longer matches checkpoint {checkpoint.pk}.")
    leaf = AuditEntry.objects.filter(seq=seq).values_list("leaf", flat=True).get()
    return {
        "export": str(access.export_id),
        "leaf_index": seq,
        "tree_size": checkpoint.size,
        "leaf": leaf,
        "leaf_hash": leaf_hash.hex(),
        "proof": [h.hex() for h in proof],
        "checkpoint": checkpoint.document(),
    }
