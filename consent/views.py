"""Portal pages: the employee's one-page privacy overview and the privacy officer's console.

Pages parse the form, call a service, and redirect back with a message; a
broken rule (``ApplicationError``) becomes an error message on the page.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import role_required
from accounts.models import Role
from config.errors import ApplicationError, InvalidInput, NotFound
from config.exceptions import status_for
from consent import selectors, services, stats
from consent.models import ConsentNotice, DataCategory

CATEGORY_LABELS = dict(DataCategory.choices)


employee_required = role_required(Role.EMPLOYEE)
officer_required = role_required(Role.PRIVACY_OFFICER)


def _optional_url(name: str) -> str | None:
    # The collection pages may not be installed yet; the portal links them only when they exist.
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def _attempt(request, action, success: str) -> bool:
    try:
        action()
    except ApplicationError as exc:
        messages.error(request, exc.detail)
        return False
    messages.success(request, success)
    return True


def _found(fetch):
    """Run a selector; a record the actor may not see is a plain 404 page."""
    try:
        return fetch()
    except NotFound as exc:
        raise Http404(exc.detail) from None


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


# --- Employee portal ------------------------------------------------------------


@require_GET
@employee_required
def portal(request):
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
        "erasure_requests": selectors.erasure_requests_for_employee(employee=employee),
        "accesses": selectors.accesses_for_employee(employee=employee, limit=50),
        "devices_url": _optional_url("collection:devices"),
        "my_data_url": _optional_url("collection:my_data"),
        "category_labels": CATEGORY_LABELS,
    }
    return render(request, "consent/portal.html", context)


@require_POST
@employee_required
def portal_choices(request):
    """Save the per-category opt-in toggles: grants what was switched on, withdraws what was switched off."""
    version = _int_or_none(request.POST.get("notice_version"))
    chosen = request.POST.getlist("categories")

    def save():
        if version is None:
            raise InvalidInput(
                "no_notice_version", "The page did not say which notice you read; reload it and try again."
            )
        if not services.consent_set_choices(employee=request.user, categories=chosen, notice_version=version):
            raise InvalidInput("no_change", "Nothing changed.")

    _attempt(request, save, "Your choices are saved. A receipt for each change is in your history.")
    return redirect("consent:portal")


@require_POST
@employee_required
def portal_withdraw(request):
    """One click: withdraw one category, or everything, optionally asking for erasure."""
    category = request.POST.get("category") or None
    erase = request.POST.get("erase") == "on"
    _attempt(
        request,
        lambda: services.consent_withdraw(
            employee=request.user, categories=[category] if category else None, erase=erase
        ),
        "Consent withdrawn. Capture stopped at once." + (" Your erasure request is recorded." if erase else ""),
    )
    return redirect("consent:portal")


@require_POST
@employee_required
def portal_review(request):
    """Confirm the categories held under an older notice under the current one."""
    overview = selectors.consent_overview_for_employee(employee=request.user)
    version = _int_or_none(request.POST.get("notice_version"))

    def confirm():
        if not overview.needs_review:
            raise InvalidInput("nothing_to_review", "Your choices are already under the current notice.")
        services.consent_grant(employee=request.user, categories=overview.needs_review, notice_version=version or 0)

    _attempt(request, confirm, "Thank you. Your choices now follow the current notice.")
    return redirect("consent:portal")


@require_POST
@employee_required
def portal_exclusions(request):
    excluded = set(request.POST.getlist("excluded_apps"))
    excluded.update(line.strip() for line in request.POST.get("other_apps", "").splitlines() if line.strip())
    _attempt(
        request,
        lambda: services.consent_set_exclusions(employee=request.user, excluded_apps=sorted(excluded)),
        "Your excluded applications are saved.",
    )
    return redirect("consent:portal")


@require_POST
@employee_required
def portal_erasure(request):
    _attempt(
        request,
        lambda: services.erasure_request_create(employee=request.user),
        "Your erasure request is recorded.",
    )
    return redirect("consent:portal")


@require_GET
@employee_required
def portal_receipt(request, receipt_id):
    receipt = _found(lambda: selectors.receipt_for_employee(employee=request.user, receipt_id=receipt_id))
    response = HttpResponse(receipt.jws, content_type="application/jwt")
    response["Content-Disposition"] = f'attachment; filename="consent-receipt-{receipt.id}.jwt"'
    return response


@require_GET
@login_required
def notice_page(request, version: int):
    """A published (or superseded) notice, as employees read it; receipts link here."""
    notice = _found(lambda: selectors.notice_by_version(version=version))
    return render(request, "consent/notice.html", {"notice": notice, "category_labels": CATEGORY_LABELS})


# --- Officer console ---------------------------------------------------------------


@require_GET
@officer_required
def officer_home(request):
    rates = stats.consent_stats_for_officer(actor=request.user)
    rules = selectors.retention_rules()
    context = {
        "notices": selectors.notices_for_actor(actor=request.user),
        "current": selectors.current_notice(),
        "apps": selectors.allowed_applications(),
        "retention": [
            {"value": value, "label": label, "days": rules.get(value)} for value, label in DataCategory.choices
        ],
        "stats": rates,
        "erasure": stats.erasure_deadlines_for_officer(actor=request.user),
        "stat_groups": [rates.overall, *rates.departments] + ([rates.pooled_small] if rates.pooled_small else []),
        "categories": DataCategory.choices,
    }
    return render(request, "consent/officer_home.html", context)


def _notice_fields_from_form(post) -> dict:
    purposes = []
    for line in post.get("purposes", "").splitlines():
        if not line.strip():
            continue
        pid, _, description = line.partition(":")
        purposes.append({"id": pid.strip(), "description": description.strip()})
    return {
        "title": post.get("title", ""),
        "summary": post.get("summary", ""),
        "purposes": purposes,
        "categories": post.getlist("categories"),
        "access": post.get("access", ""),
        "rights": post.get("rights", ""),
        "contact": post.get("contact", ""),
    }


@officer_required
def officer_notice(request, notice_id: int | None = None):
    """Write a new draft or edit one; published versions are shown read-only."""
    notice = _found(lambda: selectors.notice_for_actor(actor=request.user, notice_id=notice_id)) if notice_id else None
    form = None
    if request.method == "POST":
        form = _notice_fields_from_form(request.POST)
        try:
            if notice is None:
                notice = services.notice_create(actor=request.user, **form)
            else:
                notice = services.notice_update(actor=request.user, notice=notice, **form)
        except ApplicationError as exc:
            messages.error(request, exc.detail)
            context = _notice_context(notice, form)
            return render(request, "consent/officer_notice.html", context, status=status_for(exc))
        messages.success(request, "Draft saved. Publish it when it is ready.")
        return redirect("consent:officer_notice", notice_id=notice.pk)
    return render(request, "consent/officer_notice.html", _notice_context(notice, form))


def _notice_context(notice: ConsentNotice | None, form: dict | None) -> dict:
    source = form or (
        {
            "title": notice.title,
            "summary": notice.summary,
            "purposes": notice.purposes,
            "categories": notice.categories,
            "access": notice.access,
            "rights": notice.rights,
            "contact": notice.contact,
        }
        if notice
        else {"purposes": [], "categories": []}
    )
    return {
        "notice": notice,
        "form": source,
        "purposes_text": "\n".join(f"{p['id']}: {p['description']}" for p in source.get("purposes", [])),
        "categories": DataCategory.choices,
        "editable": notice is None or notice.status == ConsentNotice.Status.DRAFT,
    }


@require_POST
@officer_required
def officer_notice_publish(request, notice_id: int):
    notice = _found(lambda: selectors.notice_for_actor(actor=request.user, notice_id=notice_id))
    if _attempt(
        request,
        lambda: services.notice_publish(actor=request.user, notice=notice),
        "Notice published. Employees are asked to review it.",
    ):
        return redirect("consent:officer_home")
    return redirect("consent:officer_notice", notice_id=notice.pk)


@require_POST
@officer_required
def officer_allowlist_add(request):
    _attempt(
        request,
        lambda: services.allowlist_add(
            actor=request.user,
            app_id=request.POST.get("app_id", ""),
            display_name=request.POST.get("display_name", ""),
            categories=request.POST.getlist("categories"),
        ),
        "Application added to the allowlist.",
    )
    return redirect(reverse("consent:officer_home") + "#allowlist")


@require_POST
@officer_required
def officer_allowlist_update(request, app_id: str):
    app = _found(lambda: selectors.allowed_application_for_officer(actor=request.user, app_id=app_id))
    if request.POST.get("remove"):
        _attempt(
            request,
            lambda: services.allowlist_remove(actor=request.user, app=app),
            f"{app_id} removed from the allowlist.",
        )
    else:
        _attempt(
            request,
            lambda: services.allowlist_update(
                actor=request.user,
                app=app,
                display_name=request.POST.get("display_name", app.display_name),
                categories=request.POST.getlist("categories"),
            ),
            f"{app_id} saved.",
        )
    return redirect(reverse("consent:officer_home") + "#allowlist")


@require_POST
@officer_required
def officer_retention(request):
    rules: dict = {}
    for value, _label in DataCategory.choices:
        raw = request.POST.get(value, "").strip()
        if raw:
            try:
                rules[value] = int(raw)
            except ValueError:
                rules[value] = raw  # the service names the bad value
    _attempt(request, lambda: services.retention_set(actor=request.user, rules=rules), "Retention rules saved.")
    return redirect(reverse("consent:officer_home") + "#retention")
