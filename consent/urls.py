"""Portal pages of the consent app: the employee's /portal and the officer's /officer."""

from django.urls import path

from consent import views

app_name = "consent"

urlpatterns = [
    path("portal", views.portal, name="portal"),
    path("portal/choices", views.portal_choices, name="portal_choices"),
    path("portal/withdraw", views.portal_withdraw, name="portal_withdraw"),
    path("portal/review", views.portal_review, name="portal_review"),
    path("portal/exclusions", views.portal_exclusions, name="portal_exclusions"),
    path("portal/erasure", views.portal_erasure, name="portal_erasure"),
    path("portal/receipts/<uuid:receipt_id>", views.portal_receipt, name="portal_receipt"),
    path("notices/v<int:version>", views.notice_page, name="notice"),
    path("officer", views.officer_home, name="officer_home"),
    path("officer/notices/new", views.officer_notice, name="officer_notice_new"),
    path("officer/notices/<int:notice_id>", views.officer_notice, name="officer_notice"),
    path("officer/notices/<int:notice_id>/publish", views.officer_notice_publish, name="officer_notice_publish"),
    path("officer/allowlist", views.officer_allowlist_add, name="officer_allowlist_add"),
    path("officer/allowlist/<str:app_id>", views.officer_allowlist_update, name="officer_allowlist_update"),
    path("officer/retention", views.officer_retention, name="officer_retention"),
]
