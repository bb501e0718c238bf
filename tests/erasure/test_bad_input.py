"""Bad input to erasure and retention: refused with a 4xx that names the problem, and nothing written.

- erasing a category the employee never agreed to and holds no data in: ``400 never_collected``;
- asking again while a request covering it is pending: the pending request, ``200``, nothing new;
- retention below one day or above what the published notice states: ``400`` naming the bound.
"""

from __future__ import annotations

import pytest

from audit.models import AuditEntry
from consent.models import RetentionRule
from consent.services import consent_grant, consent_withdraw
from erasure.models import ErasureRequest
from erasure.services import erasure_request_carry_out

pytestmark = pytest.mark.django_db

API = "/api/v1/consent/me/erasure-requests"


def _nothing_requested() -> None:
    assert not ErasureRequest.objects.exists()
    assert not AuditEntry.objects.filter(action="erasure.requested").exists()


# --- Categories the employee never had ------------------------------------------------------


def test_erasing_a_category_never_agreed_to_is_refused_by_name(
    api_as, alice, notice, allowlist, django_capture_on_commit_callbacks
):
    consent_grant(employee=alice, categories=["mouse"], notice_version=1)
    with django_capture_on_commit_callbacks() as callbacks:
        response = api_as(alice).post(API, {"categories": ["keystrokes", "mouse", "app_focus"]}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "never_collected"
    assert body["detail"] == (
        "You never agreed to capture of, and hold no data in: Application focus, Keystrokes. "
        "There is nothing of it to erase."
    )
    assert callbacks == [], "no erasure task is started"
    _nothing_requested()


def test_a_category_agreed_to_once_and_withdrawn_since_may_be_erased(api_as, alice, notice, allowlist):
    consent_grant(employee=alice, categories=["mouse", "keystrokes"], notice_version=1)
    consent_withdraw(employee=alice, categories=["keystrokes"])
    response = api_as(alice).post(API, {"categories": ["keystrokes"]}, format="json")
    assert response.status_code == 201
    assert response.json()["categories"] == ["keystrokes"]


def test_an_unknown_category_is_refused_by_name(api_as, alice, notice):
    response = api_as(alice).post(API, {"categories": ["mouse", "retina"]}, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": "unknown_category", "detail": "Unknown data categories: retina."}
    _nothing_requested()


# --- Asking again while a request is pending ---------------------------------------------


def test_asking_again_while_pending_answers_with_the_pending_request(
    api_as, alice, notice, django_capture_on_commit_callbacks
):
    first = api_as(alice).post(API, {}, format="json")
    assert first.status_code == 201
    with django_capture_on_commit_callbacks() as callbacks:
        again = api_as(alice).post(API, {}, format="json")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert callbacks == [], "nothing new to carry out"
    assert ErasureRequest.objects.count() == 1
    assert AuditEntry.objects.filter(action="erasure.requested").count() == 1


def test_a_pending_request_for_everything_covers_one_for_some_categories(api_as, alice, notice, allowlist):
    consent_grant(employee=alice, categories=["mouse", "keystrokes"], notice_version=1)
    everything = api_as(alice).post(API, {}, format="json").json()
    some = api_as(alice).post(API, {"categories": ["mouse"]}, format="json")
    assert some.status_code == 200 and some.json()["id"] == everything["id"]
    assert ErasureRequest.objects.count() == 1


def test_a_request_for_more_than_the_pending_one_covers_is_a_new_request(api_as, alice, notice, allowlist):
    consent_grant(employee=alice, categories=["mouse", "keystrokes"], notice_version=1)
    mouse = api_as(alice).post(API, {"categories": ["mouse"]}, format="json")
    same = api_as(alice).post(API, {"categories": ["mouse"]}, format="json")
    wider = api_as(alice).post(API, {"categories": ["keystrokes", "mouse"]}, format="json")
    assert (mouse.status_code, same.status_code, wider.status_code) == (201, 200, 201)
    assert same.json()["id"] == mouse.json()["id"] != wider.json()["id"]
    assert AuditEntry.objects.filter(action="erasure.requested").count() == 2


def test_once_the_request_is_done_asking_again_is_a_new_request(api_as, alice, notice, _master_key):
    first = api_as(alice).post(API, {}, format="json").json()
    assert erasure_request_carry_out(request_id=first["id"]) is True
    again = api_as(alice).post(API, {}, format="json")
    assert again.status_code == 201 and again.json()["id"] != first["id"]


def test_the_portal_button_pressed_twice_records_one_request(portal_as, alice, notice):
    from consent.templatetags.plain import when

    client = portal_as(alice)
    ask = {"mode": "keep", "confirm": "1"}
    first = client.post("/portal/erasure", ask, follow=True).content.decode()
    assert "Your erasure request is recorded" in first
    second = client.post("/portal/erasure", ask, follow=True).content.decode()
    request = ErasureRequest.objects.get()
    assert "Your erasure request is recorded" not in second
    assert (
        f"You already asked for this on {when(request.requested_at)} and that request is still pending "
        f"(due by {when(request.due_at)}). Nothing new was recorded."
    ) in second
    assert AuditEntry.objects.filter(action="erasure.requested").count() == 1


# --- Retention bounds -------------------------------------------------------------------------


def _rules() -> dict[str, int]:
    return dict(RetentionRule.objects.values_list("category", "max_age_days"))


@pytest.mark.parametrize(
    ("rules", "code", "detail"),
    [
        ({"mouse": 0}, "invalid_retention", "mouse: the maximum age must be between 1 and 3650 days, not 0."),
        (
            {"mouse": 91},
            "retention_above_notice",
            "mouse: version 1 of the notice tells employees their data is kept at most 90 days, not 91.",
        ),
        (
            {"clicks": 30, "mouse": 120, "keystrokes": 365},
            "retention_above_notice",
            "keystrokes: version 1 of the notice tells employees their data is kept at most 90 days, not 365; "
            "mouse: version 1 of the notice tells employees their data is kept at most 90 days, not 120.",
        ),
    ],
)
def test_retention_outside_its_bounds_is_refused_by_name_and_nothing_changes(
    api_as, olivia, notice, allowlist, rules, code, detail
):
    before = _rules()
    response = api_as(olivia).put("/api/v1/consent/retention", {"rules": rules}, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": code, "detail": detail}
    assert _rules() == before
    assert not AuditEntry.objects.filter(action="retention.changed").exists()


def test_retention_up_to_the_notice_is_accepted(api_as, olivia, notice, allowlist):
    response = api_as(olivia).put("/api/v1/consent/retention", {"rules": {"mouse": 1, "clicks": 90}}, format="json")
    assert response.status_code == 200
    assert _rules()["mouse"] == 1 and _rules()["clicks"] == 90


def test_without_a_published_notice_retention_is_bounded_by_ten_years(api_as, olivia, allowlist):
    accepted = api_as(olivia).put("/api/v1/consent/retention", {"rules": {"mouse": 3650}}, format="json")
    assert accepted.status_code == 200
    refused = api_as(olivia).put("/api/v1/consent/retention", {"rules": {"mouse": 3651}}, format="json")
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_retention"
    assert _rules()["mouse"] == 3650


def test_the_console_refuses_retention_above_the_notice_by_name(portal_as, olivia, notice, allowlist):
    page = portal_as(olivia).post("/officer/retention", {"mouse": "120", "clicks": "30"}, follow=True)
    assert (
        "mouse: version 1 of the notice tells employees their data is kept at most 90 days, not 120."
        in page.content.decode()
    )
    assert _rules()["mouse"] == 90 and _rules()["clicks"] == 90
    assert not AuditEntry.objects.filter(action="retention.changed").exists()
