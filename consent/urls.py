"""Portal pages of the consent app."""

from django.urls import path  # noqa: F401

app_name = "consent"

urlpatterns: list = []
