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
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access.selectors import review_queue_for_officer
from accounts.decorators import officer_required
from charts import BarChart, Chart, LineChart, Series
from collection.selectors import events_stored_from_app
from config.errors import ApplicationError, InvalidInput
from config.exceptions import status_for
from consent import selectors, services, stats
from consent.forms import AllowlistAddForm, AllowlistTableForm, NoticeForm, RetentionForm
from consent.models import ConsentNotice, DataCategory, category_short_label
from consent.notice_changes import consent_holders_by_category, notice_changes, retention_drift
from consent.views.pages import attempt, form_errors_to_messages, found
from erasure import selectors as erasure_selectors


def _rates_chart(history: stats.RatesHistory) -> Chart | None:
    if len(history.released) < 2:
        return None  # one release is a table, not a trend
    return LineChart(
        title=f"Consent rate per category, all employees, last {len(history.released)} releases",
        labels=[f"{moment:%d %b}" for moment in history.released],
        series=[Series(category_short_label(c), values) for c, values in history.rates.items()],
        percent=True,
    ).render()


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
        "retention_drift": retention_drift(selectors.current_notice(), rules),
        "erasure": deadlines,
        "erasure_chart": _deadlines_chart(deadlines),
        "rates_chart": _rates_chart(stats.consent_rates_history_for_officer(actor=request.user)),
        "stat_groups": rates.groups,
        "categories": DataCategory.choices,
        "short_categories": [(value, category_short_label(value)) for value in DataCategory.values],
        "pending_requests": review_queue_for_officer(actor=request.user).count(),
    }
    return render(request, "consent/officer_home.html", context)


@officer_required
def officer_notice(request: HttpRequest, notice_id: int | None = None) -> HttpResponse:
    """Write a new draft or edit one; published versions are shown read-only."""
    notice = found(lambda: selectors.notice_for_actor(actor=request.user, notice_id=notice_id)) if notice_id else None
    if request.method != "POST":
        # A new notice starts from the one employees consent under now.
        form = NoticeForm.for_notice(notice if notice is not None else selectors.current_notice())
        return render(request, "consent/officer_notice.html", _notice_context(notice, form))
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
    editable = notice is None or notice.status == ConsentNotice.Status.DRAFT
    current = selectors.current_notice()
    rules = selectors.retention_rules()
    return {
        # What publishing would state: the retention rules now, for the draft's categories.
        "preview_retention": {c: rules.get(c) for c in notice.categories} if notice and editable else {},
        "notice": notice,
        "form": form,
        "categories": DataCategory.choices,
        "editable": editable,
        "current": current,
        # A saved draft against the published notice; a new one is a copy of it until saved.
        "changes": notice_changes(notice, current, rules) if notice and editable else None,
    }


@require_http_methods(["GET", "POST"])
@officer_required
def officer_notice_publish(request: HttpRequest, notice_id: int) -> HttpResponse:
    """Publishing is confirmed on its own page, which states what changes and whose consent ends."""
    notice = found(lambda: selectors.notice_for_actor(actor=request.user, notice_id=notice_id))
    if request.method == "GET":
        if notice.status != ConsentNotice.Status.DRAFT:
            return redirect("consent:officer_notice", notice_id=notice.pk)
        current = selectors.current_notice()
        context = {"notice": notice, "changes": notice_changes(notice, current, selectors.retention_rules())}
        return render(request, "consent/officer_notice_publish.html", context)
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
def officer_allowlist_save(request: HttpRequest) -> HttpResponse:
    """Save every row of the allowlist table at once (all or nothing)."""
    form = AllowlistTableForm(request.POST)
    attempt(
        request,
        lambda: _saved_count(services.allowlist_save(actor=request.user, rows=form.rows()), request),
        "Allowlist saved.",
        form,
    )
    return redirect(reverse("consent:officer_home") + "#allowlist")


def _saved_count(changed: list, request: HttpRequest) -> None:
    if not changed:
        messages.info(request, "Nothing changed.")


@require_http_methods(["GET", "POST"])
@officer_required
def officer_allowlist_remove(request: HttpRequest, app_id: str) -> HttpResponse:
    """Removing an application is confirmed on a page that says what stops and what stays."""
    app = found(lambda: selectors.allowed_application_for_officer(actor=request.user, app_id=app_id))
    if request.method == "GET":
        holders = consent_holders_by_category()
        context = {
            "app": app,
            "categories": [category_short_label(c) for c in app.categories],
            "employees": max((holders.get(c, 0) for c in app.categories), default=0),
            "stored_events": events_stored_from_app(app_id=app.app_id),
        }
        return render(request, "consent/officer_allowlist_remove.html", context)
    attempt(
        request,
        lambda: services.allowlist_remove(actor=request.user, app=app),
        f"{app.display_name} ({app.app_id}) removed from the allowlist; uploads from it are refused from now on.",
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
