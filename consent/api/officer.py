"""Consent API for privacy officers: notices, the allowlist, retention, and aggregate figures.

Any signed-in user reads notices, the allowlist and retention; only officers
write them.  Consent rates and erasure deadlines are aggregates, for officers only.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsPrivacyOfficer
from config.errors import NotFound
from config.schema import ErrorSerializer
from consent import selectors, services, stats
from consent.api.common import (
    ERRORS,
    AppSerializer,
    NoticeInputSerializer,
    NoticeOutputSerializer,
    OfficerWrites,
)
from erasure import selectors as erasure_selectors


class NoticeListCreateApi(APIView):
    """Notices: everyone reads published and superseded versions; officers also see and write drafts."""

    permission_classes = [OfficerWrites]

    @extend_schema(responses={200: NoticeOutputSerializer(many=True)})
    def get(self, request):
        return Response(NoticeOutputSerializer(selectors.notices_for_actor(actor=request.user), many=True).data)

    @extend_schema(request=NoticeInputSerializer, responses={201: NoticeOutputSerializer, **ERRORS})
    def post(self, request):
        data = NoticeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        notice = services.notice_create(actor=request.user, **data.validated_data)
        return Response(NoticeOutputSerializer(notice).data, status=status.HTTP_201_CREATED)


class NoticeCurrentApi(APIView):
    """The notice employees consent under now."""

    @extend_schema(responses={200: NoticeOutputSerializer, 404: ErrorSerializer})
    def get(self, request):
        notice = selectors.current_notice()
        if notice is None:
            raise NotFound("not_found", "No notice has been published yet.")
        return Response(NoticeOutputSerializer(notice).data)


class NoticeDetailApi(APIView):
    """One notice; officers edit drafts (published versions are immutable: 409)."""

    permission_classes = [OfficerWrites]

    class InputSerializer(NoticeInputSerializer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, partial=True, **kwargs)

    @extend_schema(responses={200: NoticeOutputSerializer, 404: ErrorSerializer})
    def get(self, request, notice_id: int):
        return Response(
            NoticeOutputSerializer(selectors.notice_for_actor(actor=request.user, notice_id=notice_id)).data
        )

    @extend_schema(request=InputSerializer, responses={200: NoticeOutputSerializer, **ERRORS})
    def patch(self, request, notice_id: int):
        notice = selectors.notice_for_actor(actor=request.user, notice_id=notice_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        notice = services.notice_update(actor=request.user, notice=notice, **data.validated_data)
        return Response(NoticeOutputSerializer(notice).data)


class NoticePublishApi(APIView):
    """Publish a draft as the next version; the previous version is superseded."""

    permission_classes = [IsPrivacyOfficer]

    @extend_schema(request=None, responses={200: NoticeOutputSerializer, **ERRORS})
    def post(self, request, notice_id: int):
        notice = selectors.notice_for_actor(actor=request.user, notice_id=notice_id)
        notice = services.notice_publish(actor=request.user, notice=notice)
        return Response(NoticeOutputSerializer(notice).data)


class AllowlistListCreateApi(APIView):
    """Applications on which capture is permitted, with the categories allowed on each."""

    permission_classes = [OfficerWrites]

    class InputSerializer(AppSerializer):
        pass

    class OutputSerializer(serializers.Serializer):
        app_id = serializers.CharField()
        display_name = serializers.CharField()
        categories = serializers.ListField(child=serializers.CharField())

    @extend_schema(responses={200: OutputSerializer(many=True)})
    def get(self, request):
        return Response(self.OutputSerializer(selectors.allowed_applications(), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer, **ERRORS})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        app = services.allowlist_add(actor=request.user, **data.validated_data)
        return Response(self.OutputSerializer(app).data, status=status.HTTP_201_CREATED)


class AllowlistDetailApi(APIView):
    """Officers change or remove one allowed application."""

    permission_classes = [IsPrivacyOfficer]

    class InputSerializer(serializers.Serializer):
        display_name = serializers.CharField(max_length=200, required=False)
        categories = serializers.ListField(
            child=serializers.CharField(max_length=32), required=False, allow_empty=False
        )

    @extend_schema(request=InputSerializer, responses={200: AllowlistListCreateApi.OutputSerializer, **ERRORS})
    def patch(self, request, app_id: str):
        app = selectors.allowed_application_for_officer(actor=request.user, app_id=app_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        app = services.allowlist_update(actor=request.user, app=app, **data.validated_data)
        return Response(AllowlistListCreateApi.OutputSerializer(app).data)

    @extend_schema(responses={204: None, 403: ErrorSerializer, 404: ErrorSerializer})
    def delete(self, request, app_id: str):
        app = selectors.allowed_application_for_officer(actor=request.user, app_id=app_id)
        services.allowlist_remove(actor=request.user, app=app)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RetentionApi(APIView):
    """Maximum age per data category. PUT sets the categories given and keeps the others."""

    permission_classes = [OfficerWrites]

    class InputSerializer(serializers.Serializer):
        rules = serializers.DictField(
            child=serializers.IntegerField(), allow_empty=False, help_text="{category: maximum age in days}"
        )

    class OutputSerializer(serializers.Serializer):
        rules = serializers.DictField(child=serializers.IntegerField())

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request):
        return Response({"rules": selectors.retention_rules()})

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer, **ERRORS})
    def put(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.retention_set(actor=request.user, rules=data.validated_data["rules"])
        return Response({"rules": selectors.retention_rules()})


def _cell_out(cell) -> dict | None:
    if cell is None:
        return None
    return {
        "suppressed": cell.suppressed,
        "granted": cell.granted,
        "rate": cell.rate,
        "margin": cell.margin,
    }


def _group_out(group) -> dict | None:
    if group is None:
        return None
    return {
        "name": group.name,
        "label": group.label,
        "employees": group.employees,
        "suppressed": group.suppressed,
        "categories": None if group.cells is None else {c: _cell_out(cell) for c, cell in group.cells.items()},
        "any": _cell_out(group.any),
    }


class StatsCellSerializer(serializers.Serializer):
    suppressed = serializers.BooleanField(
        help_text="True when the noised figure would read as everyone or no one in the group; then no number is shown."
    )
    granted = serializers.IntegerField(allow_null=True, help_text="Noised count of employees who opted in.")
    rate = serializers.FloatField(allow_null=True, help_text="granted / employees, both noised.")
    margin = serializers.FloatField(
        allow_null=True, help_text="The rate is within rate ± margin with 95% probability (the noise's spread)."
    )


class StatsGroupSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField(help_text='The group size as shown: "about <n>", or "suppressed".')
    employees = serializers.IntegerField(allow_null=True, help_text="Noised headcount; null when suppressed.")
    suppressed = serializers.BooleanField(help_text="True when the noised headcount is under the threshold.")
    categories = serializers.DictField(child=StatsCellSerializer(), allow_null=True)
    any = StatsCellSerializer(allow_null=True, help_text="Opted in to at least one category.")


class StatsReleaseSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    epsilon = serializers.FloatField(help_text="Differential-privacy budget this release spent.")
    sensitivity = serializers.IntegerField(help_text="L1 sensitivity the noise is calibrated to (one person's change).")


class ConsentStatsApi(APIView):
    """The latest scheduled release of consent rates: noised, with 95% margins; never computed on demand."""

    permission_classes = [IsPrivacyOfficer]

    class OutputSerializer(serializers.Serializer):
        threshold = serializers.IntegerField()
        confidence = serializers.FloatField()
        release = StatsReleaseSerializer(allow_null=True, help_text="Null until the first release is made.")
        next_release_due = serializers.DateTimeField()
        overall = StatsGroupSerializer(allow_null=True)
        departments = StatsGroupSerializer(many=True)

    @extend_schema(responses={200: OutputSerializer, 403: ErrorSerializer})
    def get(self, request):
        rates = stats.consent_stats_for_officer(actor=request.user)
        release = rates.release
        return Response(
            {
                "threshold": rates.threshold,
                "confidence": rates.confidence,
                "release": None if release is None else StatsReleaseSerializer(release).data,
                "next_release_due": serializers.DateTimeField().to_representation(rates.next_release_due),
                "overall": _group_out(rates.overall),
                "departments": [_group_out(d) for d in rates.departments],
            }
        )


class ErasureDeadlinesApi(APIView):
    """How erasure requests stand against their deadlines: counts only, never who asked."""

    permission_classes = [IsPrivacyOfficer]

    class OutputSerializer(serializers.Serializer):
        pending = serializers.IntegerField()
        overdue = serializers.IntegerField()
        due_within_day = serializers.IntegerField(help_text="Pending, not overdue, due within the next 24 hours.")
        next_due = serializers.DateTimeField(allow_null=True)
        done_last_30_days = serializers.IntegerField()
        late_last_30_days = serializers.IntegerField()

    @extend_schema(responses={200: OutputSerializer, 403: ErrorSerializer})
    def get(self, request):
        deadlines = erasure_selectors.erasure_deadlines_for_officer(actor=request.user)
        return Response(self.OutputSerializer(deadlines).data)
