"""API routes of the collection app, mounted under /api/v1/collection/."""

from django.urls import path

from collection import api

urlpatterns = [
    path("devices", api.DeviceListCreateApi.as_view(), name="collection-devices"),
    path("devices/<uuid:device_id>", api.DeviceRevokeApi.as_view(), name="collection-device"),
    path("tokens", api.TokenCreateApi.as_view(), name="collection-tokens"),
    path("batches", api.BatchUploadApi.as_view(), name="collection-batches"),
    path("me/summary", api.MyDataSummaryApi.as_view(), name="collection-my-summary"),
    path("me/export", api.MyDataExportApi.as_view(), name="collection-my-export"),
]
