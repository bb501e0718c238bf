"""Portal pages: the employee's capture devices and the data stored about them."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import employee_required
from charts import LineChart, Series
from collection.models import Platform
from collection.responses import export_response
from collection.selectors import device_for_employee, devices_for_employee, stored_events_for_device
from collection.services import device_enroll, device_revoke, my_data_export, my_data_summary
from config.errors import ApplicationError
from consent.models import DataCategory, category_short_label

# Session key for the secret of the device just enrolled, until the page shows it.
_NEW_DEVICE_KEY = "collection:new-device"


@employee_required
@require_http_methods(["GET", "POST"])
def devices(request):
    """List, enroll and revoke capture devices; a new device's secret is shown once, on the page after enrolling.

    Enrolling redirects (so reloading the page does not enroll a second
    device); the secret crosses the redirect in the server-side session and
    is removed from it by the very next view of this page.
    """
    if request.method == "POST":
        try:
            device, secret = device_enroll(
                employee=request.user, name=request.POST.get("name", ""), platform=request.POST.get("platform", "")
            )
        except ApplicationError as exc:
            messages.error(request, exc.detail)
            return redirect("collection:devices")
        request.session[_NEW_DEVICE_KEY] = {"id": str(device.pk), "name": device.name, "secret": secret}
        return redirect("collection:devices")
    new_device = request.session.pop(_NEW_DEVICE_KEY, None)
    response = render(
        request,
        "collection/devices.html",
        {
            "devices": devices_for_employee(employee=request.user),
            "platforms": Platform.choices,
            "new_device": new_device,
            "site_url": request.build_absolute_uri("/").rstrip("/"),
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@employee_required
@require_http_methods(["GET", "POST"])
def device_revoke_view(request, device_id):
    """Revoke one of the employee's devices after a confirmation page that says what stops and what stays.

    GET shows the effect (the device stops uploading at once; what it already
    uploaded stays stored until erased); only a POST carrying ``confirm``
    revokes, and every POST redirects, so reloading never revokes twice.
    Someone else's device is 404.
    """
    device = device_for_employee(employee=request.user, device_id=device_id)
    confirm_url = reverse("collection:device_revoke", args=[device.pk])
    if device.revoked_at is not None:
        messages.info(request, f"{device.name} is already revoked; it cannot upload.")
        return redirect("collection:devices")
    if request.method == "GET":
        others = [d.name for d in devices_for_employee(employee=request.user) if d.revoked_at is None and d != device]
        return render(
            request,
            "collection/device_revoke.html",
            {
                "device": device,
                "uploaded": stored_events_for_device(employee=request.user, device=device),
                "others": others,
                "erasure_url": _optional_url("consent:portal_erasure"),
            },
        )
    if request.POST.get("confirm") != "on":
        return redirect(confirm_url)
    device_revoke(employee=request.user, device=device)
    messages.success(request, f"{device.name} is revoked: it stopped uploading at once.")
    return redirect("collection:devices")


def _optional_url(name: str) -> str | None:
    # The consent portal links erasure; the collection pages work without it.
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


@employee_required
@require_GET
def my_data(request):
    """Counts per category and application and the date range of what is stored; viewing is audited."""
    summary = my_data_summary(employee=request.user)
    labels = dict(DataCategory.choices)
    categories = [
        {"value": c, "label": labels.get(c, c), "events": n} for c, n in sorted(summary["categories"].items())
    ]
    daily = summary["daily"]
    chart = (
        LineChart(
            title=f"Events recorded per day, last {len(daily['dates'])} days",
            labels=[d[5:] for d in daily["dates"]],  # MM-DD; the table's caption names the range
            series=[Series(category_short_label(c), list(counts)) for c, counts in daily["categories"].items()],
            unit="events",
        ).render()
        if daily["categories"]
        else None
    )
    return render(request, "collection/my_data.html", {"summary": summary, "categories": categories, "chart": chart})


@employee_required
@require_POST
def my_data_download(request):
    return export_response(my_data_export(employee=request.user))
