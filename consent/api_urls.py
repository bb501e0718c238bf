"""API routes of the consent app, mounted under /api/v1/consent/."""

from django.urls import path

from consent import api

urlpatterns = [
    path("notices", api.NoticeListCreateApi.as_view(), name="consent-notices"),
    path("notices/current", api.NoticeCurrentApi.as_view(), name="consent-notice-current"),
    path("notices/<int:notice_id>", api.NoticeDetailApi.as_view(), name="consent-notice"),
    path("notices/<int:notice_id>/publish", api.NoticePublishApi.as_view(), name="consent-notice-publish"),
    path("allowlist", api.AllowlistListCreateApi.as_view(), name="consent-allowlist"),
    path("allowlist/<str:app_id>", api.AllowlistDetailApi.as_view(), name="consent-allowlist-app"),
    path("retention", api.RetentionApi.as_view(), name="consent-retention"),
    path("me", api.MeApi.as_view(), name="consent-me"),
    path("me/grants", api.MeGrantCreateApi.as_view(), name="consent-me-grants"),
    path("me/withdrawals", api.MeWithdrawalCreateApi.as_view(), name="consent-me-withdrawals"),
    path("me/exclusions", api.MeExclusionsApi.as_view(), name="consent-me-exclusions"),
    path("me/history", api.MeHistoryApi.as_view(), name="consent-me-history"),
    path("me/receipts", api.MeReceiptListApi.as_view(), name="consent-me-receipts"),
    path("me/receipts/<str:receipt_id>", api.MeReceiptDetailApi.as_view(), name="consent-me-receipt"),
    path("me/erasure-requests", api.MeErasureRequestListCreateApi.as_view(), name="consent-me-erasure-requests"),
    path("me/accesses", api.MeAccessListApi.as_view(), name="consent-me-accesses"),
    path("stats", api.ConsentStatsApi.as_view(), name="consent-stats"),
    path("erasure-deadlines", api.ErasureDeadlinesApi.as_view(), name="consent-erasure-deadlines"),
]
