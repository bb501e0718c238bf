"""The employee's portal: one page with their consent, history, receipts, erasure requests and accesses, and its forms.

Each form posts to its own view, which calls a service and redirects back to
the page with a message (post/redirect/get: reloading never repeats an
action); a refusal (a domain error, or a malformed post) becomes an error
message.  What cannot be undone (erasure, withdrawing with erasure) has a
confirmation page first: its GET states the effect with real numbers, and
only a POST carrying ``confirm`` does it.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access import employee as access_employee
from accounts.decorators import employee_required
from accounts.models import User
from audit import selectors as audit_selectors
from audit.actions import AuditAction
from audit.actors import actor_in_words
from audit.models import AuditEntry
from collection.selectors import devices_for_employee, stored_events_for_employee
from config.errors import ApplicationError, InvalidInput
from consent import selectors, services
from consent.forms import (
    ERASE_AND_WITHDRAW,
    ERASE_KEEP_RECORDING,
    ERASURE_MODES,
    ChoicesForm,
    ErasureForm,
    ExclusionsForm,
    ReviewForm,
    WithdrawForm,
)
from consent.models import ConsentEvent, DataCategory, category_short_label
from consent.receipts import RECEIPT_TYPE
from consent.templatetags.plain import when
from consent.views.pages import CATEGORY_LABELS, attempt, form_errors_to_messages, found
from erasure import selectors as erasure_selectors
from erasure import services as erasure_services


def _optional_url(name: str) -> str | None:
    # The collection pages may not be installed yet; the portal links them only when they exist.
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def _entries(entries: list[AuditEntry]) -> list[dict[str, object]]:
    """Audit entries as the page shows them: readable action names, accounts by username, jobs in words."""
    return [
        {
            "ts": e.ts,
            "actor": actor_in_words(e.actor),
            "action": AuditAction.label_of(e.action),
            "detail": e.detail,
            "categories": [category_short_label(c) for c in (e.detail or {}).get("categories") or []],
        }
        for e in entries
    ]


def _exports(employee: User) -> list[dict[str, object]]:
    """The dataset exports that included the employee, with what the sentence and the proof link need."""
    return [
        {
            "export_id": e.export_id,
            "exported_at": e.exported_at,
            "requester": e.requester,
            "purpose": e.purpose,
            # The sentence continues after the description.
            "purpose_description": e.purpose_description.rstrip(". "),
            "grant_id": e.grant_id,
            "categories": [CATEGORY_LABELS.get(c, c) for c in e.categories],
            "audit_seq": e.audit_seq,
            "proof_url": reverse("access-me-export-proof", args=[e.export_id]) + "?format=json",
        }
        for e in access_employee.exports_for_employee(employee=employee, limit=50)
    ]


def _history(employee: User, app_names: dict[str, str]) -> list[ConsentEvent]:
    """The employee's consent history, newest first, with excluded applications by their names where known."""
    events = list(selectors.consent_history_for_employee(employee=employee)[:200])
    for event in events:
        # An application off the allowlist has no name here; its id is what the employee typed.
        event.excluded_names = [app_names.get(app, app) for app in event.excluded_apps]
    return events


@require_GET
@employee_required
def portal(request: HttpRequest) -> HttpResponse:
    employee = request.user
    overview = selectors.consent_overview_for_employee(employee=employee)
    notice = overview.notice
    apps = list(selectors.allowed_applications())
    categories = []
    if notice is not None:
        for category in notice.categories:
            held = overview.granted.get(category)
            categories.append(
                {
                    "value": category,
                    "label": CATEGORY_LABELS.get(category, category),
                    "granted": held is not None,
                    "held": held,
                    "retention_days": notice.retention_days.get(category),
                    "apps": [a.display_name for a in apps if category in a.categories],
                }
            )
    # Grants under an older notice for categories the current one still covers are listed above;
    # nothing else can be held, because publishing supersedes dropped categories.
    listed = {a.app_id for a in apps}
    context = {
        "overview": overview,
        "notice": notice,
        "categories": categories,
        "apps": [
            {
                "app_id": a.app_id,
                "display_name": a.display_name,
                "categories": [CATEGORY_LABELS.get(c, c) for c in a.categories],
                "excluded": a.app_id in overview.excluded_apps,
            }
            for a in apps
        ],
        "other_excluded": [a for a in overview.excluded_apps if a not in listed],
        "history": _history(employee, {a.app_id: a.display_name for a in apps}),
        "erasure_requests": erasure_selectors.erasure_requests_with_receipts_for_employee(employee=employee),
        "erasure_steps": _entries(audit_selectors.erasure_steps_for_employee(employee=employee, limit=50)),
        "accesses": _entries(audit_selectors.accesses_for_employee(employee=employee, limit=50)),
        "exports": _exports(employee),
        "devices_url": _optional_url("collection:devices"),
        "my_data_url": _optional_url("collection:my_data"),
        "category_labels": CATEGORY_LABELS,
        "erasure_modes": ERASURE_MODES,
    }
    return render(request, "consent/portal.html", context)


