"""Data-access API for employees, under ``/me``: the dataset exports that included them, with proofs.

No endpoint here takes another person's identity; an export that did not
include the signed-in employee is "not found".
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from access import employee as selectors
from accounts.permissions import IsEmployee
from audit.serializers import CheckpointSerializer
from config.schema import ErrorSerializer


class ExportPurposeSerializer(serializers.Serializer):
    id = serializers.CharField(source="purpose")
    description = serializers.CharField(source="purpose_description", help_text="as the request's notice words it")


class ExportAccessSerializer(serializers.Serializer):
    export = serializers.UUIDField(source="export_id")
    exported_at = serializers.DateTimeField()
    requester = serializers.CharField(help_text="username of the holder of the grant")
    purpose = ExportPurposeSerializer(source="*")
    grant = serializers.UUIDField(source="grant_id")
    categories = serializers.ListField(child=serializers.CharField())
    audit_seq = serializers.IntegerField(allow_null=True, help_text="seq of the export's dataset.exported entry")


class MeExportListApi(APIView):
    """The dataset exports that included the employee's data, newest first."""

    permission_classes = [IsEmployee]

    @extend_schema(responses={200: ExportAccessSerializer(many=True), 403: ErrorSerializer})
    def get(self, request):
        return Response(ExportAccessSerializer(selectors.exports_for_employee(employee=request.user), many=True).data)


class MeExportProofApi(APIView):
    """RFC 6962 inclusion proof of the export's audit entry against the latest signed checkpoint.

    Verify the checkpoint's Ed25519 signature with the key of its ``kid`` in
    ``/.well-known/jwks.json`` (over the RFC 8785 bytes of the checkpoint
    without ``signature``), check that ``leaf_hash`` is SHA-256(0x00 ‖
    ``leaf``), then fold ``proof`` from ``leaf_hash`` at ``leaf_index`` to the
    checkpoint's ``root_hash``.
    """

    permission_classes = [IsEmployee]

    class OutputSerializer(serializers.Serializer):
        export = serializers.UUIDField()
        leaf_index = serializers.IntegerField(help_text="the entry's seq")
        tree_size = serializers.IntegerField(help_text="the checkpoint's size")
        leaf = serializers.CharField(help_text="the entry's leaf bytes (RFC 8785 JSON)")
        leaf_hash = serializers.CharField(help_text="SHA-256(0x00 || leaf), lowercase hex")
        proof = serializers.ListField(child=serializers.CharField(), help_text="the audit path, lowercase hex")
        checkpoint = CheckpointSerializer(help_text="the latest signed checkpoint, exactly as signed")

    @extend_schema(responses={200: OutputSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer})
    def get(self, request, export_id):
        proof = selectors.export_proof_for_employee(employee=request.user, export_id=export_id)
        return Response(self.OutputSerializer(proof).data)
