"""Collection API: devices, collection tokens, batch upload, and an employee's own data."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsEmployee
from audit.timestamps import rfc3339
from collection.authentication import (
    CaptureTokenAuthentication,
    DeviceSecretAuthentication,
    IsCaptureClient,
    IsDevice,
)
from collection.models import Platform
from collection.openapi import BatchUploadInputSerializer
from collection.ratelimit import upload_allowed
from collection.responses import export_response
from collection.selectors import device_for_employee, devices_for_employee
from collection.services import batch_ingest, device_enroll, device_revoke, my_data_export, my_data_summary, token_issue
from collection.upload import declared_length, read_body
from config.errors import RateLimited, UnsupportedFormat
from config.schema import ErrorSerializer


class DeviceOutputSerializer(serializers.Serializer):
    device_id = serializers.UUIDField(source="pk")
    name = serializers.CharField()
    platform = serializers.ChoiceField(choices=Platform.choices)
    created_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    last_seen_at = serializers.DateTimeField(allow_null=True)


class DeviceListCreateApi(APIView):
    """Employees list their capture devices and enroll new ones. The secret is shown once.

    At most ``COLLECTION_MAX_DEVICES_PER_EMPLOYEE`` devices are active at a time (409 beyond).
    """

    permission_classes = [IsEmployee]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        platform = serializers.ChoiceField(choices=Platform.choices)

    class OutputSerializer(serializers.Serializer):
        device_id = serializers.UUIDField()
        device_secret = serializers.CharField(help_text="Shown only now; stored only as a hash.")

    @extend_schema(responses={200: DeviceOutputSerializer(many=True)})
    def get(self, request):
        return Response(DeviceOutputSerializer(devices_for_employee(employee=request.user), many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={201: OutputSerializer, 400: ErrorSerializer, 403: ErrorSerializer, 409: ErrorSerializer},
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        device, secret = device_enroll(employee=request.user, **data.validated_data)
        return Response({"device_id": str(device.pk), "device_secret": secret}, status=status.HTTP_201_CREATED)


class DeviceRevokeApi(APIView):
    """Revoke one of your devices: its secret and its live tokens stop working at once."""

    permission_classes = [IsEmployee]

    @extend_schema(responses={204: None, 404: ErrorSerializer})
    def delete(self, request, device_id):
        device = device_for_employee(employee=request.user, device_id=device_id)
        device_revoke(employee=request.user, device=device)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenPolicySerializer(serializers.Serializer):
    categories = serializers.ListField(child=serializers.CharField(), help_text="Categories the token permits.")
    apps = serializers.ListField(child=serializers.CharField(), help_text="Application ids capture may run on.")


class TokenCreateApi(APIView):
    """A capture client exchanges its device secret for a short-lived collection token.

    403 `consent_required` when the employee has no active consent covering an allowed application.
    """

    authentication_classes = [DeviceSecretAuthentication]
    permission_classes = [IsDevice]

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField(help_text="JWS compact serialization, EdDSA, typ capture+jwt.")
        expires_at = serializers.DateTimeField()
        policy = TokenPolicySerializer()

    @extend_schema(request=None, responses={201: OutputSerializer, 401: ErrorSerializer, 403: ErrorSerializer})
    def post(self, request):
        issued = token_issue(device=request.auth)
        return Response(
            {
                "token": issued.token,
                "expires_at": rfc3339(issued.expires_at),
                "policy": {"categories": issued.categories, "apps": issued.apps},
            },
            status=status.HTTP_201_CREATED,
        )


# --- Upload -------------------------------------------------------------------


class BatchUploadOutputSerializer(serializers.Serializer):
    batch_id = serializers.UUIDField()
    accepted = serializers.IntegerField()
    dropped = serializers.DictField(child=serializers.IntegerField(), help_text="Dropped events per reason.")
    redacted = serializers.IntegerField(help_text="Events whose text, title, URL or keys were redacted.")


class BatchUploadApi(APIView):
    """Upload a batch of captured events (at most 5,000 events and 2 MiB uncompressed; gzip allowed).

    The server applies every safeguard itself and answers with counts per drop
    reason. The same `batch_id` again returns 200 with the first answer; with
    different content, 409. 403 `consent_withdrawn` / `consent_changed` when the
    token's consent epoch is stale; 413 too large; 429 with `Retry-After`.
    """

    authentication_classes = [CaptureTokenAuthentication]
    permission_classes = [IsCaptureClient]
    # The body is read raw: size limits apply before and after gzip, and
    # msgspec decodes and validates 5,000 events in about a millisecond where
    # a per-event DRF serializer takes about a second.
    parser_classes: list = []

    @extend_schema(
        request={"application/json": BatchUploadInputSerializer},
        responses={
            202: BatchUploadOutputSerializer,
            200: OpenApiResponse(BatchUploadOutputSerializer, description="A replay of an already stored batch."),
            400: ErrorSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            409: ErrorSerializer,
            413: ErrorSerializer,
            415: ErrorSerializer,
            429: ErrorSerializer,
            503: ErrorSerializer,
        },
    )
    def post(self, request):
        claims = request.auth
        length = declared_length(request.META)
        wait = upload_allowed(claims.device_id)
        if wait:
            raise RateLimited(
                "rate_limited", f"Too many uploads from this device; retry in {wait} s.", retry_after=wait
            )
        content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if content_type and content_type != "application/json":
            raise UnsupportedFormat("unsupported_media_type", "Send the batch as application/json.")
        body = read_body(request._request, length=length, encoding=request.META.get("HTTP_CONTENT_ENCODING", ""))
        result = batch_ingest(claims=claims, subject_id=request.user.subject_id, body=body)
        return Response(result.body, status=status.HTTP_200_OK if result.replayed else status.HTTP_202_ACCEPTED)


# --- An employee's own data --------------------------------------------------


class SummaryGroupSerializer(serializers.Serializer):
    category = serializers.CharField()
    app = serializers.CharField()
    events = serializers.IntegerField()
    first_ts = serializers.DateTimeField()
    last_ts = serializers.DateTimeField()


class MyDataSummaryApi(APIView):
    """What is stored about you: counts per category and application, and the date range. Audited."""

    permission_classes = [IsEmployee]

    class OutputSerializer(serializers.Serializer):
        subject = serializers.CharField(help_text="Your pseudonym, under which the data is stored.")
        events = serializers.IntegerField()
        first_ts = serializers.DateTimeField(allow_null=True)
        last_ts = serializers.DateTimeField(allow_null=True)
        categories = serializers.DictField(child=serializers.IntegerField())
        groups = SummaryGroupSerializer(many=True)

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request):
        return Response(my_data_summary(employee=request.user))


class MyDataExportApi(APIView):
    """Download everything stored about you, decrypted, as JSON Lines. Audited."""

    permission_classes = [IsEmployee]

    @extend_schema(responses={(200, "application/x-ndjson"): OpenApiTypes.STR})
    def get(self, request):
        return export_response(my_data_export(employee=request.user))
