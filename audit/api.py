"""Audit log API: entries export, checkpoints and Merkle proofs. Auditors only."""

from __future__ import annotations

import json

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAuditor
from audit.exports import csv_chunks, jsonl_chunks
from audit.selectors import (
    FAMILIES,
    FILTERS,
    PROOFS_MAX_ENTRIES,
    EntryFilter,
    checkpoint_latest,
    checkpoints_for_actor,
    consistency_proof_for_actor,
    entries_for_actor,
    inclusion_proof_for_actor,
    inclusion_proofs_for_actor,
    selection_bounds,
    selection_filename,
)
from audit.serializers import CheckpointSerializer
from audit.services import CheckpointRefused, checkpoint_create
from config.errors import Conflict, InvalidInput
from config.schema import ErrorSerializer

# Keeps values inside a 64-bit database integer.
MAX_INT = 2**63 - 1


def _query(request, serializer_class, allowed: tuple[str, ...]) -> dict:
    """Validate query parameters, refusing any the endpoint does not know."""
    unknown = sorted(set(request.query_params) - set(allowed))
    if unknown:
        raise InvalidInput(
            "unknown_parameter",
            f"Unknown parameter(s): {', '.join(unknown)}. Allowed: {', '.join(allowed)}.",
        )
    repeated = sorted(k for k in request.query_params if len(request.query_params.getlist(k)) > 1)
    if repeated:
        raise InvalidInput("repeated_parameter", f"Give each parameter once: {', '.join(repeated)}.")
    data = serializer_class(data=request.query_params.dict())
    data.is_valid(raise_exception=True)
    return data.validated_data


class _AuditApi(APIView):
    permission_classes = [IsAuditor]

    def perform_content_negotiation(self, request, force=False):
        # ``format`` is our own export parameter, not DRF's renderer override;
        # errors are always JSON.
        return JSONRenderer(), JSONRenderer.media_type


class CheckpointCreateApi(_AuditApi):
    """Sign a checkpoint of the log now (also made periodically)."""

    @extend_schema(request=None, responses={201: CheckpointSerializer, 403: ErrorSerializer, 409: ErrorSerializer})
    def post(self, request):
        try:
            checkpoint = checkpoint_create()
        except CheckpointRefused as exc:
            raise Conflict("log_inconsistent", str(exc)) from None
        return Response(CheckpointSerializer(checkpoint).data, status=status.HTTP_201_CREATED)

    class InputSerializer(serializers.Serializer):
        limit = serializers.IntegerField(min_value=1, max_value=1000, required=False, default=100)

    @extend_schema(
        parameters=[OpenApiParameter("limit", int, description="at most 1000, default 100")],
        responses={200: CheckpointSerializer(many=True), 403: ErrorSerializer},
    )
    def get(self, request):
        """Checkpoints, largest first; hand several to the verifier to narrow down a bad entry."""
        params = _query(request, self.InputSerializer, ("limit",))
        checkpoints = checkpoints_for_actor(actor=request.user)[: params["limit"]]
        return Response(CheckpointSerializer(checkpoints, many=True).data)


class CheckpointLatestApi(_AuditApi):
    """The most recent checkpoint, exactly as signed."""

    @extend_schema(responses={200: CheckpointSerializer, 404: ErrorSerializer})
    def get(self, request):
        _query(request, serializers.Serializer, ())
        return Response(CheckpointSerializer(checkpoint_latest(actor=request.user)).data)


