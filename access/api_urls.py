"""API routes of the data-access app, mounted under /api/v1/access/."""

from django.urls import path

from access import api

urlpatterns = [
    path("requests", api.RequestListCreateApi.as_view(), name="access-requests"),
    path("requests/<uuid:request_id>", api.RequestDetailApi.as_view(), name="access-request"),
    path("requests/<uuid:request_id>/impact", api.RequestImpactApi.as_view(), name="access-request-impact"),
    path("requests/<uuid:request_id>/reviews", api.ReviewCreateApi.as_view(), name="access-request-reviews"),
    path("grants", api.GrantListApi.as_view(), name="access-grants"),
    path("grants/<uuid:grant_id>", api.GrantDetailApi.as_view(), name="access-grant"),
    path("grants/<uuid:grant_id>/revoke", api.GrantRevokeApi.as_view(), name="access-grant-revoke"),
    path("grants/<uuid:grant_id>/export", api.GrantExportApi.as_view(), name="access-grant-export"),
    path("grants/<uuid:grant_id>/withdrawals", api.WithdrawalsApi.as_view(), name="access-grant-withdrawals"),
    path(
        "grants/<uuid:grant_id>/withdrawals/ack", api.WithdrawalsAckApi.as_view(), name="access-grant-withdrawals-ack"
    ),
    path("exports/<uuid:export_id>", api.ExportDetailApi.as_view(), name="access-export"),
    path("exports/<uuid:export_id>/manifest", api.ExportManifestApi.as_view(), name="access-export-manifest"),
]

# The employee's own: the exports that included them, and each one's inclusion proof.
from access import api_employee  # noqa: E402

urlpatterns += [
    path("me/exports", api_employee.MeExportListApi.as_view(), name="access-me-exports"),
    path("me/exports/<uuid:export_id>/proof", api_employee.MeExportProofApi.as_view(), name="access-me-export-proof"),
]