@require_POST
@employee_required
def portal_choices(request: HttpRequest) -> HttpResponse:
    """Save the per-category opt-in toggles: grants what was switched on, withdraws what was switched off."""
    form = ChoicesForm(request.POST)

    def save() -> None:
        if not services.consent_set_choices(
            employee=request.user,
            categories=form.cleaned_data["categories"],
            notice_version=form.cleaned_data["notice_version"],
        ):
            raise InvalidInput("no_change", "Nothing changed.")

    attempt(request, save, "Your choices are saved. A receipt for each change is in your history.", form)
    return redirect("consent:portal")


def _active_device_names(employee: User) -> list[str]:
    return [d.name for d in devices_for_employee(employee=employee) if d.revoked_at is None]


def _erasure_scope(granted: dict[str, dict], category: str) -> list[str] | None:
    """The categories a withdrawal with erasure erases: the one withdrawn, or everything when nothing stays on.

    Mirrors ``consent_withdraw_with_erasure``, so the confirmation counts what the request will delete.
    """
    if category and set(granted) - {category}:
        return [category]
    return None


def _withdraw_query(form: WithdrawForm) -> str:
    params = {"erase": "on"} if form.cleaned_data["erase"] else {}
    if form.cleaned_data["category"]:
        params["category"] = form.cleaned_data["category"]
    return reverse("consent:portal_withdraw") + ("?" + urlencode(params) if params else "")


@require_http_methods(["GET", "POST"])
@employee_required
def portal_withdraw(request: HttpRequest) -> HttpResponse:
    """Withdraw one category, or everything; with erasure only after a confirmation page.

    Withdrawing alone is one click and takes effect at once.  Withdrawing with
    erasure cannot be undone: the post without ``confirm`` leads to this
    view's GET, which states what stops and how many events will be deleted,
    and whose button posts again with ``confirm``.
    """
    if request.method == "GET":
        return _withdraw_confirmation(request)
    form = WithdrawForm(request.POST)
    if form.is_valid() and form.cleaned_data["erase"] and not form.cleaned_data["confirm"]:
        return redirect(_withdraw_query(form))
    erase = form.is_valid() and form.cleaned_data["erase"]

    def withdraw() -> None:
        categories = [form.cleaned_data["category"]] if form.cleaned_data["category"] else None
        if erase:
            erasure_services.consent_withdraw_with_erasure(employee=request.user, categories=categories)
        else:
            services.consent_withdraw(employee=request.user, categories=categories)

    attempt(
        request,
        withdraw,
        "Consent withdrawn. Capture stopped at once."
        + (" Your erasure request is recorded; the data is deleted within minutes." if erase else ""),
        form,
    )
    return redirect("consent:portal")


def _withdraw_confirmation(request: HttpRequest) -> HttpResponse:
    form = WithdrawForm(request.GET)
    if not form.is_valid():
        form_errors_to_messages(request, form)
        return redirect("consent:portal")
    category = form.cleaned_data["category"]
    granted = selectors.consent_overview_for_employee(employee=request.user).granted
    if category and category not in granted or not granted:
        what = f"{category_short_label(category)}: " if category and category in CATEGORY_LABELS else ""
        messages.error(request, f"{what}You have nothing switched on there, so there is nothing to withdraw.")
        return redirect("consent:portal")
    withdrawn = [category] if category else sorted(granted)
    erase = form.cleaned_data["erase"]
    context = {
        "category": category,
        "erase": erase,
        "withdrawn": [category_short_label(c) for c in withdrawn],
        "staying_on": [category_short_label(c) for c in sorted(set(granted) - set(withdrawn))],
        "devices": _active_device_names(request.user),
        "stored": stored_events_for_employee(employee=request.user, categories=_erasure_scope(granted, category))
        if erase
        else None,
    }
    return render(request, "consent/confirm_withdraw.html", context)


@require_POST
@employee_required
def portal_review(request: HttpRequest) -> HttpResponse:
    """Confirm the categories held under an older notice under the current one."""
    overview = selectors.consent_overview_for_employee(employee=request.user)
    form = ReviewForm(request.POST)

    def confirm() -> None:
        if not overview.needs_review:
            raise InvalidInput("nothing_to_review", "Your choices are already under the current notice.")
        services.consent_grant(
            employee=request.user,
            categories=overview.needs_review,
            notice_version=form.cleaned_data["notice_version"] or 0,
        )

    attempt(request, confirm, "Thank you. Your choices now follow the current notice.", form)
    return redirect("consent:portal")


@require_POST
@employee_required
def portal_exclusions(request: HttpRequest) -> HttpResponse:
    form = ExclusionsForm(request.POST)
    attempt(
        request,
        lambda: services.consent_set_exclusions(employee=request.user, excluded_apps=form.excluded()),
        "Your excluded applications are saved.",
        form,
    )
    return redirect("consent:portal")


