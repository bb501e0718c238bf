"""The privacy officer's console: aggregate consent rates, notices, the allowlist, retention and erasure deadlines.

Nothing here shows an individual: rates are the latest scheduled, noised
release from ``consent.stats`` (never a live computation), and deadlines come
from ``erasure.selectors``, which counts only.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from access.selectors import review_queue_for_officer
from accounts.decorators import officer_required
from charts import BarChart, Chart
from config.errors import ApplicationError, InvalidInput
from config.exceptions import status_for
from consent import selectors, services, stats
from consent.forms import AllowlistAddForm, AllowlistUpdateForm, NoticeForm, RetentionForm
from consent.models import ConsentNotice, DataCategory
from consent.views.pages import attempt, form_errors_to_messages, found
from erasure import selectors as erasure_selectors


def _deadlines_chart(deadlines: erasure_selectors.ErasureDeadlines) -> Chart:
    on_schedule = deadlines.pending - deadlines.overdue - deadlines.due_within_day
    return BarChart(
        title="Erasure requests against their deadlines",
        bars=[
            ("Pending, on schedule", on_schedule),
            ("Due within a day", deadlines.due_within_day),
            ("Overdue", deadlines.overdue),
            ("Done, last 30 days", deadlines.done_last_30_days),
        ],
        colours={"Due within a day": "#E69F00", "Overdue": "#B00020", "Done, last 30 days": "#009E73"},
        unit="requests",
    ).render()


@require_GET
@officer_required
def officer_home(request: HttpRequest) -> HttpResponse:
    rates = stats.consent_stats_for_officer(actor=request.user)
    rules = selectors.retention_rules()
    deadlines = erasure_selectors.erasure_deadlines_for_officer(actor=request.user)
    context = {
        "notices": selectors.notices_for_actor(actor=request.user),
        "current": selectors.current_notice(),
        "apps": selectors.allowed_applications(),
        "retention": [
            {"value": value, "label": label, "days": rules.get(value)} for value, label in DataCategory.choices
        ],
        "stats": rates,
        "erasure": deadlines,
        "erasure_chart": _deadlines_chart(deadlines),
        "stat_groups": rates.groups,
        "categories": DataCategory.choices,
        "pending_requests": review_queue_for_officer(actor=request.user).count(),
    }
    return render(request, "consent/officer_home.html", context)


@officer_required
def officer_notice(request: HttpRequest, notice_id: int | None = None) -> HttpResponse:
    """Write a new draft or edit one; published versions are shown read-only."""
    notice = found(lambda: selectors.notice_for_actor(actor=request.user, notice_id=notice_id)) if notice_id else None
    if request.method != "POST":
        return render(request, "consent/officer_notice.html", _notice_context(notice, NoticeForm.for_notice(notice)))
    form = NoticeForm(request.POST)
    if not form.is_valid():
        form_errors_to_messages(request, form)
        # A malformed post is refused like a service's InvalidInput, with the same status.
        status = status_for(InvalidInput())
        return render(request, "consent/officer_notice.html", _notice_context(notice, form), status=status)
    try:
        if notice is None:
            notice = services.notice_create(actor=request.user, **form.cleaned_data)
        else:
            notice = services.notice_update(actor=request.user, notice=notice, **form.cleaned_data)
    except ApplicationError as exc:
        messages.error(request, exc.detail)
        return render(request, "consent/officer_notice.html", _notice_context(notice, form), status=status_for(exc))
    messages.success(request, "Draft saved. Publish it when it is ready.")
    return redirect("consent:officer_notice", notice_id=notice.pk)


def _notice_context(notice: ConsentNotice | None, form: NoticeForm) -> dict:
    return {
        "notice": notice,
        "form": form,
        "categories": DataCategory.choices,
        "editable": notice is None or notice.status == ConsentNotice.Status.DRAFT,
    }


@require_POST
@officer_required
def officer_notice_publish(request: HttpRequest, notice_id: int) -> HttpResponse:
    notice = found(lambda: selectors.notice_for_actor(actor=request.user, notice_id=notice_id))
    if attempt(
        request,
        lambda: services.notice_publish(actor=request.user, notice=notice),
        "Notice published. Employees are asked to review it.",
    ):
        return redirect("consent:officer_home")
    return redirect("consent:officer_notice", notice_id=notice.pk)


@require_POST
@officer_required
def officer_allowlist_add(request: HttpRequest) -> HttpResponse:
    form = AllowlistAddForm(request.POST)
    attempt(
        request,
        lambda: services.allowlist_add(actor=request.user, **form.cleaned_data),
        "Application added to the allowlist.",
        form,
    )
    return redirect(reverse("consent:officer_home") + "#allowlist")


@require_POST
@officer_required
def officer_allowlist_update(request: HttpRequest, app_id: str) -> HttpResponse:
    app = found(lambda: selectors.allowed_application_for_officer(actor=request.user, app_id=app_id))
    form = AllowlistUpdateForm(request.POST)
    if form.is_valid() and form.cleaned_data["remove"]:
        attempt(
            request,
            lambda: services.allowlist_remove(actor=request.user, app=app),
            f"{app_id} removed from the allowlist.",
        )
    else:
        attempt(
            request,
            lambda: services.allowlist_update(
                actor=request.user,
                app=app,
                display_name=form.cleaned_data["display_name"],
                categories=form.cleaned_data["categories"],
            ),
            f"{app_id} saved.",
            form,
        )
    return redirect(reverse("consent:officer_home") + "#allowlist")


@require_POST
@officer_required
def officer_retention(request: HttpRequest) -> HttpResponse:
    form = RetentionForm(request.POST)
    attempt(
        request,
        lambda: services.retention_set(actor=request.user, rules=form.rules()),
        "Retention rules saved.",
        form,
    )
    return redirect(reverse("consent:officer_home") + "#retention")
