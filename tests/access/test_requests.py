"""Data requests: submission, separation of duties, four eyes for keystrokes, expiry; through the API."""

from __future__ import annotations

from datetime import timedelta

import pytest

from access.models import DataRequest, Grant
from access.services import data_requests_expire, grants_expire
from audit.models import AuditEntry
from tests.access.conftest import EDITOR, SINCE, UNTIL, request_body
from tests.conftest import make_user

API = "/api/v1/access"
pytestmark = pytest.mark.django_db


def test_a_requester_submits_a_request_and_sees_it_pending(api_as, rita, notice, allowlist):
    response = api_as(rita).post(f"{API}/requests", request_body(), format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "pending"
    assert body["categories"] == ["clicks", "mouse"]
    assert body["purpose"] == "agent-training" and body["notice_version"] == 1
    assert body["approvals_required"] == 1 and body["grant"] is None
    listed = api_as(rita).get(f"{API}/requests").json()
    assert [r["id"] for r in listed] == [body["id"]]
    entry = AuditEntry.objects.get(action="data_request.submitted")
    assert entry.actor == "user:rita" and entry.target == f"data_request:{body['id']}"
    assert entry.detail["purpose"] == "agent-training" and entry.detail["apps"] == sorted(request_body()["apps"])


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"since": UNTIL.isoformat(), "until": SINCE.isoformat()}, "invalid_range"),
        ({"until": "2999-01-01T00:00:00Z"}, "future_range"),
        ({"categories": []}, "invalid"),
        ({"categories": ["screenshots"]}, "invalid"),
        ({"apps": ["com.example.Unknown"]}, "unknown_app"),
        ({"apps": []}, "invalid"),
        ({"purpose": "advertising"}, "unknown_purpose"),
        ({"justification": "because"}, "justification_too_short"),
        ({"since": "yesterday"}, "invalid"),
    ],
)
def test_bad_requests_are_refused_naming_the_problem_and_nothing_is_written(
    api_as, rita, notice, allowlist, frozen, overrides, code
):
    frozen.move_to(UNTIL + timedelta(days=1), tick=False)
    response = api_as(rita).post(f"{API}/requests", request_body(**overrides), format="json")
    assert response.status_code == 400
    assert response.json()["error"] == code
    assert not DataRequest.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="data_request.").exists()


def test_only_requesters_submit(api_as, alice, olivia, aaron, notice, allowlist):
    for user in (alice, olivia, aaron):
        response = api_as(user).post(f"{API}/requests", request_body(), format="json")
        assert response.status_code == 403
    assert not DataRequest.objects.exists()


def test_one_officer_approves_and_the_grant_is_created(captured, submit, approve, api_as, rita):
    request = submit()
    decided = approve(request["id"], grant_days=7)
    assert decided["status"] == "approved"
    assert decided["reviews"][0]["officer"] == "olivia" and decided["reviews"][0]["decision"] == "approve"
    grant = Grant.objects.get()
    assert grant.status == "active" and grant.wrapped_key is not None
    assert grant.expires_at - grant.created_at == timedelta(days=7)
    assert [g["id"] for g in api_as(rita).get(f"{API}/grants").json()] == [str(grant.id)]
    actions = list(
        AuditEntry.objects.filter(action__in=["data_request.approved", "grant.created"]).values_list(
            "action", flat=True
        )
    )
    assert sorted(actions) == ["data_request.approved", "grant.created"]


def test_nobody_decides_their_own_request_even_holding_both_roles(api_as, notice, allowlist):
    both = make_user("rob", "requester", "privacy_officer")
    created = api_as(both).post(f"{API}/requests", request_body(), format="json").json()
    response = api_as(both).post(
        f"{API}/requests/{created['id']}/reviews", {"decision": "approve", "reason": "Looks fine to me."}, format="json"
    )
    assert response.status_code == 403 and response.json()["error"] == "own_request"
    assert DataRequest.objects.get().status == "pending" and not Grant.objects.exists()


