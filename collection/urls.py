"""Portal pages of the collection app."""

from django.urls import path

from collection import views

app_name = "collection"

urlpatterns = [
    path("portal/devices", views.devices, name="devices"),
    path("portal/devices/<uuid:device_id>/revoke", views.device_revoke_view, name="device_revoke"),
    path("portal/my-data", views.my_data, name="my_data"),
    path("portal/my-data/download", views.my_data_download, name="my_data_download"),
]