@require_http_methods(["GET", "POST"])
@employee_required
def portal_erasure(request: HttpRequest) -> HttpResponse:
    """Ask for everything recorded to be erased, choosing whether recording goes on; confirmed on a second page.

    An erasure alone does not stop capture: devices keep uploading new events
    while consent is on.  So the form asks which is meant ("keep recording" or
    "stop recording", which withdraws consent with the erasure), the GET page
    states the effect with the number of events to delete, and only a POST
    carrying ``confirm`` records the request.
    """
    if request.method == "GET":
        return _erasure_confirmation(request)
    form = ErasureForm(request.POST)
    if not form.is_valid():
        form_errors_to_messages(request, form)
        return redirect(reverse("consent:portal") + "#erasure")
    mode = form.cleaned_data["mode"]
    if not form.cleaned_data["confirm"]:
        return redirect(reverse("consent:portal_erasure") + "?" + urlencode({"mode": mode}))
    if mode == ERASE_AND_WITHDRAW:
        attempt(
            request,
            lambda: erasure_services.consent_withdraw_with_erasure(employee=request.user),
            "Consent withdrawn: recording stopped at once. Your erasure request is recorded; "
            "the data is deleted within minutes.",
        )
    else:
        still_on = selectors.consent_overview_for_employee(employee=request.user).granted
        try:
            erasure, created = erasure_services.erasure_request_ask(employee=request.user)
        except ApplicationError as exc:
            messages.error(request, exc.detail)
            return redirect(reverse("consent:portal") + "#erasure")
        if not created:
            # Asking again while a request is pending is not a second request: say which one stands.
            messages.info(
                request,
                f"You already asked for this on {when(erasure.requested_at)} and that request is still pending "
                f"(due by {when(erasure.due_at)}). Nothing new was recorded.",
            )
            return redirect("consent:portal")
        messages.success(
            request,
            "Your erasure request is recorded; what was recorded so far is deleted within minutes. "
            + (
                "Recording continues: your devices keep sending new events. To stop it, withdraw your consent."
                if still_on
                else "Nothing is being recorded now."
            ),
        )
    return redirect("consent:portal")


def _erasure_confirmation(request: HttpRequest) -> HttpResponse:
    granted = selectors.consent_overview_for_employee(employee=request.user).granted
    form = ErasureForm(request.GET)
    # Without a valid choice the page asks for one (and says why when something else was given).
    mode = form.cleaned_data["mode"] if form.is_valid() else None
    if mode == ERASE_AND_WITHDRAW and not granted:
        mode = None
        problem = "You have nothing switched on, so recording is already stopped: there is nothing to withdraw."
    else:
        problem = None if mode or "mode" not in request.GET else form.errors["mode"][0]
    context = {
        "mode": mode,
        "modes": ERASURE_MODES,
        "keep": ERASE_KEEP_RECORDING,
        "withdraw": ERASE_AND_WITHDRAW,
        "problem": problem,
        "recording": [category_short_label(c) for c in sorted(granted)],
        "devices": _active_device_names(request.user),
        "stored": stored_events_for_employee(employee=request.user),
    }
    return render(request, "consent/confirm_erasure.html", context, status=400 if problem else 200)


@require_GET
@employee_required
def portal_receipt(request: HttpRequest, receipt_id) -> HttpResponse:
    """The receipt exactly as signed, as a ``.jwt`` file to keep or verify."""
    receipt = found(lambda: selectors.receipt_for_employee(employee=request.user, receipt_id=receipt_id))
    response = HttpResponse(receipt.jws, content_type="application/jwt")
    response["Content-Disposition"] = f'attachment; filename="consent-receipt-{receipt.id}.jwt"'
    return response


@require_GET
@employee_required
def portal_receipt_page(request: HttpRequest, receipt_id) -> HttpResponse:
    """The receipt in words: what was agreed or withdrawn, when, under which notice, and how to check its signature."""
    receipt = found(lambda: selectors.receipt_for_employee(employee=request.user, receipt_id=receipt_id))
    event = receipt.event
    context = {
        "receipt": receipt,
        "event": event,
        "categories": [
            {"label": dict(DataCategory.choices).get(c, c), "days": event.notice.retention_days.get(c)}
            for c in event.categories
        ],
        "receipt_type": RECEIPT_TYPE,
        "jwks_url": request.build_absolute_uri(reverse("jwks")),
    }
    return render(request, "consent/receipt.html", context)


@require_GET
def notice_page(request: HttpRequest, version: int) -> HttpResponse:
    """A published (or superseded) notice, readable by anyone: receipts and employees link here.

    Open without signing in, so that a receipt's ``policyUrl`` can be read by
    whoever checks it.  Drafts are not found, and the page shows nothing but
    the notice itself.
    """
    notice = found(lambda: selectors.notice_by_version(version=version))
    return render(request, "consent/notice.html", {"notice": notice})
