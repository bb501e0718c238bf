"""The audit log: an append-only sequence of entries hashed into an RFC 6962 tree.

``AuditEntry.leaf`` holds the entry's exact leaf bytes (RFC 8785 canonical
JSON); the other columns repeat its fields so the log can be filtered without
parsing.  ``AuditHead`` is a single row whose lock serialises appends, which
is what keeps ``seq`` free of gaps and forks under concurrent writers.
"""

from __future__ import annotations

from django.db import models


class AuditEntry(models.Model):
    seq = models.BigIntegerField(primary_key=True)
    ts = models.DateTimeField(db_index=True)
    actor = models.CharField(max_length=200, db_index=True)
    action = models.CharField(max_length=100, db_index=True)
    target = models.CharField(max_length=300, db_index=True)
    detail = models.JSONField(default=dict)
    leaf = models.TextField(help_text="RFC 8785 canonical JSON of the entry: the Merkle leaf bytes.")
    leaf_hash = models.BinaryField(max_length=32, help_text="SHA-256(0x00 || leaf bytes)")

    class Meta:
        ordering = ["seq"]
        verbose_name_plural = "audit entries"
        constraints = [models.CheckConstraint(condition=models.Q(seq__gte=0), name="audit_seq_non_negative")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.target}"


class AuditHead(models.Model):
    """The single row (pk=1) that records the log size; locked by every append."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    size = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_head_singleton")]
