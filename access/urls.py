"""Portal pages of data access, mounted at /requests/: the requester's console and the officers' review queue."""

from django.urls import path

from access import views

app_name = "requests"

urlpatterns = [
    path("", views.home, name="home"),
    path("new", views.request_new, name="new"),
    path("grants/<uuid:grant_id>/withdrawals", views.withdrawals, name="withdrawals"),
    path("grants/<uuid:grant_id>/withdrawals/ack", views.withdrawals_ack, name="withdrawals_ack"),
    path("review", views.queue, name="queue"),
    path("review/<uuid:request_id>", views.review, name="review"),
    path("grants", views.grants, name="grants"),
    path("grants/<uuid:grant_id>/revoke", views.revoke, name="revoke"),
]
