from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from signing.views import jwks_view

api_v1 = [
    path("", include("accounts.api_urls")),
    path("audit/", include("audit.api_urls")),
    path("consent/", include("consent.api_urls")),
    path("collection/", include("collection.api_urls")),
    path("access/", include("access.api_urls")),
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
    path("django-admin/", admin.site.urls),
]

handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"
