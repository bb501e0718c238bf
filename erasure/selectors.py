"""Reads of erasure requests, each carrying its permission rule.

An employee reads their own requests, their deletion receipts and the
receipts' inclusion proofs; privacy officers read counts against the
deadlines, never who asked.  A request or receipt of anyone else is "not
found".
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F, QuerySet
from django.utils import timezone

from accounts.guards import require_role
from accounts.models import Role, User
from audit.models import AuditCheckpoint, AuditEntry
from audit.tree import StoredTree
from config.errors import Conflict, NotFound
from erasure.models import DeletionReceipt, ErasureRequest
from erasure.receipts import receipt_claims

# Said wherever a receipt's audit entry is newer than the latest signed checkpoint.
NOT_YET_PROVABLE = "will be provable once the next checkpoint is made"


def erasure_requests_for_employee(*, employee: User) -> QuerySet[ErasureRequest]:
    """The employee's own erasure requests, newest first; nobody else's, and nobody else reads them."""
    if not employee.is_authenticated or not employee.has_role(Role.EMPLOYEE):
        return ErasureRequest.objects.none()
    return ErasureRequest.objects.filter(subject__employee=employee).order_by("-requested_at")


def _own_request(employee: User, request_id: uuid.UUID | str) -> ErasureRequest:
    try:
        request_uuid = uuid.UUID(str(request_id))
    except ValueError:
        raise NotFound("not_found", "No such erasure request.") from None
    request = erasure_requests_for_employee(employee=employee).filter(pk=request_uuid).first()
    if request is None:
        raise NotFound("not_found", "No such erasure request.")
    return request


def deletion_receipt_for_employee(*, employee: User, request_id: uuid.UUID | str) -> DeletionReceipt:
    """The receipt of one of the employee's own erasure requests; anyone else's request is "not found"."""
    request = _own_request(employee, request_id)
    receipt = DeletionReceipt.objects.filter(request=request).first()
    if receipt is None:
        raise NotFound(
            "receipt_not_issued",
            "This erasure request has no receipt yet: it is issued as soon as the erasure is done."
            if request.status == ErasureRequest.Status.PENDING
            else "This erasure request's receipt is being issued; try again in a minute.",
        )
    return receipt


def _inclusion(receipt: DeletionReceipt) -> dict[str, Any] | None:
    """The receipt's entry's RFC 6962 proof against the latest signed checkpoint; None if none covers it yet."""
    seq = receipt.audit_seq
    checkpoint = AuditCheckpoint.objects.order_by("-size", "-id").first()
    if checkpoint is None or checkpoint.size <= seq:
        return None
    proof, leaf_hash, root = StoredTree(checkpoint.size).inclusion_proof(seq, checkpoint.size)
    if root.hex() != checkpoint.root_hash:  # never hand out a proof that cannot verify
        raise Conflict("log_inconsistent", f"The stored log no longer matches checkpoint {checkpoint.pk}.")
    leaf = AuditEntry.objects.filter(seq=seq).values_list("leaf", flat=True).get()
    return {
        "erasure_request": str(receipt.request_id),
        "receipt": str(receipt.id),
        "leaf_index": seq,
        "tree_size": checkpoint.size,
        "leaf": leaf,
        "leaf_hash": leaf_hash.hex(),
        "proof": [h.hex() for h in proof],
        "checkpoint": checkpoint.document(),
    }


def deletion_receipt_proof_for_employee(*, employee: User, request_id: uuid.UUID | str) -> dict[str, Any]:
    """The bundle that proves the receipt's audit entry is in the signed log, for ``access/verify.py --proof``.

    ``leaf_index`` (the entry's seq), ``tree_size``, ``leaf`` (its RFC 8785
    bytes), ``leaf_hash`` and ``proof`` (lowercase hex) and ``checkpoint``
    exactly as signed.  Refused (409 ``not_checkpointed``) while no signed
    checkpoint covers the entry yet: the periodic checkpoint soon will.
    """
    receipt = deletion_receipt_for_employee(employee=employee, request_id=request_id)
    bundle = _inclusion(receipt)
    if bundle is None:
        raise Conflict(
            "not_checkpointed",
            f"Audit entry {receipt.audit_seq} that records this erasure {NOT_YET_PROVABLE}; try again later.",
        )
    return bundle


@dataclass(frozen=True)
class ErasureRequestView:
    """One of the employee's erasure requests as their page shows it: with its receipt and proof, once there."""

    request: ErasureRequest
    receipt: DeletionReceipt | None = None
    claims: dict[str, Any] | None = None
    # The inclusion bundle; None while no checkpoint covers the entry (or there is no receipt).
    inclusion: dict[str, Any] | None = None
    proof_problem: str | None = None
    # The receipt's times, parsed for display: data_key_destroyed_at, ciphertext_deleted_at, completed_at, due_at.
    times: dict[str, datetime | None] | None = None


RECEIPT_TIMES = ("data_key_destroyed_at", "ciphertext_deleted_at", "completed_at", "due_at")


def _parsed(value: object) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None


def erasure_requests_with_receipts_for_employee(*, employee: User, limit: int = 50) -> list[ErasureRequestView]:
    """The employee's own erasure requests, newest first, each with its receipt and inclusion proof if issued."""
    rows = []
    for request in erasure_requests_for_employee(employee=employee).select_related("receipt")[:limit]:
        receipt = getattr(request, "receipt", None)
        if receipt is None:
            rows.append(ErasureRequestView(request=request))
            continue
        claims = receipt_claims(receipt)
        try:
            inclusion, problem = _inclusion(receipt), None
        except Conflict as exc:
            inclusion, problem = None, exc.detail
        rows.append(
            ErasureRequestView(
                request=request,
                receipt=receipt,
                claims=claims,
                inclusion=inclusion,
                proof_problem=problem,
                times={name: _parsed(claims.get(name)) for name in RECEIPT_TIMES},
            )
        )
    return rows


@dataclass(frozen=True)
class ErasureDeadlines:
    """Counts only: which employee asked is nobody's business but theirs."""

    pending: int
    overdue: int
    # Pending and not overdue yet, but due within the next day.
    due_within_day: int
    next_due: datetime | None
    done_last_30_days: int
    late_last_30_days: int


def erasure_deadlines_for_officer(*, actor: User, now: datetime | None = None) -> ErasureDeadlines:
    """How the erasure requests stand against their deadlines, for privacy officers."""
    require_role(
        actor, Role.PRIVACY_OFFICER, code="permission_denied", message="Only privacy officers see erasure deadlines."
    )
    now = now or timezone.now()
    requests = ErasureRequest.objects.all()
    pending = requests.filter(status=ErasureRequest.Status.PENDING)
    done = requests.filter(status=ErasureRequest.Status.DONE, completed_at__gte=now - timedelta(days=30))
    return ErasureDeadlines(
        pending=pending.count(),
        overdue=pending.filter(due_at__lt=now).count(),
        due_within_day=pending.filter(due_at__gte=now, due_at__lt=now + timedelta(days=1)).count(),
        next_due=pending.order_by("due_at").values_list("due_at", flat=True).first(),
        done_last_30_days=done.count(),
        late_last_30_days=done.filter(completed_at__gt=F("due_at")).count(),
    )