class EntryListApi(_AuditApi):
    """Download a selection of the log as JSON Lines (exact leaf bytes, one per line) or CSV, streamed."""

    class InputSerializer(serializers.Serializer):
        from_seq = serializers.IntegerField(min_value=0, max_value=MAX_INT, required=False)
        to_seq = serializers.IntegerField(min_value=0, max_value=MAX_INT, required=False, help_text="inclusive")
        since = serializers.DateTimeField(required=False, help_text="RFC 3339, inclusive")
        until = serializers.DateTimeField(required=False, help_text="RFC 3339, exclusive")
        actor = serializers.CharField(required=False, max_length=200)
        action = serializers.CharField(required=False, max_length=100)
        target = serializers.CharField(required=False, max_length=300)
        family = serializers.ChoiceField(
            choices=list(FAMILIES),
            required=False,
            help_text="a family of actions: the part of the action before its first dot (grant, consent, ...)",
        )
        format = serializers.ChoiceField(
            choices=["jsonl", "csv", "proofs"],
            required=False,
            default="jsonl",
            help_text=(
                "jsonl: exact leaf bytes; only a full export (from seq 0 to a checkpoint's size) verifies with "
                "`python -m audit.verify --entries`. proofs: JSON Lines, the latest checkpoint first, then one "
                '{"leaf", "seq", "leaf_hash", "proof", "tree_size"} per selected entry the checkpoint covers, '
                f"verified alone by `python -m audit.verify --proofs FILE --jwks jwks.json`; at most "
                f"{PROOFS_MAX_ENTRIES:,} entries. csv: for reading."
            ),
        )

    @extend_schema(
        parameters=[InputSerializer],
        responses={
            (200, "application/jsonl"): OpenApiTypes.STR,
            (200, "text/csv"): OpenApiTypes.STR,
            400: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    def get(self, request):
        params = _query(request, self.InputSerializer, (*FILTERS, "format"))
        export_format = params.pop("format")
        selection = EntryFilter(**params)
        if export_format == "proofs":
            return self._proofs(request, selection)
        qs, size = entries_for_actor(actor=request.user, selection=selection)
        if export_format == "csv":
            response = StreamingHttpResponse(csv_chunks(qs), content_type="text/csv; charset=utf-8")
        else:
            response = StreamingHttpResponse(jsonl_chunks(qs), content_type="application/jsonl")
        first, last = (None, None) if selection.since or selection.until else selection_bounds(qs)
        filename = selection_filename(selection, export_format, first=first, last=last)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["X-Audit-Log-Size"] = str(size)
        response["Cache-Control"] = "no-store"
        return response

    def _proofs(self, request, selection: EntryFilter) -> HttpResponse:
        bundle = inclusion_proofs_for_actor(actor=request.user, selection=selection)
        checkpoint = bundle["checkpoint"]
        lines = [json.dumps(checkpoint.document(), sort_keys=True, separators=(",", ":"))]
        lines += [json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in bundle["entries"]]
        response = HttpResponse(("\n".join(lines) + "\n").encode("utf-8"), content_type="application/jsonl")
        seqs = [e["seq"] for e in bundle["entries"]] or [None]
        filename = selection_filename(selection, "proofs.jsonl", first=seqs[0], last=seqs[-1])
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["X-Audit-Log-Size"] = str(checkpoint.size)
        response["Cache-Control"] = "no-store"
        return response


class InclusionProofApi(_AuditApi):
    """RFC 6962 §2.1.1 inclusion proof (audit path) of entry ``seq`` in the tree of ``size`` entries."""

    class InputSerializer(serializers.Serializer):
        seq = serializers.IntegerField(min_value=0, max_value=MAX_INT)
        size = serializers.IntegerField(
            min_value=-MAX_INT, max_value=MAX_INT, required=False, help_text="tree size; default: the whole log"
        )

    class OutputSerializer(serializers.Serializer):
        leaf_index = serializers.IntegerField()
        tree_size = serializers.IntegerField()
        leaf_hash = serializers.CharField()
        root_hash = serializers.CharField()
        proof = serializers.ListField(child=serializers.CharField())
        leaf = serializers.CharField(help_text="the entry's leaf bytes")

    @extend_schema(parameters=[InputSerializer], responses={200: OutputSerializer, 400: ErrorSerializer})
    def get(self, request):
        params = _query(request, self.InputSerializer, ("seq", "size"))
        proof = inclusion_proof_for_actor(actor=request.user, seq=params["seq"], size=params.get("size"))
        return Response(self.OutputSerializer(proof).data)


class ConsistencyProofApi(_AuditApi):
    """RFC 6962 §2.1.2 consistency proof between the trees of ``first`` and ``second`` entries."""

    class InputSerializer(serializers.Serializer):
        first = serializers.IntegerField(min_value=-MAX_INT, max_value=MAX_INT)
        second = serializers.IntegerField(
            min_value=-MAX_INT, max_value=MAX_INT, required=False, help_text="default: the whole log"
        )

    class OutputSerializer(serializers.Serializer):
        first = serializers.IntegerField()
        second = serializers.IntegerField()
        first_root_hash = serializers.CharField()
        second_root_hash = serializers.CharField()
        proof = serializers.ListField(child=serializers.CharField())

    @extend_schema(parameters=[InputSerializer], responses={200: OutputSerializer, 400: ErrorSerializer})
    def get(self, request):
        params = _query(request, self.InputSerializer, ("first", "second"))
        proof = consistency_proof_for_actor(actor=request.user, first=params["first"], second=params.get("second"))
        return Response(self.OutputSerializer(proof).data)