def test_keystrokes_need_two_different_officers(submit, approve, api_as, olivia, oscar, notice, allowlist):
    request = submit(categories=["keystrokes"], apps=[EDITOR])
    assert request["approvals_required"] == 2
    first = approve(request["id"], officer=olivia)
    assert first["status"] == "pending" and first["grant"] is None
    again = api_as(olivia).post(
        f"{API}/requests/{request['id']}/reviews",
        {"decision": "approve", "reason": "Approving it twice."},
        format="json",
    )
    assert again.status_code == 409 and again.json()["error"] == "already_reviewed"
    second = approve(request["id"], officer=oscar)
    assert second["status"] == "approved" and second["grant"] is not None
    assert AuditEntry.objects.filter(action="data_request.reviewed").count() == 1


def test_one_rejection_ends_a_keystroke_request(submit, approve, api_as, olivia, oscar, notice, allowlist):
    request = submit(categories=["keystrokes"], apps=[EDITOR])
    approve(request["id"], officer=olivia)
    rejected = api_as(oscar).post(
        f"{API}/requests/{request['id']}/reviews",
        {"decision": "reject", "reason": "Typed text is not needed for this purpose."},
        format="json",
    )
    assert rejected.status_code == 201 and rejected.json()["status"] == "rejected"
    late = api_as(oscar).post(
        f"{API}/requests/{request['id']}/reviews", {"decision": "approve", "reason": "Changed my mind."}, format="json"
    )
    assert late.status_code == 409 and late.json()["error"] == "not_pending"
    assert not Grant.objects.exists()


def test_a_decision_needs_a_written_reason(submit, api_as, olivia, notice, allowlist):
    request = submit()
    response = api_as(olivia).post(
        f"{API}/requests/{request['id']}/reviews", {"decision": "approve", "reason": "ok"}, format="json"
    )
    assert response.status_code == 400 and response.json()["error"] == "reason_too_short"


def test_requesters_see_only_their_own_requests(submit, api_as, notice, allowlist):
    other = make_user("ruth", "requester")
    request = submit()
    assert api_as(other).get(f"{API}/requests").json() == []
    assert api_as(other).get(f"{API}/requests/{request['id']}").status_code == 404


def test_undecided_requests_and_overdue_grants_expire(captured, submit, approve, frozen, settings):
    pending = submit()
    approved = approve(submit()["id"], grant_days=1)
    frozen.move_to(UNTIL + timedelta(days=settings.DATA_REQUEST_PENDING_DAYS, hours=1), tick=False)
    assert data_requests_expire() == 1 and data_requests_expire() == 0
    assert DataRequest.objects.get(pk=pending["id"]).status == "expired"
    assert grants_expire() == 1 and grants_expire() == 0
    grant = Grant.objects.get(pk=approved["grant"]["id"])
    assert grant.status == "expired" and grant.wrapped_key is None
    assert AuditEntry.objects.filter(action="data_request.expired").count() == 1
    assert AuditEntry.objects.filter(action="grant.expired").count() == 1


def test_an_officer_sees_the_impact_aggregate_only(captured, submit, api_as, olivia, rita):
    request = submit()
    impact = api_as(olivia).get(f"{API}/requests/{request['id']}/impact").json()
    assert impact == {"subjects": 6, "events": 24, "minimum": 5, "subjects_text": "6"}
    assert api_as(rita).get(f"{API}/requests/{request['id']}/impact").status_code == 403


def test_fewer_than_five_subjects_show_as_fewer_than_five(capture, employees, submit, api_as, olivia):
    from tests.access.conftest import mouse_session

    for employee in employees[:3]:
        capture(employee, mouse_session(60))
    request = submit()
    impact = api_as(olivia).get(f"{API}/requests/{request['id']}/impact").json()
    assert impact == {"subjects": None, "events": None, "minimum": 5, "subjects_text": "fewer than 5"}
