"""Capture devices, received batches and the encrypted event store.

Captured events are never stored one row each and never in plaintext.  The
accepted events of a batch are grouped by (category, application) and each
group is one ``EventChunk``: AES-256-GCM ciphertext of the msgpack-encoded
event list under the subject's data key.  The data key itself is stored only
wrapped by the master key (``SubjectKey``); deleting that row makes every
chunk of the subject unreadable at once (crypto-shredding).

The chunk metadata (count, time range, category, allowlisted application id)
is not sensitive and feeds the employee's summary without decrypting.
"""

from __future__ import annotations

import hashlib
import uuid

from django.conf import settings
from django.db import models

from consent.models import DataCategory, Subject


class Platform(models.TextChoices):
    MACOS = "macos", "macOS"
    WINDOWS = "windows", "Windows"
    LINUX = "linux", "Linux"


class Device(models.Model):
    """A capture client on an employee's machine. Only the SHA-256 of its secret is stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    employee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="capture_devices")
    name = models.CharField(max_length=100)
    platform = models.CharField(max_length=16, choices=Platform.choices)
    secret_digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # When it last fetched a token (every few minutes while capturing); uploads do not write here.
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(platform__in=Platform.values), name="device_platform_known")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.platform})"

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def digest_of(secret: str) -> str:
        # The secret carries 256 bits of randomness, so a plain hash cannot be brute-forced.
        return hashlib.sha256(secret.encode()).hexdigest()


class SubjectKey(models.Model):
    """A subject's AES-256 data key, wrapped (AES-GCM) by the master key."""

    subject = models.OneToOneField(Subject, on_delete=models.PROTECT, primary_key=True, related_name="data_key")
    wrapped_key = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"data key of {self.subject_id}"


class ErasureCutoff(models.Model):
    """What one erasure request covers of a subject's stored data, recorded once, when the request is made or first carried out.

    Erasure owns the request; this row is collection's side of it (collection
    does not import erasure, so the request is named by its id).  ``before``:
    events captured before it are the request's, and an upload stored later
    drops them (``erased_by_request``).  ``last_chunk``: when consent stays
    and capture goes on, the request covers the subject's chunks up to this
    id (every chunk stored before the request committed); None covers them
    all.  ``data_key``/``key_destroyed_at`` name the data key shredded for
    it, so a retry after a crash still knows what was destroyed and when.
    """

    erasure_request = models.UUIDField(primary_key=True)
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+")
    # Empty means every category.
    categories = models.JSONField(default=list)
    before = models.DateTimeField()
    last_chunk = models.BigIntegerField(null=True, blank=True)
    data_key = models.CharField(max_length=64, blank=True, default="")
    key_destroyed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"erasure cutoff of {self.erasure_request}"


class Batch(models.Model):
    """One accepted upload, remembered so the same ``batch_id`` is answered without storing twice."""

    batch_id = models.UUIDField(primary_key=True)
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="capture_batches")
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="batches")
    # SHA-256 of the uncompressed body: a replay with other content is refused.
    body_digest = models.CharField(max_length=64)
    response = models.JSONField()
    received_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["subject", "received_at"], name="batch_subject_received")]

    def __str__(self) -> str:
        return str(self.batch_id)


class EventChunk(models.Model):
    """The accepted events of one batch for one (category, application), encrypted."""

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+")
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="chunks", db_constraint=True)
    category = models.CharField(max_length=32, choices=DataCategory.choices)
    app_id = models.CharField(max_length=200)
    count = models.PositiveIntegerField()
    first_ts = models.DateTimeField()
    last_ts = models.DateTimeField()
    nonce = models.BinaryField(max_length=12)
    ciphertext = models.BinaryField()

    class Meta:
        indexes = [models.Index(fields=["subject", "category", "app_id"], name="chunk_subject_cat_app")]
        constraints = [models.CheckConstraint(condition=models.Q(count__gte=1), name="chunk_count_positive")]

    def __str__(self) -> str:
        return f"{self.count} {self.category} events in {self.app_id}"
