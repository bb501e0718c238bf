"""The data-access portal: the requester's "Data requests" console and the officers' review queue, per role."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command

from access.models import DataRequest, Grant, PropagationAck, Review
from audit.models import AuditEntry
from consent.services import consent_withdraw
from tests.access.conftest import BROWSER, EDITOR, UNTIL
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def form_body(**overrides) -> dict:
    body = {
        "categories": ["mouse", "clicks"],
        "apps": [EDITOR, BROWSER],
        "since": "2026-06-01T12:00",
        "until": "2026-06-01T14:00",
        "purpose": "agent-training",
        "justification": "Train the computer-use agent on pointer trajectories in editors.",
    }
    return {**body, **overrides}


def text_of(response) -> str:
    return response.content.decode()


# --- Who may open what ---------------------------------------------------------------------


@pytest.fixture
def pending(captured, submit):
    return submit()


def test_a_requester_goes_straight_to_data_requests_from_home(portal_as, rita):
    response = portal_as(rita).get("/")
    assert response.status_code == 302 and response["Location"] == "/requests/"


@pytest.mark.parametrize("path", ["/requests/", "/requests/new"])
def test_requester_pages_are_for_requesters_only(portal_as, client, path, rita, olivia, alice, aaron, adam, notice):
    assert portal_as(rita).get(path).status_code == 200
    for user in (olivia, alice, aaron, adam):
        assert portal_as(user).get(path).status_code == 403, user.username
    client.logout()
    anonymous = client.get(path)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login")


def test_officer_pages_are_for_officers_only(portal_as, client, granted, pending, olivia, rita, alice, aaron, adam):
    paths = [
        "/requests/review",
        f"/requests/review/{pending['id']}",
        "/requests/grants",
        f"/requests/grants/{granted['id']}/revoke",
    ]
    for path in paths:
        assert portal_as(olivia).get(path).status_code == 200, path
        for user in (rita, alice, aaron, adam):
            assert portal_as(user).get(path).status_code == 403, (path, user.username)
        client.logout()
        assert client.get(path).status_code == 302
    assert portal_as(rita).post(f"/requests/review/{pending['id']}", {"decision": "approve"}).status_code == 403
    assert portal_as(rita).post(f"/requests/grants/{granted['id']}/revoke", {"reason": "x" * 20}).status_code == 403
    assert not Review.objects.filter(request_id=pending["id"]).exists()
    assert Grant.objects.get(pk=granted["id"]).status == "active"


def test_another_requesters_grant_is_not_found(portal_as, granted):
    other = make_user("ravi", "requester")
    assert portal_as(other).get(f"/requests/grants/{granted['id']}/withdrawals").status_code == 404
    assert portal_as(other).post(f"/requests/grants/{granted['id']}/withdrawals/ack").status_code == 404
    assert not PropagationAck.objects.exists()
    assert str(granted["id"]) not in text_of(portal_as(other).get("/requests/"))


def test_unknown_requests_and_grants_are_not_found_for_officers(portal_as, olivia, notice):
    missing = "00000000-0000-0000-0000-000000000000"
    assert portal_as(olivia).get(f"/requests/review/{missing}").status_code == 404
    assert portal_as(olivia).get(f"/requests/grants/{missing}/revoke").status_code == 404


# --- The requester's console ---------------------------------------------------------------


def test_the_home_page_lists_requests_and_grants_in_plain_words(portal_as, granted, rita, api_as):
    page = text_of(portal_as(rita).get("/requests/"))
    for expected in (
        "Approved",  # status in words
        "Mouse movement",  # categories by label
        "Clicks and scrolling",
        "agent-training",
        "Train AI agents that operate computers.",  # the purpose's description
        "1 Jun 2026, 12:00 UTC",  # time range
        "1 Jun 2026, 14:00 UTC",
        "Approved by olivia",  # each decision, its officer and reason
        "Scope matches the stated purpose.",
        f"/api/v1/access/grants/{granted['id']}/export",  # the download link
        "Active",
    ):
        assert expected in page, expected
    assert ">mouse<" not in page and "No grants yet" not in page


def test_a_finished_export_links_its_signed_manifest(portal_as, granted, rita, api_as):
    response = api_as(rita).get(f"/api/v1/access/grants/{granted['id']}/export")
    b"".join(response.streaming_content)
    export_id = response["X-Export-Id"]
    page = text_of(portal_as(rita).get("/requests/"))
    assert f"/api/v1/access/exports/{export_id}/manifest" in page
    assert "6 subjects, 24 events" in page


def test_a_pending_keystroke_request_says_it_waits_for_two_officers(portal_as, captured, submit, rita):
    submit(categories=["keystrokes"], apps=[EDITOR])
    page = text_of(portal_as(rita).get("/requests/"))
    assert "Waiting for review" in page and "0 of 2 approvals" in page and "Keystrokes (the characters typed)" in page


def test_the_form_offers_the_allowlist_and_the_current_notices_purposes(portal_as, rita, notice, allowlist):
    page = text_of(portal_as(rita).get("/requests/new"))
    assert f'value="{EDITOR}"' in page and f'value="{BROWSER}"' in page
    assert 'value="agent-training"' in page and "Train AI agents that operate computers." in page
    assert 'name="categories" value="keystrokes"' in page


def test_a_requester_submits_a_request_on_the_form(portal_as, captured, rita):
    response = portal_as(rita).post("/requests/new", form_body())
    assert response.status_code == 302 and response["Location"] == "/requests/"
    request = DataRequest.objects.get()
    assert request.requester == rita and request.status == "pending"
    assert request.categories == ["clicks", "mouse"] and request.apps == sorted([EDITOR, BROWSER])
    assert request.since.isoformat() == "2026-06-01T12:00:00+00:00" and request.until == UNTIL
    assert request.purpose == "agent-training"
    assert "Request submitted" in text_of(portal_as(rita).get("/requests/"))


@pytest.mark.parametrize(
    ("overrides", "status", "message"),
    [
        ({"justification": "because"}, 400, "at least 20 characters"),
        ({"purpose": "advertising"}, 400, "not a purpose of the current notice"),
        ({"categories": []}, 400, "Name at least one data category."),
        ({"apps": ["com.example.Unknown"]}, 400, "Not on the application allowlist: com.example.Unknown."),
        ({"since": "2026-06-01T15:00"}, 400, "since must be before until."),
        ({"until": "2999-01-01T00:00"}, 400, "until must not be in the future"),
        ({"since": ""}, 400, "Give the start of the time range."),
        ({"until": "tomorrow"}, 400, "Give the end as a date and time."),
    ],
)
def test_a_refused_request_is_shown_on_the_form_and_nothing_is_written(
    portal_as, captured, rita, overrides, status, message
):
    response = portal_as(rita).post("/requests/new", form_body(**overrides))
    assert response.status_code == status
    page = text_of(response)
    assert message in page and "The request was not submitted" in page
    if "apps" not in overrides:
        assert f'value="{EDITOR}" checked' in page  # what was chosen is kept
    assert not DataRequest.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="data_request.").exists()


def test_a_requester_who_is_also_an_officer_sees_only_their_own_requests(portal_as, captured, submit, notice):
    submit()  # rita's
    both = make_user("rhea", "requester", "privacy_officer")
    page = text_of(portal_as(both).get("/requests/"))
    assert "You have not asked for a dataset yet." in page and "rita" not in page


# --- Withdrawals ---------------------------------------------------------------------------


def test_withdrawals_show_a_warning_until_acknowledged(portal_as, granted, rita, employees, api_as):
    b"".join(api_as(rita).get(f"/api/v1/access/grants/{granted['id']}/export").streaming_content)
    client = portal_as(rita)
    assert "People have left a dataset" not in text_of(client.get("/requests/"))

    consent_withdraw(employee=employees[0], categories=["mouse"])
    home = text_of(client.get("/requests/"))
    assert "People have left a dataset you downloaded." in home and "1 pseudonym in grant" in home
    listed = api_as(rita).get(f"/api/v1/access/grants/{granted['id']}/withdrawals").json()
    pseudonym = listed["exports"][0]["departures"][0]["subject"]
    page = text_of(client.get(f"/requests/grants/{granted['id']}/withdrawals"))
    assert pseudonym in page and "Withdrew consent" in page and "1 pseudonym not acknowledged yet." in page

    response = client.post(f"/requests/grants/{granted['id']}/withdrawals/ack")
    assert response.status_code == 302 and response["Location"] == f"/requests/grants/{granted['id']}/withdrawals"
    assert PropagationAck.objects.get().pseudonyms == 1
    assert AuditEntry.objects.filter(action="grant.withdrawals_acknowledged", actor="user:rita").count() == 1
    assert "People have left a dataset" not in text_of(client.get("/requests/"))
    assert "Everything listed was acknowledged" in text_of(client.get(f"/requests/grants/{granted['id']}/withdrawals"))


def test_withdrawals_of_an_ended_grant_cannot_be_listed(portal_as, granted, rita, olivia):
    portal_as(olivia).post(f"/requests/grants/{granted['id']}/revoke", {"reason": "The project was cancelled."})
    response = portal_as(rita).get(f"/requests/grants/{granted['id']}/withdrawals")
    assert response.status_code == 403 and "revoked" in text_of(response)
    assert "Download the dataset" not in text_of(portal_as(rita).get("/requests/"))


# --- The officers' review queue ------------------------------------------------------------


def test_the_officer_home_counts_pending_requests_and_links_the_queue(portal_as, captured, submit, olivia):
    submit()
    submit(categories=["keystrokes"], apps=[EDITOR])
    page = text_of(portal_as(olivia).get("/officer"))
    assert "2 requests waiting for review." in page and 'href="/requests/review"' in page


def test_the_queue_lists_pending_requests_oldest_first(portal_as, captured, submit, olivia, frozen):
    first = submit()
    frozen.shift(60)
    second = submit(categories=["keystrokes"], apps=[EDITOR])
    page = text_of(portal_as(olivia).get("/requests/review"))
    assert page.index(first["id"]) < page.index(second["id"])
    assert "needs two officers" in page and "rita" in page


def test_the_request_page_shows_everything_needed_to_decide(portal_as, pending, olivia):
    page = text_of(portal_as(olivia).get(f"/requests/review/{pending['id']}"))
    for expected in (
        "Mouse movement",
        "Clicks and scrolling",
        EDITOR,
        BROWSER,
        "from 1 Jun 2026, 12:00 UTC to 1 Jun 2026, 14:00 UTC",
        "agent-training: Train AI agents that operate computers.",
        "Train the computer-use agent on pointer trajectories in editors.",
        "Data request by rita",
        "Subjects: <strong>6</strong>; events: <strong>24</strong>",
        "Record my decision",
    ):
        assert expected in page, expected


def test_the_impact_of_fewer_than_five_subjects_is_not_counted(portal_as, capture, employees, submit, olivia):
    for employee in employees[:3]:
        capture(employee, [])
    request = submit()
    page = text_of(portal_as(olivia).get(f"/requests/review/{request['id']}"))
    assert "Subjects: <strong>fewer than 5</strong>." in page and "events:" not in page


def test_an_officer_approves_on_the_form_with_a_shorter_grant(portal_as, pending, olivia):
    body = {"decision": "approve", "reason": "Proportionate to the purpose.", "grant_days": "7"}
    response = portal_as(olivia).post(f"/requests/review/{pending['id']}", body)
    assert response.status_code == 302 and response["Location"] == "/requests/review"
    grant = Grant.objects.get(request_id=pending["id"])
    assert grant.status == "active" and grant.expires_at - grant.created_at == timedelta(days=7)
    review = Review.objects.get()
    assert (review.officer, review.decision, review.reason) == (olivia, "approve", "Proportionate to the purpose.")
    assert "Approved. The grant runs until" in text_of(portal_as(olivia).get("/requests/review"))


def test_an_officer_rejects_with_a_reason_the_requester_sees(portal_as, pending, olivia, rita):
    body = {"decision": "reject", "reason": "Clicks are not needed for this purpose."}
    assert portal_as(olivia).post(f"/requests/review/{pending['id']}", body).status_code == 302
    assert DataRequest.objects.get().status == "rejected" and not Grant.objects.exists()
    page = text_of(portal_as(rita).get("/requests/"))
    assert "Rejected by olivia" in page and "Clicks are not needed for this purpose." in page


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"decision": "approve", "reason": "ok"}, "Write a reason of at least 10 characters."),
        ({"reason": "Looks fine to me."}, "Choose approve or reject."),
        ({"decision": "reject", "reason": "Not needed at all.", "grant_days": "3"}, "only when approving"),
        ({"decision": "approve", "reason": "Looks fine to me.", "grant_days": "90"}, "between 1 and 30 days"),
    ],
)
def test_a_refused_decision_is_shown_on_the_form_and_nothing_is_written(portal_as, pending, olivia, body, message):
    response = portal_as(olivia).post(f"/requests/review/{pending['id']}", body)
    assert response.status_code == 400
    assert message in text_of(response) and "Not recorded" in text_of(response)
    assert not Review.objects.exists() and DataRequest.objects.get().status == "pending"


def test_keystrokes_need_two_officers_and_nobody_reviews_twice(portal_as, captured, submit, olivia, oscar):
    request = submit(categories=["keystrokes"], apps=[EDITOR])
    url = f"/requests/review/{request['id']}"
    body = {"decision": "approve", "reason": "Editor keystrokes are needed to train typing."}
    assert portal_as(olivia).post(url, body).status_code == 302
    assert DataRequest.objects.get().status == "pending" and not Grant.objects.exists()
    assert "a second officer must approve too" in text_of(portal_as(olivia).get("/requests/review"))

    page = text_of(portal_as(olivia).get(url))
    assert "You have reviewed this request already (approved" in page and "Record my decision" not in page
    again = portal_as(olivia).post(url, body)
    assert again.status_code == 409 and "another officer must" in text_of(again)
    assert Review.objects.count() == 1

    assert "1 of 2 approvals" in text_of(portal_as(oscar).get(url))
    assert portal_as(oscar).post(url, body).status_code == 302
    assert DataRequest.objects.get().status == "approved" and Grant.objects.count() == 1


def test_nobody_decides_their_own_request_even_holding_both_roles(portal_as, captured, api_as):
    both = make_user("rhea", "requester", "privacy_officer")
    request = (
        api_as(both)
        .post(
            "/api/v1/access/requests",
            form_body() | {"since": "2026-06-01T12:00:00Z", "until": "2026-06-01T14:00:00Z"},
            format="json",
        )
        .json()
    )
    url = f"/requests/review/{request['id']}"
    page = text_of(portal_as(both).get(url))
    assert "You asked for this dataset yourself" in page and "Record my decision" not in page
    refused = portal_as(both).post(url, {"decision": "approve", "reason": "Looks fine to me, really."})
    assert refused.status_code == 403 and "Nobody decides their own data request." in text_of(refused)
    assert not Review.objects.exists() and DataRequest.objects.get().status == "pending"


def test_a_decided_request_shows_its_outcome_without_the_form(portal_as, granted, olivia, oscar):
    request_id = Grant.objects.get().request_id
    page = text_of(portal_as(oscar).get(f"/requests/review/{request_id}"))
    assert "This request is approved; it cannot be decided." in page and "Record my decision" not in page
    assert "Approved by olivia" in page


# --- Grants and revocation -----------------------------------------------------------------


def test_an_officer_lists_grants_and_revokes_one_with_a_reason(portal_as, granted, olivia, rita):
    listed = text_of(portal_as(olivia).get("/requests/grants"))
    assert "rita" in listed and f"/requests/grants/{granted['id']}/revoke" in listed
    url = f"/requests/grants/{granted['id']}/revoke"
    assert "ends the grant and destroys its key now" in text_of(portal_as(olivia).get(url))

    short = portal_as(olivia).post(url, {"reason": "no"})
    assert short.status_code == 400 and "at least 10 characters" in text_of(short)
    assert Grant.objects.get().status == "active"

    response = portal_as(olivia).post(url, {"reason": "The project was cancelled."})
    assert response.status_code == 302 and response["Location"] == "/requests/grants"
    grant = Grant.objects.get()
    assert grant.status == "revoked" and grant.wrapped_key is None and grant.ended_by == olivia
    assert AuditEntry.objects.filter(action="grant.revoked", actor="user:olivia").count() == 1
    assert "The project was cancelled." in text_of(portal_as(olivia).get("/requests/grants"))
    again = portal_as(olivia).post(url, {"reason": "The project was cancelled."})
    assert again.status_code == 409 and "revoked already" in text_of(again)
    assert "Revoked" in text_of(portal_as(rita).get("/requests/"))


# --- Demo data -----------------------------------------------------------------------------


def test_seed_demo_gives_rita_a_grant_and_a_pending_keystroke_request_once(settings, _master_key):
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    grant = Grant.objects.get()
    assert grant.request.requester.username == "rita" and grant.status == "active"
    assert grant.request.categories == ["clicks", "mouse"]
    assert [r.officer.username for r in grant.request.reviews.all()] == ["olivia"]
    pending = DataRequest.objects.get(status="pending")
    assert pending.requester.username == "rita" and "keystrokes" in pending.categories
    assert pending.approvals_required == 2


def test_the_queue_charts_requests_and_exports_per_week(portal_as, granted, submit, rita, olivia, api_as):
    response = api_as(rita).get(f"/api/v1/access/grants/{granted['id']}/export")
    b"".join(response.streaming_content)
    submit(categories=["keystrokes"], apps=[EDITOR])

    page = text_of(portal_as(olivia).get("/requests/review"))

    assert "Data requests and exports per week, last 12 weeks" in page and 'role="img"' in page
    # This week (it starts on Monday 1 June): two requests, one approved, none refused, one export.
    assert '<th scope="row">01 Jun</th><td>2</td><td>1</td><td>0</td><td>1</td>' in page
    assert '<th scope="row">25 May</th><td>0</td><td>0</td><td>0</td><td>0</td>' in page


def test_activity_across_requesters_is_for_overseers_only(granted, rita):
    from access.selectors import weekly_activity_for_overseer
    from config.errors import NotPermitted

    with pytest.raises(NotPermitted):
        weekly_activity_for_overseer(actor=rita)
