"""Data-access API: requests, reviews, grants, dataset exports and their manifests, withdrawals.

Views parse input, call a service or a selector, and shape the output.
Requesters see their own requests and grants; privacy officers and auditors
see all of them; only the holder of a grant exports under it.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

from django.http import HttpResponse, StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from access import selectors, services
from access.models import DataRequest, Review
from accounts.models import Role
from accounts.permissions import IsPrivacyOfficer, IsRequester, role_permission
from config.errors import Conflict
from config.schema import ErrorSerializer
from consent.models import DataCategory

ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer}
DataAccessRoles = role_permission(Role.REQUESTER, Role.PRIVACY_OFFICER, Role.AUDITOR)


class DataReviewSerializer(serializers.Serializer):
    officer = serializers.CharField(source="officer.username")
    decision = serializers.ChoiceField(choices=Review.Decision.choices)
    reason = serializers.CharField()
    grant_days = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


class DataGrantSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    request = serializers.UUIDField(source="request_id")
    requester = serializers.CharField(source="request.requester.username")
    purpose = serializers.CharField(source="request.purpose")
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    end_reason = serializers.CharField()


class DataRequestSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    requester = serializers.CharField(source="requester.username")
    categories = serializers.ListField(child=serializers.CharField())
    apps = serializers.ListField(child=serializers.CharField())
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    purpose = serializers.CharField()
    notice_version = serializers.IntegerField(source="notice.version")
    justification = serializers.CharField()
    approvals_required = serializers.IntegerField()
    status = serializers.ChoiceField(choices=DataRequest.Status.choices)
    created_at = serializers.DateTimeField()
    decide_by = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    reviews = DataReviewSerializer(many=True, source="reviews.all")
    grant = serializers.SerializerMethodField()

    def get_grant(self, request: DataRequest) -> dict | None:
        grant = getattr(request, "grant", None) if request.status == DataRequest.Status.APPROVED else None
        return DataGrantSerializer(grant).data if grant is not None else None


class RequestListCreateApi(APIView):
    """Requesters ask for datasets and list their requests; officers and auditors list every request."""

    permission_classes = [DataAccessRoles]

    class InputSerializer(serializers.Serializer):
        categories = serializers.ListField(child=serializers.ChoiceField(choices=DataCategory.choices), min_length=1)
        apps = serializers.ListField(child=serializers.CharField(max_length=200), min_length=1)
        since = serializers.DateTimeField()
        until = serializers.DateTimeField()
        purpose = serializers.CharField(max_length=64)
        justification = serializers.CharField(max_length=5000)

    @extend_schema(responses={200: DataRequestSerializer(many=True), **ERRORS})
    def get(self, request):
        wanted = request.query_params.get("status") or None
        if wanted is not None and wanted not in DataRequest.Status.values:
            raise serializers.ValidationError({"status": f"One of: {', '.join(DataRequest.Status.values)}."})
        requests = selectors.data_requests_for_actor(actor=request.user, status=wanted)
        return Response(DataRequestSerializer(requests, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: DataRequestSerializer, **ERRORS})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = services.data_request_submit(requester=request.user, **data.validated_data)
        return Response(DataRequestSerializer(created).data, status=status.HTTP_201_CREATED)


class RequestDetailApi(APIView):
    permission_classes = [DataAccessRoles]

    @extend_schema(responses={200: DataRequestSerializer, **ERRORS})
    def get(self, request, request_id):
        found = selectors.data_request_for_actor(actor=request.user, request_id=request_id)
        return Response(DataRequestSerializer(found).data)


class RequestImpactApi(APIView):
    """What the request would cover if exported now: subjects and events, aggregate only."""

    permission_classes = [IsPrivacyOfficer]

    class OutputSerializer(serializers.Serializer):
        subjects = serializers.IntegerField(allow_null=True, help_text="null when fewer than `minimum`")
        events = serializers.IntegerField(allow_null=True)
        minimum = serializers.IntegerField()
        subjects_text = serializers.CharField()

    @extend_schema(responses={200: OutputSerializer, **ERRORS})
    def get(self, request, request_id):
        found = selectors.data_request_for_actor(actor=request.user, request_id=request_id)
        impact = selectors.impact_for_officer(actor=request.user, request=found)
        return Response(self.OutputSerializer(impact).data)


class ReviewCreateApi(APIView):
    """An officer approves or rejects a request with a written reason (and may shorten the grant)."""

    permission_classes = [IsPrivacyOfficer]

    class InputSerializer(serializers.Serializer):
        decision = serializers.ChoiceField(choices=Review.Decision.choices)
        reason = serializers.CharField(max_length=5000)
        grant_days = serializers.IntegerField(required=False, allow_null=True)

    @extend_schema(request=InputSerializer, responses={201: DataRequestSerializer, **ERRORS})
    def post(self, request, request_id):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        found = selectors.data_request_for_actor(actor=request.user, request_id=request_id)
        decided = services.data_request_review(
            officer=request.user,
            request=found,
            approve=data.validated_data["decision"] == Review.Decision.APPROVE,
            reason=data.validated_data["reason"],
            grant_days=data.validated_data.get("grant_days"),
        )
        fresh = selectors.data_request_for_actor(actor=request.user, request_id=decided.pk)
        return Response(DataRequestSerializer(fresh).data, status=status.HTTP_201_CREATED)


class GrantListApi(APIView):
    permission_classes = [DataAccessRoles]

    @extend_schema(responses={200: DataGrantSerializer(many=True), **ERRORS})
    def get(self, request):
        return Response(DataGrantSerializer(selectors.grants_for_actor(actor=request.user), many=True).data)


class GrantDetailApi(APIView):
    permission_classes = [DataAccessRoles]

    @extend_schema(responses={200: DataGrantSerializer, **ERRORS})
    def get(self, request, grant_id):
        return Response(DataGrantSerializer(selectors.grant_for_actor(actor=request.user, grant_id=grant_id)).data)


class GrantRevokeApi(APIView):
    """An officer ends a grant early; its pseudonym key is destroyed at once."""

    permission_classes = [IsPrivacyOfficer]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=5000)

    @extend_schema(request=InputSerializer, responses={200: DataGrantSerializer, **ERRORS})
    def post(self, request, grant_id):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grant = selectors.grant_for_actor(actor=request.user, grant_id=grant_id)
        revoked = services.grant_revoke(officer=request.user, grant=grant, reason=data.validated_data["reason"])
        return Response(DataGrantSerializer(selectors.grant_for_actor(actor=request.user, grant_id=revoked.pk)).data)


def _gzip(chunks: Iterable[bytes]) -> Iterator[bytes]:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # gzip framing
    for chunk in chunks:
        out = compressor.compress(chunk)
        if out:
            yield out
    yield compressor.flush()


def _accepts_gzip(request) -> bool:
    return any(
        part.split(";")[0].strip() == "gzip" and "q=0" not in part.replace(" ", "")
        for part in request.META.get("HTTP_ACCEPT_ENCODING", "").split(",")
    )


class GrantExportApi(APIView):
    """Download the grant's dataset as JSON Lines (gzip when accepted).

    The export is recorded in the audit log before the first byte; its signed
    manifest is at the ``Link`` given in the response once the last byte has
    been sent.
    """

    permission_classes = [IsRequester]

    @extend_schema(
        responses={
            (200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.BINARY, description="One event per line."),
            **ERRORS,
        }
    )
    def get(self, request, grant_id):
        grant = selectors.grant_for_holder(actor=request.user, grant_id=grant_id)
        stream = services.export_begin(actor=request.user, grant=grant)
        export = stream.export
        compressed = _accepts_gzip(request)
        response = StreamingHttpResponse(
            _gzip(stream.chunks) if compressed else stream.chunks, content_type="application/x-ndjson"
        )
        if compressed:
            response["Content-Encoding"] = "gzip"
        response["Vary"] = "Accept-Encoding"
        response["Cache-Control"] = "no-store"
        response["Content-Disposition"] = f'attachment; filename="dataset-{export.id}.jsonl"'
        response["X-Export-Id"] = str(export.id)
        response["X-Audit-Seq"] = str(export.audit_seq)
        manifest = reverse("access-export-manifest", kwargs={"export_id": export.id})
        response["Link"] = f'<{manifest}>; rel="describedby"; type="application/jwt"'
        return response


class DatasetExportSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    grant = serializers.UUIDField(source="grant_id")
    created_at = serializers.DateTimeField()
    audit_seq = serializers.IntegerField(allow_null=True)
    subjects = serializers.IntegerField()
    events = serializers.IntegerField()
    sha256 = serializers.CharField()
    completed_at = serializers.DateTimeField(allow_null=True)
    manifest = serializers.CharField(help_text="The signed manifest (JWS); empty until the download completed.")


class ExportDetailApi(APIView):
    permission_classes = [DataAccessRoles]

    @extend_schema(responses={200: DatasetExportSerializer, **ERRORS})
    def get(self, request, export_id):
        return Response(
            DatasetExportSerializer(selectors.export_for_actor(actor=request.user, export_id=export_id)).data
        )


class ExportManifestApi(APIView):
    """The export's signed manifest, a JWS (``typ: dataset-manifest+jwt``) verifiable with the JWKS alone."""

    permission_classes = [DataAccessRoles]

    @extend_schema(responses={(200, "application/jwt"): OpenApiResponse(OpenApiTypes.STR), **ERRORS})
    def get(self, request, export_id):
        export = selectors.export_for_actor(actor=request.user, export_id=export_id)
        if not export.manifest:
            raise Conflict("export_incomplete", "This export was not downloaded to the end; it has no manifest.")
        return HttpResponse(export.manifest, content_type="application/jwt")


