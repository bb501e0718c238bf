"""Consent API for employees, under ``/me``: their own consent, history, receipts, erasure and accesses.

No endpoint here takes another person's identity.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsEmployee
from audit import selectors as audit_selectors
from audit.actions import AuditAction
from config.schema import ErrorSerializer
from consent import selectors, services
from consent.api.common import (
    ERRORS,
    ErasureRequestOutputSerializer,
    EventOutputSerializer,
    GrantSerializer,
    ReceiptOutputSerializer,
    _event_response,
)
from consent.models import ConsentEvent
from erasure import selectors as erasure_selectors
from erasure import services as erasure_services


class MeApi(APIView):
    """The signed-in employee's current consent, derived from their history."""

    permission_classes = [IsEmployee]

    class OutputSerializer(serializers.Serializer):
        subject = serializers.CharField(
            allow_null=True, help_text="Pseudonymous subject id under which captured data is stored."
        )
        epoch = serializers.IntegerField()
        granted = serializers.DictField(child=GrantSerializer())
        excluded_apps = serializers.ListField(child=serializers.CharField())
        current_notice_version = serializers.IntegerField(allow_null=True)
        needs_review = serializers.ListField(
            child=serializers.CharField(), help_text="Categories held under an older notice than the current one."
        )
        erasure_requests = ErasureRequestOutputSerializer(many=True)

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request):
        overview = selectors.consent_overview_for_employee(employee=request.user)
        return Response(
            {
                "subject": overview.pseudonym,
                "epoch": overview.epoch,
                "granted": overview.granted,
                "excluded_apps": overview.excluded_apps,
                "current_notice_version": overview.notice.version if overview.notice else None,
                "needs_review": overview.needs_review,
                "erasure_requests": ErasureRequestOutputSerializer(
                    erasure_selectors.erasure_requests_for_employee(employee=request.user), many=True
                ).data,
            }
        )


class MeGrantCreateApi(APIView):
    """Opt in to categories under the current notice. Returns the consent event and its receipt id."""

    permission_classes = [IsEmployee]

    class InputSerializer(serializers.Serializer):
        categories = serializers.ListField(child=serializers.CharField(max_length=32), allow_empty=False)
        notice_version = serializers.IntegerField(
            help_text="The notice version the employee read; must be the current one."
        )
        excluded_apps = serializers.ListField(child=serializers.CharField(max_length=200), required=False)

    @extend_schema(request=InputSerializer, responses={201: EventOutputSerializer, **ERRORS})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event = services.consent_grant(employee=request.user, channel=ConsentEvent.Channel.API, **data.validated_data)
        return _event_response(event)


class MeWithdrawalCreateApi(APIView):
    """Withdraw some categories, or all when ``categories`` is omitted; optionally ask for erasure."""

    permission_classes = [IsEmployee]

    class InputSerializer(serializers.Serializer):
        categories = serializers.ListField(
            child=serializers.CharField(max_length=32), required=False, allow_empty=False
        )
        erase = serializers.BooleanField(required=False, default=False)

    @extend_schema(request=InputSerializer, responses={201: EventOutputSerializer, **ERRORS})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        categories = data.validated_data.get("categories")
        if data.validated_data["erase"]:
            event, _ = erasure_services.consent_withdraw_with_erasure(
                employee=request.user, categories=categories, channel=ConsentEvent.Channel.API
            )
        else:
            event = services.consent_withdraw(
                employee=request.user, categories=categories, channel=ConsentEvent.Channel.API
            )
        return _event_response(event)


class MeExclusionsApi(APIView):
    """Replace the list of applications the employee excludes from capture."""

    permission_classes = [IsEmployee]

    class InputSerializer(serializers.Serializer):
        excluded_apps = serializers.ListField(child=serializers.CharField(max_length=200, allow_blank=True))

    @extend_schema(request=InputSerializer, responses={200: EventOutputSerializer, **ERRORS})
    def put(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event = services.consent_set_exclusions(
            employee=request.user, excluded_apps=data.validated_data["excluded_apps"], channel=ConsentEvent.Channel.API
        )
        return _event_response(event, status.HTTP_200_OK)


class MeHistoryApi(APIView):
    """Every grant, withdrawal, expiry, supersession and exclusion change, newest first."""

    permission_classes = [IsEmployee]

    @extend_schema(responses={200: EventOutputSerializer(many=True)})
    def get(self, request):
        events = selectors.consent_history_for_employee(employee=request.user)
        return Response(EventOutputSerializer(events, many=True).data)


class MeReceiptListApi(APIView):
    """The employee's consent receipts, newest first."""

    permission_classes = [IsEmployee]

    @extend_schema(responses={200: ReceiptOutputSerializer(many=True)})
    def get(self, request):
        return Response(ReceiptOutputSerializer(selectors.receipts_for_employee(employee=request.user), many=True).data)


class MeReceiptDetailApi(APIView):
    """One consent receipt, exactly as issued."""

    permission_classes = [IsEmployee]

    @extend_schema(responses={200: ReceiptOutputSerializer, 404: ErrorSerializer})
    def get(self, request, receipt_id):
        return Response(
            ReceiptOutputSerializer(selectors.receipt_for_employee(employee=request.user, receipt_id=receipt_id)).data
        )


class MeErasureRequestListCreateApi(APIView):
    """The employee's erasure requests; POST asks for erasure (all categories when none are named)."""

    permission_classes = [IsEmployee]

    class InputSerializer(serializers.Serializer):
        categories = serializers.ListField(
            child=serializers.CharField(max_length=32), required=False, allow_empty=False
        )

    @extend_schema(responses={200: ErasureRequestOutputSerializer(many=True)})
    def get(self, request):
        return Response(
            ErasureRequestOutputSerializer(
                erasure_selectors.erasure_requests_for_employee(employee=request.user), many=True
            ).data
        )

    @extend_schema(
        request=InputSerializer,
        responses={
            201: ErasureRequestOutputSerializer,
            200: OpenApiResponse(ErasureRequestOutputSerializer, description="a pending request already covers it"),
            **ERRORS,
        },
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        erasure, created = erasure_services.erasure_request_ask(
            employee=request.user, categories=data.validated_data.get("categories"), channel=ConsentEvent.Channel.API
        )
        return Response(
            ErasureRequestOutputSerializer(erasure).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class MeAccessListApi(APIView):
    """Who accessed data about the employee: audit entries whose target is their subject."""

    permission_classes = [IsEmployee]

    class OutputSerializer(serializers.Serializer):
        seq = serializers.IntegerField()
        ts = serializers.DateTimeField()
        actor = serializers.CharField()
        action = serializers.CharField()
        action_label = serializers.SerializerMethodField(help_text="the action in words")
        detail = serializers.DictField()

        def get_action_label(self, entry) -> str:
            return AuditAction.label_of(entry.action)

    @extend_schema(responses={200: OutputSerializer(many=True)})
    def get(self, request):
        return Response(
            self.OutputSerializer(audit_selectors.accesses_for_employee(employee=request.user), many=True).data
        )
