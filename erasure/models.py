"""Erasure requests: what of a subject's captured data must be made unreadable and deleted, and by when.

A request is made by the employee (``erasure_request_create``), by a
withdrawal with erasure (``consent_withdraw_with_erasure``) or by retention;
it is carried out by the erasure tasks, which mark it done.  See
``erasure.services``.
"""

from __future__ import annotations

import uuid

from django.db import models

from consent.models import ConsentEvent, Subject


class ErasureRequest(models.Model):
    """A request to make a subject's captured data unreadable and gone, with a due time."""

    class Reason(models.TextChoices):
        WITHDRAWAL = "withdrawal", "Withdrawal with erasure"
        EMPLOYEE_REQUEST = "employee_request", "Employee's request"
        RETENTION = "retention", "Retention period ended"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="erasure_requests")
    # Empty means every category.
    categories = models.JSONField(default=list)
    reason = models.CharField(max_length=24, choices=Reason.choices)
    event = models.ForeignKey(ConsentEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    requested_at = models.DateTimeField()
    due_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        indexes = [models.Index(fields=["status", "due_at"], name="erasure_status_due")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="pending", completed_at__isnull=True)
                | models.Q(status="done", completed_at__isnull=False),
                name="erasure_completed_iff_done",
            ),
            models.CheckConstraint(
                condition=models.Q(due_at__gte=models.F("requested_at")), name="erasure_due_after_request"
            ),
        ]

    def __str__(self) -> str:
        return f"erasure {self.id} ({self.status})"


class DeletionReceipt(models.Model):
    """The signed receipt given to the employee once their erasure request is done; one per request.

    Issued after the completing transaction commits, because it cites the
    ``seq`` of the ``erasure.completed`` audit entry, which is numbered at
    commit.  See ``erasure.receipts``.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # One-to-one: issuing twice (a task delivered twice, the sweep racing it) stores one receipt.
    request = models.OneToOneField(ErasureRequest, on_delete=models.PROTECT, related_name="receipt")
    kid = models.CharField(max_length=64)
    jws = models.TextField()
    audit_seq = models.BigIntegerField()
    issued_at = models.DateTimeField()

    class Meta:
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return f"deletion receipt {self.id} of {self.request_id}"
