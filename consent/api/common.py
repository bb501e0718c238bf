"""Shapes and permissions shared by the consent API's officer and employee endpoints."""

from __future__ import annotations

from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts.permissions import IsPrivacyOfficer
from config.schema import ErrorSerializer
from consent.models import ConsentEvent, DataCategory
from consent.receipts import receipt_claims

ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer}


class OfficerWrites(IsAuthenticated):
    """Any signed-in user reads; only privacy officers write."""

    message = "This requires the privacy_officer role."
    # Read by config.schema: these methods answer 403 without the role.
    role_restricted_methods = ("POST", "PUT", "PATCH", "DELETE")

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.method in ("GET", "HEAD", "OPTIONS") or IsPrivacyOfficer().has_permission(request, view)


class PurposeSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=64)
    description = serializers.CharField(max_length=2000)


class NoticeOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField(allow_null=True)
    status = serializers.CharField()
    title = serializers.CharField()
    summary = serializers.CharField()
    purposes = PurposeSerializer(many=True)
    categories = serializers.ListField(child=serializers.ChoiceField(choices=DataCategory.choices))
    retention_days = serializers.DictField(child=serializers.IntegerField())
    access = serializers.CharField()
    rights = serializers.CharField()
    contact = serializers.CharField()
    created_at = serializers.DateTimeField()
    published_at = serializers.DateTimeField(allow_null=True)


class NoticeInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    summary = serializers.CharField(max_length=10000)
    purposes = PurposeSerializer(many=True, allow_empty=False)
    categories = serializers.ListField(child=serializers.CharField(max_length=32), allow_empty=False)
    access = serializers.CharField(max_length=10000)
    rights = serializers.CharField(max_length=10000)
    contact = serializers.CharField(max_length=200)


class AppSerializer(serializers.Serializer):
    app_id = serializers.CharField(max_length=200, allow_blank=True, trim_whitespace=False)
    display_name = serializers.CharField(max_length=200)
    categories = serializers.ListField(child=serializers.CharField(max_length=32), allow_empty=False)


class GrantSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    notice_version = serializers.IntegerField()
    event_id = serializers.UUIDField()


class EventOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=ConsentEvent.Kind.choices)
    categories = serializers.ListField(child=serializers.CharField())
    excluded_apps = serializers.ListField(child=serializers.CharField())
    notice_version = serializers.IntegerField(source="notice.version")
    channel = serializers.CharField()
    erasure_requested = serializers.BooleanField()
    epoch = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    receipt_id = serializers.SerializerMethodField()

    def get_receipt_id(self, event) -> str | None:
        # Only grants and withdrawals carry a receipt; the reverse one-to-one raises when absent.
        receipt = getattr(event, "receipt", None)
        return str(receipt.id) if receipt else None


class ErasureRequestOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    categories = serializers.ListField(child=serializers.CharField())
    reason = serializers.CharField()
    status = serializers.CharField()
    requested_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)


class ReceiptOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    event_id = serializers.UUIDField()
    kid = serializers.CharField()
    issued_at = serializers.DateTimeField()
    jws = serializers.CharField(
        help_text="The receipt as issued: a JWS compact serialization, EdDSA, verifiable with /.well-known/jwks.json."
    )
    claims = serializers.DictField(
        help_text="The receipt's payload (Kantara Consent Receipt v1.1 field names), decoded for convenience."
    )

    def to_representation(self, receipt):
        return {
            "id": str(receipt.id),
            "event_id": str(receipt.event_id),
            "kid": receipt.kid,
            "issued_at": serializers.DateTimeField().to_representation(receipt.issued_at),
            "jws": receipt.jws,
            "claims": receipt_claims(receipt),
        }


def _event_response(event: ConsentEvent, code: int = status.HTTP_201_CREATED) -> Response:
    event = ConsentEvent.objects.select_related("notice", "receipt").get(pk=event.pk)
    return Response(EventOutputSerializer(event).data, status=code)