class WithdrawalsApi(APIView):
    """Who left each of the grant's exports since it was made (pseudonyms in the grant's terms)."""

    permission_classes = [IsRequester]

    class DepartureSerializer(serializers.Serializer):
        subject = serializers.CharField()
        since = serializers.DateTimeField()
        reason = serializers.ChoiceField(choices=["withdrawn", "erasure_requested"])

    class ExportDeparturesSerializer(serializers.Serializer):
        export = serializers.UUIDField(source="export.id")
        exported_at = serializers.DateTimeField(source="export.created_at")
        departures = serializers.SerializerMethodField()

        def get_departures(self, entry) -> list[dict]:
            return WithdrawalsApi.DepartureSerializer(entry.departures, many=True).data

    class OutputSerializer(serializers.Serializer):
        grant = serializers.UUIDField(source="grant.id")
        exports = serializers.SerializerMethodField()
        acknowledged_until = serializers.DateTimeField(allow_null=True)
        unacknowledged = serializers.IntegerField()

        def get_exports(self, listed) -> list[dict]:
            return WithdrawalsApi.ExportDeparturesSerializer(listed.exports, many=True).data

    @extend_schema(responses={200: OutputSerializer, **ERRORS})
    def get(self, request, grant_id):
        grant = selectors.grant_for_holder(actor=request.user, grant_id=grant_id)
        listed = services.withdrawals_for_holder(actor=request.user, grant=grant)
        return Response(self.OutputSerializer(listed).data)


class WithdrawalsAckApi(APIView):
    """The holder confirms having deleted everyone listed from downstream copies (an audit entry)."""

    permission_classes = [IsRequester]

    class OutputSerializer(serializers.Serializer):
        acknowledged_at = serializers.DateTimeField()
        pseudonyms = serializers.IntegerField()

    @extend_schema(request=None, responses={201: OutputSerializer, **ERRORS})
    def post(self, request, grant_id):
        grant = selectors.grant_for_holder(actor=request.user, grant_id=grant_id)
        ack = services.withdrawals_acknowledge(actor=request.user, grant=grant)
        return Response(self.OutputSerializer(ack).data, status=status.HTTP_201_CREATED)
