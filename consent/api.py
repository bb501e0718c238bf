"""Consent API: notices, allowlist and retention (officers), the employee's own consent, and aggregate rates.

Views parse input, call a service or a selector, and shape the output.  An
employee's consent is reachable only under ``/me``: no endpoint takes another
person's identity.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsEmployee, IsPrivacyOfficer
from audit import selectors as audit_selectors
from config.errors import NotFound
from config.schema import ErrorSerializer
from consent import selectors, services, stats
from consent.models import ConsentEvent, DataCategory
from consent.receipts import receipt_claims
from erasure import selectors as erasure_selectors
from erasure import services as erasure_services

ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer}


class OfficerWrites(IsAuthenticated):
    """Any signed-in user reads; only privacy officers write."""

    message = "This requires the privacy_officer role."

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.method in ("GET", "HEAD", "OPTIONS") or IsPrivacyOfficer().has_permission(request, view)


# --- Shapes ---------------------------------------------------------------------


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


# --- Notices ---------------------------------------------------------------------


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


# --- Allowlist and retention ----------------------------------------------------------


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


# --- The employee's own consent -------------------------------------------------------


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

    @extend_schema(request=InputSerializer, responses={201: ErasureRequestOutputSerializer, **ERRORS})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        erasure = erasure_services.erasure_request_create(
            employee=request.user, categories=data.validated_data.get("categories"), channel=ConsentEvent.Channel.API
        )
        return Response(ErasureRequestOutputSerializer(erasure).data, status=status.HTTP_201_CREATED)


class MeAccessListApi(APIView):
    """Who accessed data about the employee: audit entries whose target is their subject."""

    permission_classes = [IsEmployee]

    class OutputSerializer(serializers.Serializer):
        seq = serializers.IntegerField()
        ts = serializers.DateTimeField()
        actor = serializers.CharField()
        action = serializers.CharField()
        detail = serializers.DictField()

    @extend_schema(responses={200: OutputSerializer(many=True)})
    def get(self, request):
        return Response(
            self.OutputSerializer(audit_selectors.accesses_for_employee(employee=request.user), many=True).data
        )


# --- Aggregates -------------------------------------------------------------------------


def _group_out(group) -> dict | None:
    if group is None:
        return None
    if group.suppressed:
        return {
            "name": group.name,
            "label": group.label,
            "employees": None,
            "suppressed": True,
            "granted": None,
            "rates": None,
            "any_rate": None,
        }
    return {
        "name": group.name,
        "label": group.label,
        "employees": group.employees,
        "suppressed": False,
        "granted": group.granted,
        "rates": {c: round(r, 4) for c, r in group.rates.items()},
        "any_rate": round(group.any_rate, 4) if group.any_rate is not None else None,
    }


class StatsGroupSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField(help_text='The group size as shown: a count, or "fewer than 5" when suppressed.')
    employees = serializers.IntegerField(allow_null=True, help_text="Null when the group is suppressed.")
    suppressed = serializers.BooleanField()
    granted = serializers.DictField(child=serializers.IntegerField(), allow_null=True)
    rates = serializers.DictField(child=serializers.FloatField(), allow_null=True)
    any_rate = serializers.FloatField(allow_null=True)


class ConsentStatsApi(APIView):
    """Aggregate consent rates by category, overall and per department. Groups under the threshold are suppressed."""

    permission_classes = [IsPrivacyOfficer]

    class OutputSerializer(serializers.Serializer):
        threshold = serializers.IntegerField()
        overall = StatsGroupSerializer()
        departments = StatsGroupSerializer(many=True)
        pooled_small = StatsGroupSerializer(allow_null=True)
        overall_excludes_small = serializers.BooleanField()

    @extend_schema(responses={200: OutputSerializer, 403: ErrorSerializer})
    def get(self, request):
        rates = stats.consent_stats_for_officer(actor=request.user)
        return Response(
            {
                "threshold": rates.threshold,
                "overall": _group_out(rates.overall),
                "departments": [_group_out(d) for d in rates.departments],
                "pooled_small": _group_out(rates.pooled_small),
                "overall_excludes_small": rates.overall_excludes_small,
            }
        )


class ErasureDeadlinesApi(APIView):
    """How erasure requests stand against their deadlines: counts only, never who asked."""

    permission_classes = [IsPrivacyOfficer]

    class OutputSerializer(serializers.Serializer):
        pending = serializers.IntegerField()
        overdue = serializers.IntegerField()
        next_due = serializers.DateTimeField(allow_null=True)
        done_last_30_days = serializers.IntegerField()
        late_last_30_days = serializers.IntegerField()

    @extend_schema(responses={200: OutputSerializer, 403: ErrorSerializer})
    def get(self, request):
        deadlines = erasure_selectors.erasure_deadlines_for_officer(actor=request.user)
        return Response(self.OutputSerializer(deadlines).data)
