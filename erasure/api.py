"""Erasure API for employees: the deletion receipt of one of their own erasure requests, and its proof.

Mounted next to the list of the employee's erasure requests
(``/api/v1/consent/me/erasure-requests``).  A request of anyone else is
"not found".
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsEmployee
from audit.serializers import CheckpointSerializer
from config.schema import ErrorSerializer
from erasure import selectors

ERRORS = {403: ErrorSerializer, 404: ErrorSerializer}


class MeErasureReceiptApi(APIView):
    """The request's signed deletion receipt: a JWS (``typ: erasure-receipt+jwt``) verifiable with the JWKS alone.

    Its claims say what was erased (``scope``, ``categories``, ``events``,
    ``chunks``), when the data key was destroyed and the ciphertext deleted,
    whether the deadline was met, and the ``audit_seq`` of the
    ``erasure.completed`` entry.  404 ``receipt_not_issued`` until the erasure
    is done.
    """

    permission_classes = [IsEmployee]

    @extend_schema(responses={(200, "application/jwt"): OpenApiResponse(OpenApiTypes.STR), **ERRORS})
    def get(self, request, request_id):
        receipt = selectors.deletion_receipt_for_employee(employee=request.user, request_id=request_id)
        response = HttpResponse(receipt.jws, content_type="application/jwt")
        response["Content-Disposition"] = f'attachment; filename="deletion-receipt-{receipt.request_id}.jwt"'
        return response


class MeErasureReceiptProofApi(APIView):
    """RFC 6962 inclusion proof of the receipt's audit entry against the latest signed checkpoint.

    Check it offline with ``python -m access.verify --receipt r.jwt --jwks
    jwks.json --proof proof.json``, or by hand: verify the checkpoint's
    Ed25519 signature with the key of its ``kid`` in the JWKS (over the RFC
    8785 bytes of the checkpoint without ``signature``), check that
    ``leaf_hash`` is SHA-256(0x00 ‖ ``leaf``) and the receipt's
    ``audit_leaf_hash``, then fold ``proof`` from ``leaf_hash`` at
    ``leaf_index`` to the checkpoint's ``root_hash``.  409
    ``not_checkpointed`` while no checkpoint covers the entry yet.
    """

    permission_classes = [IsEmployee]

    class OutputSerializer(serializers.Serializer):
        erasure_request = serializers.UUIDField()
        receipt = serializers.UUIDField()
        leaf_index = serializers.IntegerField(help_text="the seq of the erasure.completed entry")
        tree_size = serializers.IntegerField(help_text="the checkpoint's size")
        leaf = serializers.CharField(help_text="the entry's leaf bytes (RFC 8785 JSON)")
        leaf_hash = serializers.CharField(help_text="SHA-256(0x00 || leaf), lowercase hex")
        proof = serializers.ListField(child=serializers.CharField(), help_text="the audit path, lowercase hex")
        checkpoint = CheckpointSerializer(help_text="the latest signed checkpoint, exactly as signed")

    @extend_schema(responses={200: OutputSerializer, 409: ErrorSerializer, **ERRORS})
    def get(self, request, request_id):
        bundle = selectors.deletion_receipt_proof_for_employee(employee=request.user, request_id=request_id)
        response = Response(self.OutputSerializer(bundle).data)
        response["Content-Disposition"] = f'attachment; filename="deletion-receipt-{request_id}-proof.json"'
        return response
