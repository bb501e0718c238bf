"""Data access: requests for datasets, officers' reviews, time-limited grants, and exports.

A requester asks for a scope (categories, applications, a time range) for one
purpose of the current notice.  The scope is frozen at submission: what is
approved is exactly what was asked.  Officers other than the requester review
it; enough approvals (two distinct officers when ``keystrokes`` is in scope)
create a ``Grant``, one rejection ends it.  Under the grant the requester
downloads ``Export``s; who is in each is decided again at every export.

A grant owns a random key (stored wrapped by the master key) from which the
pseudonyms of its datasets are derived; destroying the key when the grant
ends unlinks its datasets from people for good.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from consent.models import ConsentNotice, Subject


class DataRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        EXPIRED = "expired", "Expired without a decision"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="data_requests")
    categories = models.JSONField()
    apps = models.JSONField()
    since = models.DateTimeField()
    until = models.DateTimeField()
    purpose = models.CharField(max_length=64)
    notice = models.ForeignKey(ConsentNotice, on_delete=models.PROTECT, related_name="+")
    justification = models.TextField()
    approvals_required = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField()
    # A pending request nobody decides by then expires.
    decide_by = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "decide_by"], name="request_status_decide_by")]
        constraints = [
            models.CheckConstraint(condition=models.Q(since__lt=models.F("until")), name="request_since_before_until"),
            models.CheckConstraint(condition=models.Q(approvals_required__in=[1, 2]), name="request_approvals_1_or_2"),
        ]

    def __str__(self) -> str:
        return f"data request {self.id} ({self.status})"


class Review(models.Model):
    """One officer's decision on a request, with the reason they wrote."""

    class Decision(models.TextChoices):
        APPROVE = "approve", "Approved"
        REJECT = "reject", "Rejected"

    request = models.ForeignKey(DataRequest, on_delete=models.PROTECT, related_name="reviews")
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=8, choices=Decision.choices)
    reason = models.TextField()
    # An approving officer may shorten the grant below the default.
    grant_days = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at"]
        constraints = [models.UniqueConstraint(fields=["request", "officer"], name="review_once_per_officer")]

    def __str__(self) -> str:
        return f"{self.decision} by {self.officer_id}"


class Grant(models.Model):
    """Permission to export a request's scope until ``expires_at`` (or until revoked)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.OneToOneField(DataRequest, on_delete=models.PROTECT, related_name="grant")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    end_reason = models.TextField(blank=True)
    # The pseudonym key, wrapped by the master key; NULL once destroyed.
    wrapped_key = models.BinaryField(null=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "expires_at"], name="grant_status_expires")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="active", ended_at__isnull=True, wrapped_key__isnull=False)
                | (~models.Q(status="active") & models.Q(ended_at__isnull=False, wrapped_key__isnull=True)),
                name="grant_key_lives_while_active",
            )
        ]

    def __str__(self) -> str:
        return f"grant {self.id} ({self.status})"


class Export(models.Model):
    """One dataset download under a grant: recorded (and audited) before its first byte is served."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="exports")
    created_at = models.DateTimeField()
    # The seq of the audit entry that records this export (known once it has committed).
    audit_seq = models.BigIntegerField(null=True, blank=True)
    subjects = models.PositiveIntegerField()
    events = models.PositiveBigIntegerField()
    # Set when the last byte has been produced; only then is there a manifest.
    sha256 = models.CharField(max_length=64, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    manifest = models.TextField(blank=True, help_text="The signed manifest (JWS compact serialization).")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"export {self.id}"


class ExportSubject(models.Model):
    """Who was in an export, so a later withdrawal or erasure can be propagated to its holder."""

    export = models.ForeignKey(Export, on_delete=models.CASCADE, related_name="members")
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+")
    # The [category, app] pairs of the subject's the export covered.
    pairs = models.JSONField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["export", "subject"], name="export_subject_once")]

    def __str__(self) -> str:
        return f"subject {self.subject_id} in export {self.export_id}"


class PropagationAck(models.Model):
    """The grant holder confirmed deleting the listed subjects from downstream copies."""

    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="acks")
    acknowledged_at = models.DateTimeField()
    # Everything that happened up to this moment is covered by the acknowledgement.
    covers_until = models.DateTimeField()
    pseudonyms = models.PositiveIntegerField()

    class Meta:
        ordering = ["-acknowledged_at"]

    def __str__(self) -> str:
        return f"acknowledgement of {self.pseudonyms} withdrawals under grant {self.grant_id}"
