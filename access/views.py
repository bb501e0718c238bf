"""Portal pages of data access: the requester's "Data requests" console and the officers' review queue.

Requesters see only their own requests and grants here, also when they hold
another role; officers see every request in the queue.  Every write goes
through ``access.services``, whose refusals the pages show on the form with
the status the API would give.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from access import selectors, services
from access.forms import DecisionForm, RequestForm, RevokeForm
from access.models import DataRequest, Grant, Review
from accounts.decorators import officer_required, role_required
from accounts.models import Role
from charts import LineChart, Series
from config.errors import ApplicationError, InvalidInput
from config.exceptions import status_for
from consent.models import DataCategory
from consent.selectors import allowed_applications, current_notice
from consent.views.pages import attempt, found

CATEGORY_LABELS = dict(DataCategory.choices)

requester_required = role_required(Role.REQUESTER)


def _form_errors(form) -> list[str]:
    return [error for errors in form.errors.values() for error in errors]


def _describe(data_request: DataRequest) -> dict:
    """What a page shows of a request: labels rather than codes, the purpose with its description."""
    purposes = {p["id"]: p.get("description", "") for p in data_request.notice.purposes}
    return {
        "obj": data_request,
        "categories": [CATEGORY_LABELS.get(c, c) for c in data_request.categories],
        "purpose_description": purposes.get(data_request.purpose, ""),
        "reviews": list(data_request.reviews.all()),
        "approvals": sum(1 for r in data_request.reviews.all() if r.decision == Review.Decision.APPROVE),
    }


# --- Requester console ----------------------------------------------------------------------


@require_GET
@requester_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    # A requester who also oversees requests sees only their own ones here.
    requests = selectors.data_requests_for_actor(actor=user).filter(requester=user)
    grants = selectors.grants_for_actor(actor=user).filter(request__requester=user).prefetch_related("exports")
    now = timezone.now()
    shown = []
    for grant in grants:
        live = grant.status == Grant.Status.ACTIVE and grant.expires_at > now
        unacknowledged = services.withdrawals_for_holder(actor=user, grant=grant).unacknowledged if live else 0
        shown.append(
            {
                "obj": grant,
                "live": live,
                "categories": [CATEGORY_LABELS.get(c, c) for c in grant.request.categories],
                "exports": [e for e in grant.exports.all() if e.manifest],
                "unacknowledged": unacknowledged,
            }
        )
    context = {
        "requests": [_describe(r) for r in requests],
        "grants": shown,
        "warnings": [g for g in shown if g["unacknowledged"]],
    }
    return render(request, "access/home.html", context)


def _request_form_context(form: RequestForm, errors: list[str]) -> dict:
    notice = current_notice()
    return {
        "form": form,
        "errors": errors,
        "notice": notice,
        "categories": DataCategory.choices,
        "apps": allowed_applications(),
        "chosen_categories": form["categories"].value() or [],
        "chosen_apps": form["apps"].value() or [],
    }


@requester_required
def request_new(request: HttpRequest) -> HttpResponse:
    """Ask for a dataset: scope, purpose of the current notice, justification."""
    if request.method != "POST":
        form = RequestForm(initial={"purpose": ""})
        return render(request, "access/request_form.html", _request_form_context(form, []))
    form = RequestForm(request.POST)
    if not form.is_valid():
        status = status_for(InvalidInput())
        return render(
            request, "access/request_form.html", _request_form_context(form, _form_errors(form)), status=status
        )
    try:
        services.data_request_submit(requester=request.user, **form.cleaned_data)
    except ApplicationError as exc:
        context = _request_form_context(form, [exc.detail])
        return render(request, "access/request_form.html", context, status=status_for(exc))
    messages.success(request, "Request submitted. A privacy officer will review it.")
    return redirect("requests:home")


@require_GET
@requester_required
def withdrawals(request: HttpRequest, grant_id) -> HttpResponse:
    """Who left each export of a grant since it was made, by pseudonym in the grant's terms."""
    grant = found(lambda: selectors.grant_for_holder(actor=request.user, grant_id=grant_id))
    listed = services.withdrawals_for_holder(actor=request.user, grant=grant)
    context = {
        "grant": grant,
        "listed": listed,
        "categories": [CATEGORY_LABELS.get(c, c) for c in grant.request.categories],
    }
    return render(request, "access/withdrawals.html", context)


@require_POST
@requester_required
def withdrawals_ack(request: HttpRequest, grant_id) -> HttpResponse:
    grant = found(lambda: selectors.grant_for_holder(actor=request.user, grant_id=grant_id))
    attempt(
        request,
        lambda: services.withdrawals_acknowledge(actor=request.user, grant=grant),
        "Acknowledged: everyone listed is recorded as deleted from your copies.",
    )
    return redirect("requests:withdrawals", grant_id=grant.pk)


