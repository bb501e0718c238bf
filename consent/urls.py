"""Portal pages of the consent app: the employee's /portal and the officer's /officer."""

from django.urls import path

from consent.views import employee, officer

app_name = "consent"

urlpatterns = [
    path("portal", employee.portal, name="portal"),
    path("portal/choices", employee.portal_choices, name="portal_choices"),
    path("portal/withdraw", employee.portal_withdraw, name="portal_withdraw"),
    path("portal/review", employee.portal_review, name="portal_review"),
    path("portal/exclusions", employee.portal_exclusions, name="portal_exclusions"),
    path("portal/erasure", employee.portal_erasure, name="portal_erasure"),
    path("portal/receipts/<uuid:receipt_id>", employee.portal_receipt, name="portal_receipt"),
    path("portal/receipts/<uuid:receipt_id>/details", employee.portal_receipt_page, name="portal_receipt_page"),
    path("notices/v<int:version>", employee.notice_page, name="notice"),
    path("officer", officer.officer_home, name="officer_home"),
    path("officer/notices/new", officer.officer_notice, name="officer_notice_new"),
    path("officer/notices/<int:notice_id>", officer.officer_notice, name="officer_notice"),
    path("officer/notices/<int:notice_id>/publish", officer.officer_notice_publish, name="officer_notice_publish"),
    path("officer/allowlist", officer.officer_allowlist_add, name="officer_allowlist_add"),
    path("officer/allowlist/save", officer.officer_allowlist_save, name="officer_allowlist_save"),
    path("officer/allowlist/<str:app_id>/remove", officer.officer_allowlist_remove, name="officer_allowlist_remove"),
    path("officer/retention", officer.officer_retention, name="officer_retention"),
]
