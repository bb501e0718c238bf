from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import include, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from signing.views import jwks_view


def admin_login(request):
    """The Django admin signs in through the portal's sign-in, never its own form.

    Its form would be a second way to guess passwords, outside the portal's
    rate limit; this answers every method with a redirect to the portal's
    sign-in page (which comes back to ``next``), so the admin path accepts no
    credentials at all.
    """
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("admin:index")
    if request.user.is_authenticated:
        if admin.site.has_permission(request):
            return redirect(next_url)
        # Signed in without admin access: the portal would send the user
        # straight back here, a redirect loop.
        raise PermissionDenied
    return redirect(f"{reverse('accounts:login')}?{urlencode({'next': next_url})}")


api_v1 = [
    path("", include("accounts.api_urls")),
    path("audit/", include("audit.api_urls")),
    path("consent/", include("consent.api_urls")),
    path("collection/", include("collection.api_urls")),
    path("access/", include("access.api_urls")),
    # The receipts of erasure requests, beside the employee's list of them (consent/me/erasure-requests).
    path("consent/", include("erasure.api_urls")),
]

urlpatterns = [
    path("", include("accounts.urls")),
    path("audit/", include("audit.urls")),
    path("", include("consent.urls")),
    path("", include("collection.urls")),
    path("requests/", include("access.urls")),
    path(".well-known/jwks.json", jwks_view, name="jwks"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file (?script), and our template
    # its styles as one, so the docs need no inline script or style under the CSP.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api_docs/swagger_ui.html"),
        name="api-docs",
    ),
    # Before the admin's own URLs, so its login page is the portal's (see admin_login).
    path("django-admin/login/", admin_login, name="admin-login"),
    path("django-admin/", admin.site.urls),
]

handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"
