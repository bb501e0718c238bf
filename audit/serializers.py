"""API shapes of the audit log that other apps' APIs show too (an employee's proof cites a checkpoint)."""

from __future__ import annotations

from rest_framework import serializers


class CheckpointSerializer(serializers.Serializer):
    """A signed checkpoint exactly as signed; takes an ``AuditCheckpoint`` or its ``document()``."""

    origin = serializers.CharField()
    size = serializers.IntegerField()
    root_hash = serializers.CharField(help_text="lowercase hex SHA-256")
    timestamp = serializers.CharField(help_text="RFC 3339")
    kid = serializers.CharField(help_text="key id in /.well-known/jwks.json")
    signature = serializers.CharField(help_text="base64url Ed25519 over the RFC 8785 bytes of the other fields")

    class Meta:
        ref_name = "Checkpoint"

    def to_representation(self, instance):
        return instance if isinstance(instance, dict) else instance.document()