# --- Officers: review queue and grants -------------------------------------------------------


@require_GET
@officer_required
def queue(request: HttpRequest) -> HttpResponse:
    pending = selectors.review_queue_for_officer(actor=request.user)
    activity = selectors.weekly_activity_for_overseer(actor=request.user)
    chart = LineChart(
        title=f"Data requests and exports per week, last {len(activity.weeks)} weeks",
        labels=[f"{monday:%d %b}" for monday in activity.weeks],
        series=[
            Series("Requested", list(activity.requested)),
            Series("Approved", list(activity.approved)),
            Series("Rejected or expired", list(activity.rejected_or_expired)),
            Series("Exports", list(activity.exports)),
        ],
    ).render()
    return render(request, "access/queue.html", {"requests": [_describe(r) for r in pending], "chart": chart})


def _review_context(request: HttpRequest, data_request: DataRequest, form: DecisionForm, errors: list[str]) -> dict:
    officer = request.user
    described = _describe(data_request)
    mine = next((r for r in described["reviews"] if r.officer_id == officer.pk), None)
    pending = data_request.status == DataRequest.Status.PENDING
    if not pending:
        cannot = f"This request is {data_request.get_status_display().lower()}; it cannot be decided."
    elif data_request.requester_id == officer.pk:
        cannot = "You asked for this dataset yourself: nobody decides their own request, another officer must."
    elif mine is not None:
        cannot = (
            f"You have reviewed this request already ({mine.get_decision_display().lower()} "
            f"on {mine.created_at:%Y-%m-%d %H:%M} UTC); another officer must."
        )
    else:
        cannot = ""
    return {
        "item": described,
        "impact": selectors.impact_for_officer(actor=officer, request=data_request) if pending else None,
        "cannot": cannot,
        "form": form,
        "errors": errors,
        "longest": settings.DATA_GRANT_DAYS,
    }


@officer_required
def review(request: HttpRequest, request_id) -> HttpResponse:
    """Everything needed to decide a request, and the decision form when this officer may decide."""
    data_request = found(lambda: selectors.data_request_for_actor(actor=request.user, request_id=request_id))
    if request.method != "POST":
        return render(request, "access/review.html", _review_context(request, data_request, DecisionForm(), []))
    form = DecisionForm(request.POST)
    if not form.is_valid():
        context = _review_context(request, data_request, form, _form_errors(form))
        return render(request, "access/review.html", context, status=status_for(InvalidInput()))
    approve = form.cleaned_data["decision"] == Review.Decision.APPROVE
    try:
        decided = services.data_request_review(
            officer=request.user,
            request=data_request,
            approve=approve,
            reason=form.cleaned_data["reason"],
            grant_days=form.cleaned_data["grant_days"],
        )
    except ApplicationError as exc:
        context = _review_context(request, data_request, form, [exc.detail])
        return render(request, "access/review.html", context, status=status_for(exc))
    if decided.status == DataRequest.Status.APPROVED:
        messages.success(request, f"Approved. The grant runs until {decided.grant.expires_at:%Y-%m-%d %H:%M} UTC.")
    elif decided.status == DataRequest.Status.REJECTED:
        messages.success(request, "Rejected. The requester sees your reason.")
    else:
        messages.success(request, "Your approval is recorded; a second officer must approve too.")
    return redirect("requests:queue")


@require_GET
@officer_required
def grants(request: HttpRequest) -> HttpResponse:
    listed = [
        {"obj": g, "categories": [CATEGORY_LABELS.get(c, c) for c in g.request.categories]}
        for g in selectors.grants_for_actor(actor=request.user)
    ]
    return render(request, "access/grants.html", {"grants": listed})


@officer_required
def revoke(request: HttpRequest, grant_id) -> HttpResponse:
    """Confirm, then end a grant early: its pseudonym key is destroyed at once."""
    grant = found(lambda: selectors.grant_for_actor(actor=request.user, grant_id=grant_id))
    context = {"grant": grant, "categories": [CATEGORY_LABELS.get(c, c) for c in grant.request.categories]}
    if request.method != "POST":
        return render(request, "access/revoke.html", {**context, "form": RevokeForm(), "errors": []})
    form = RevokeForm(request.POST)
    if not form.is_valid():
        context.update(form=form, errors=_form_errors(form))
        return render(request, "access/revoke.html", context, status=status_for(InvalidInput()))
    try:
        services.grant_revoke(officer=request.user, grant=grant, reason=form.cleaned_data["reason"])
    except ApplicationError as exc:
        context.update(form=form, errors=[exc.detail])
        return render(request, "access/revoke.html", context, status=status_for(exc))
    messages.success(request, "Grant revoked; its key is destroyed and nothing more can be exported under it.")
    return redirect("requests:grants")
