"""The employee's portal: one page with their consent, history, receipts, erasure requests and accesses, and its forms.

Each form posts to its own view, which calls a service and redirects back to
the page with a message; a refusal (a domain error, or a malformed post)
becomes an error message.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_POST

from access import employee as access_employee
from accounts.decorators import employee_required
from accounts.models import User
from audit import selectors as audit_selectors
from audit.actions import AuditAction
from audit.models import AuditEntry
from config.errors import ApplicationError, InvalidInput
from consent import selectors, services
from consent.forms import ChoicesForm, ExclusionsForm, ReviewForm, WithdrawForm
from consent.views.pages import CATEGORY_LABELS, attempt, found
from erasure import selectors as erasure_selectors
from erasure import services as erasure_services


def _optional_url(name: str) -> str | None:
    # The collection pages may not be installed yet; the portal links them only when they exist.
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def _who(actor: str) -> str:
    return actor.removeprefix("user:")


def _entries(entries: list[AuditEntry]) -> list[dict[str, object]]:
    """Audit entries as the page shows them: readable action names, accounts by username."""
    return [
        {"ts": e.ts, "actor": _who(e.actor), "action": AuditAction.label_of(e.action), "detail": e.detail}
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
        "history": selectors.consent_history_for_employee(employee=employee)[:200],
        "erasure_requests": erasure_selectors.erasure_requests_with_receipts_for_employee(employee=employee),
        "erasure_steps": _entries(audit_selectors.erasure_steps_for_employee(employee=employee, limit=50)),
        "accesses": _entries(audit_selectors.accesses_for_employee(employee=employee, limit=50)),
        "exports": _exports(employee),
        "devices_url": _optional_url("collection:devices"),
        "my_data_url": _optional_url("collection:my_data"),
        "category_labels": CATEGORY_LABELS,
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


@require_POST
@employee_required
def portal_withdraw(request: HttpRequest) -> HttpResponse:
    """One click: withdraw one category, or everything, optionally asking for erasure."""
    form = WithdrawForm(request.POST)
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
        "Consent withdrawn. Capture stopped at once." + (" Your erasure request is recorded." if erase else ""),
        form,
    )
    return redirect("consent:portal")


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


@require_POST
@employee_required
def portal_erasure(request: HttpRequest) -> HttpResponse:
    # The button posts nothing but the CSRF token: it asks for everything to be erased.
    try:
        erasure, created = erasure_services.erasure_request_ask(employee=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.detail)
        return redirect("consent:portal")
    if created:
        messages.success(request, "Your erasure request is recorded.")
    else:
        # Asking again while a request is pending is not a second request: say which one stands.
        messages.info(
            request,
            f"You already asked for this on {erasure.requested_at:%Y-%m-%d %H:%M} UTC and that request is still "
            f"pending (due by {erasure.due_at:%Y-%m-%d %H:%M} UTC). Nothing new was recorded.",
        )
    return redirect("consent:portal")


@require_GET
@employee_required
def portal_receipt(request: HttpRequest, receipt_id) -> HttpResponse:
    receipt = found(lambda: selectors.receipt_for_employee(employee=request.user, receipt_id=receipt_id))
    response = HttpResponse(receipt.jws, content_type="application/jwt")
    response["Content-Disposition"] = f'attachment; filename="consent-receipt-{receipt.id}.jwt"'
    return response


@require_GET
@login_required
def notice_page(request: HttpRequest, version: int) -> HttpResponse:
    """A published (or superseded) notice, as employees read it; receipts link here."""
    notice = found(lambda: selectors.notice_by_version(version=version))
    return render(request, "consent/notice.html", {"notice": notice, "category_labels": CATEGORY_LABELS})
