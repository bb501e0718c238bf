"""Deletion receipts: what an erasure removed, and when, as a JWS (Ed25519) the employee keeps.

When an erasure request is done the employee is given a receipt: a JWS in
compact form, header ``{"alg": "EdDSA", "typ": "erasure-receipt+jwt", "kid":
"erasure-..."}``, signed with the key of the ``erasure`` purpose published in
``/.well-known/jwks.json``.  Its claims are taken from the ``erasure.completed``
audit entry that records the completion, and cite that entry's ``seq`` and
leaf hash, so the receipt and the tamper-evident log vouch for each other:

``iss``, ``sub`` (the subject pseudonym), ``iat``, ``jti`` (the receipt id),
``erasure_request``, ``reason``, ``categories`` (empty: every category) and
``scope`` (``all`` or ``categories``), ``events`` and ``chunks`` removed,
``data_key_id`` and ``data_key_destroyed_at`` (null when only some categories
were erased: the key stays for the rest), ``ciphertext_deleted_at``,
``requested_at``, ``due_at``, ``completed_at``, ``deadline_met``,
``audit_seq`` and ``audit_leaf_hash`` (SHA-256(0x00 || leaf), lowercase hex).

An entry is numbered when its transaction commits, so the receipt is issued
in a step after the completion commits (``deletion_receipt_issue``), exactly
once per request however often that step runs.  ``access/verify.py
--receipt`` checks a receipt offline, with its inclusion proof.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import jwt
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.models import AuditEntry
from audit.selectors import recorded_seq
from audit.targets import subject_target
from audit.timestamps import rfc3339
from erasure.models import DeletionReceipt, ErasureRequest
from signing.keyring import Purpose, keyring

RECEIPT_TYPE = "erasure-receipt+jwt"


def data_key_id(wrapped_key: bytes | memoryview) -> str:
    """A public name for a subject's data key: a digest of its wrapped (encrypted) form, never of the key."""
    return "dk-" + hashlib.sha256(bytes(wrapped_key)).hexdigest()[:32]


def receipt_payload(*, receipt_id: uuid.UUID, request: ErasureRequest, seq: int, leaf: str) -> dict[str, Any]:
    """The claims of a request's receipt, from its completion entry (``seq``, ``leaf``)."""
    detail = AuditEntry.objects.filter(seq=seq).values_list("detail", flat=True).get()
    assert request.completed_at is not None  # only done requests get here
    return {
        "iss": settings.SERVICE_ORIGIN.rstrip("/"),
        "sub": request.subject.pseudonym,
        "iat": int(timezone.now().timestamp()),
        "jti": str(receipt_id),
        "erasure_request": str(request.id),
        "reason": request.reason,
        "categories": list(request.categories),
        "scope": "categories" if request.categories else "all",
        "events": int(detail.get("events", 0)),
        "chunks": int(detail.get("chunks", 0)),
        "data_key_id": detail.get("data_key"),
        "data_key_destroyed_at": detail.get("key_destroyed_at"),
        # Completions recorded before receipts existed lack it; the ciphertext went in the completing transaction.
        "ciphertext_deleted_at": detail.get("ciphertext_deleted_at") or rfc3339(request.completed_at),
        "requested_at": rfc3339(request.requested_at),
        "due_at": rfc3339(request.due_at),
        "completed_at": rfc3339(request.completed_at),
        "deadline_met": not detail.get("overdue", request.completed_at > request.due_at),
        "audit_seq": seq,
        "audit_leaf_hash": hashlib.sha256(b"\x00" + leaf.encode("utf-8")).hexdigest(),
    }


def deletion_receipt_issue(*, request_id: uuid.UUID | str) -> DeletionReceipt | None:
    """Sign and store the receipt of a done request, once; returns it (None while the request is not done).

    Runs after the completion has committed (its audit entry must have a
    ``seq``).  Safe to run again and concurrently: the request row is locked,
    and the one-to-one constraint keeps a racing second receipt out.
    """
    with transaction.atomic():
        request = (
            ErasureRequest.objects.select_for_update()
            .select_related("subject")
            .filter(pk=request_id, status=ErasureRequest.Status.DONE)
            .first()
        )
        if request is None:
            return None
        existing = DeletionReceipt.objects.filter(request=request).first()
        if existing is not None:
            return existing
        seq = recorded_seq(
            action=AuditAction.ERASURE_COMPLETED,
            target=subject_target(request.subject.pseudonym),
            erasure_request_id=str(request.id),
        )
        leaf = AuditEntry.objects.filter(seq=seq).values_list("leaf", flat=True).get()
        key = keyring(Purpose.ERASURE).current()
        receipt_id = uuid.uuid4()
        token = jwt.encode(
            receipt_payload(receipt_id=receipt_id, request=request, seq=seq, leaf=leaf),
            key.private_key,
            algorithm="EdDSA",
            headers={"kid": key.kid, "typ": RECEIPT_TYPE},
        )
        try:
            with transaction.atomic():
                return DeletionReceipt.objects.create(
                    id=receipt_id, request=request, kid=key.kid, jws=token, audit_seq=seq, issued_at=timezone.now()
                )
        except IntegrityError:  # SQLite has no row locks: another worker stored it first
            return DeletionReceipt.objects.get(request=request)


def deletion_receipts_issue_missing(*, limit: int = 100) -> int:
    """Issue the receipts of done requests that have none (the step after commit was lost). Returns how many."""
    missing = ErasureRequest.objects.filter(status=ErasureRequest.Status.DONE, receipt__isnull=True)
    ids = list(missing.order_by("completed_at").values_list("pk", flat=True)[:limit])
    return sum(deletion_receipt_issue(request_id=request_id) is not None for request_id in ids)


def receipt_claims(receipt: DeletionReceipt) -> dict[str, Any]:
    """The payload of a stored receipt, for display. Not a verification: clients verify with the JWKS."""
    return jwt.decode(receipt.jws, options={"verify_signature": False})
