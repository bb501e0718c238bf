"""The audit log: an append-only sequence of entries hashed into an RFC 6962 tree.

``AuditEntry.leaf`` holds the entry's exact leaf bytes (RFC 8785 canonical
JSON); the other columns repeat its fields so the log can be filtered without
parsing.  ``AuditHead`` is a single row holding the log size.  An append
is a row in ``AuditPending``; a database trigger numbers it in the writer's
own transaction (at commit on PostgreSQL), under the head row's lock, and
moves it into the log, which is what keeps ``seq`` free of gaps and forks
under concurrent writers (see ``audit.services`` and ``audit.guards``).

``AuditNode`` caches the hashes of complete subtrees (``2**level`` leaves
starting at leaf ``index * 2**level``) so roots and proofs of a large log
cost a handful of rows, not a pass over every leaf; ``AuditTreeState``
records how far that cache reaches.  ``AuditCheckpoint`` keeps every signed
checkpoint exactly as it was signed.

Entries, nodes and checkpoints are append-only: database triggers refuse
UPDATE and DELETE on them (see ``audit.guards``).
"""

from __future__ import annotations

from django.db import models


class AuditEntry(models.Model):
    seq = models.BigIntegerField(primary_key=True)
    ts = models.DateTimeField(db_index=True)
    actor = models.CharField(max_length=200)
    action = models.CharField(max_length=100)
    target = models.CharField(max_length=300)
    detail = models.JSONField(default=dict)
    leaf = models.TextField(help_text="RFC 8785 canonical JSON of the entry: the Merkle leaf bytes.")
    leaf_hash = models.BinaryField(max_length=32, help_text="SHA-256(0x00 || leaf bytes)")

    class Meta:
        ordering = ["seq"]
        verbose_name_plural = "audit entries"
        constraints = [models.CheckConstraint(condition=models.Q(seq__gte=0), name="audit_seq_non_negative")]
        # Filters are exact matches read in log order; every index costs each append.
        indexes = [
            models.Index(fields=["actor", "seq"], name="audit_entry_actor_seq"),
            models.Index(fields=["action", "seq"], name="audit_entry_action_seq"),
            models.Index(fields=["target", "seq"], name="audit_entry_target_seq"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.target}"


class AuditHead(models.Model):
    """The single row (pk=1) that records the log size; every append locks it to take its ``seq``."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    size = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_head_singleton")]

    def __str__(self) -> str:
        return f"audit log head: {self.size} entries"


class AuditNode(models.Model):
    """Hash of the complete subtree of ``2**level`` leaves that starts at leaf ``index * 2**level``."""

    level = models.PositiveSmallIntegerField()
    index = models.BigIntegerField()
    hash = models.BinaryField(max_length=32)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["level", "index"], name="audit_node_unique"),
            models.CheckConstraint(condition=models.Q(index__gte=0), name="audit_node_index_non_negative"),
        ]

    def __str__(self) -> str:
        return f"node {self.level}/{self.index}"


class AuditTreeState(models.Model):
    """The single row (pk=1): every complete subtree of the first ``size`` leaves has its ``AuditNode``."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    size = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_tree_state_singleton")]

    def __str__(self) -> str:
        return f"tree cache up to {self.size} entries"


class AuditCheckpoint(models.Model):
    """A signed statement of the log's size and root hash, stored exactly as signed."""

    origin = models.CharField(max_length=200)
    size = models.BigIntegerField()
    root_hash = models.CharField(max_length=64)
    timestamp = models.CharField(max_length=40, help_text="RFC 3339, exactly as signed.")
    kid = models.CharField(max_length=100)
    signature = models.CharField(max_length=100, help_text="base64url Ed25519 signature")
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(size__gte=0), name="audit_checkpoint_size_non_negative")
        ]

    def __str__(self) -> str:
        return f"checkpoint {self.size} @ {self.timestamp}"

    def body(self) -> dict[str, object]:
        """The signed fields (everything but the signature)."""
        return {
            "origin": self.origin,
            "size": self.size,
            "root_hash": self.root_hash,
            "timestamp": self.timestamp,
            "kid": self.kid,
        }

    def document(self) -> dict[str, object]:
        return {**self.body(), "signature": self.signature}


class AuditPending(models.Model):
    """An entry waiting for its ``seq``: its leaf bytes before and after the number.

    Rows live only inside the transaction that writes them: the numbering
    trigger moves each into the log and deletes it before that transaction
    commits, so no other transaction ever sees one.
    """

    id = models.BigAutoField(primary_key=True)
    prefix = models.TextField(help_text="The entry's leaf bytes before its seq.")
    suffix = models.TextField(help_text="The entry's leaf bytes after its seq.")

    def __str__(self) -> str:
        return f"pending audit entry {self.pk}"
