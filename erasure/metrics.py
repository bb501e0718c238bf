"""``GET /metrics``: how erasure requests stand against their deadlines, in the Prometheus text format.

Counts only, never who asked.  A scraper sends ``Authorization: Bearer
<METRICS_TOKEN>`` (the endpoint accepts no bearer token while
``METRICS_TOKEN`` is unset); a signed-in privacy officer or auditor may read
it in the browser.  Anyone else gets the API's JSON error shape: 401 without
valid credentials, 403 signed in without either role.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Min, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.models import Role
from erasure.models import ErasureRequest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class ErasureMetrics:
    pending: int
    overdue: int
    # Pending, not overdue, due within the watchdog's window (ERASURE_DUE_SOON_MINUTES).
    due_within_hour: int
    oldest_pending_age_seconds: float
    flagged_due_soon: int
    flagged_overdue: int


def erasure_metrics(*, now: datetime | None = None) -> ErasureMetrics:
    """The figures ``GET /metrics`` publishes, read in one query."""
    now = now or timezone.now()
    soon = now + timedelta(minutes=settings.ERASURE_DUE_SOON_MINUTES)
    figures = ErasureRequest.objects.filter(status=ErasureRequest.Status.PENDING).aggregate(
        pending=models_count(),
        overdue=models_count(Q(due_at__lt=now)),
        due_within_hour=models_count(Q(due_at__gte=now, due_at__lt=soon)),
        flagged_overdue=models_count(Q(overdue_flagged_at__isnull=False)),
        flagged_due_soon=models_count(Q(due_soon_flagged_at__isnull=False, overdue_flagged_at__isnull=True)),
        oldest=Min("requested_at"),
    )
    oldest = figures.pop("oldest")
    return ErasureMetrics(
        **figures, oldest_pending_age_seconds=max((now - oldest).total_seconds(), 0.0) if oldest else 0.0
    )


def models_count(condition: Q | None = None) -> Count:
    return Count("pk", filter=condition)


def prometheus_text(metrics: ErasureMetrics) -> str:
    """The figures as Prometheus text exposition (version 0.0.4), one gauge each."""
    lines: list[str] = []

    def gauge(name: str, help_text: str, samples: list[tuple[str, int]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} gauge")
        lines.extend(f"{name}{labels} {value}" for labels, value in samples)

    gauge("erasure_requests_pending", "Erasure requests not yet carried out.", [("", metrics.pending)])
    gauge("erasure_requests_overdue", "Pending erasure requests past their due time.", [("", metrics.overdue)])
    gauge(
        "erasure_requests_due_within_hour",
        "Pending erasure requests not yet overdue but due within the watchdog's window.",
        [("", metrics.due_within_hour)],
    )
    gauge(
        "erasure_oldest_pending_age_seconds",
        "Age of the oldest pending erasure request (0 when none is pending).",
        [("", round(metrics.oldest_pending_age_seconds))],
    )
    gauge(
        "erasure_requests_flagged",
        "Pending erasure requests the watchdog has flagged, by the latest state it flagged.",
        [('{state="due_within_hour"}', metrics.flagged_due_soon), ('{state="overdue"}', metrics.flagged_overdue)],
    )
    return "\n".join(lines) + "\n"


def _error(status: int, code: str, detail: str) -> JsonResponse:
    response = JsonResponse({"error": code, "detail": detail}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Serve the erasure metrics to a scraper holding ``METRICS_TOKEN``, or to an officer or auditor."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, presented = header.partition(" ")
        expected = settings.METRICS_TOKEN
        # Constant-time: the token is compared byte by byte without leaking how many matched.
        if (
            scheme.lower() != "bearer"
            or not expected
            or not hmac.compare_digest(presented.strip().encode(), expected.encode())
        ):
            return _error(401, "not_authenticated", "Send Authorization: Bearer <METRICS_TOKEN>.")
    elif not request.user.is_authenticated:
        return _error(401, "not_authenticated", "Send Authorization: Bearer <METRICS_TOKEN>, or sign in.")
    elif not request.user.has_role(Role.PRIVACY_OFFICER, Role.AUDITOR):
        return _error(403, "permission_denied", "Only privacy officers and auditors read the metrics.")
    return HttpResponse(prometheus_text(erasure_metrics()), content_type=CONTENT_TYPE)
