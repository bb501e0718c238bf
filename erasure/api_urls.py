"""API routes of the erasure app, mounted under /api/v1/consent/ beside the employee's erasure requests."""

from django.urls import path

from erasure import api

urlpatterns = [
    path(
        "me/erasure-requests/<uuid:request_id>/receipt",
        api.MeErasureReceiptApi.as_view(),
        name="erasure-me-receipt",
    ),
    path(
        "me/erasure-requests/<uuid:request_id>/receipt/proof",
        api.MeErasureReceiptProofApi.as_view(),
        name="erasure-me-receipt-proof",
    ),
]
