"""Officers see consent rates in aggregate only; groups under five are suppressed and cannot be recovered by subtraction."""

import json

import pytest
from django.contrib import admin

from consent.models import ConsentEvent, ConsentReceipt, ConsentState, Subject
from consent.services import consent_grant, subject_for_employee
from erasure.models import ErasureRequest

pytestmark = pytest.mark.django_db


def grant(people, categories):
    for person in people:
        consent_grant(employee=person, categories=categories, notice_version=1)


def by_name(body):
    return {d["name"]: d for d in body["departments"]}


def test_rates_by_category_and_department_with_a_small_department_left_out_everywhere(
    api_as, olivia, employees, notice
):
    engineering, sales, legal = employees(6, "Engineering"), employees(5, "Sales"), employees(3, "Legal")
    grant(engineering[:3], ["mouse", "clicks"])
    grant(sales[:1], ["mouse"])
    grant(legal, ["keystrokes"])  # every Legal employee: must never show

    body = api_as(olivia).get("/api/v1/consent/stats").json()
    departments = by_name(body)
    assert departments["Engineering"]["employees"] == 6 and departments["Engineering"]["granted"]["mouse"] == 3
    assert departments["Engineering"]["rates"]["mouse"] == 0.5 and departments["Engineering"]["any_rate"] == 0.5
    assert departments["Sales"]["granted"] == {
        "app_focus": 0,
        "clicks": 0,
        "keystroke_timing": 0,
        "keystrokes": 0,
        "mouse": 1,
    }
    assert departments["Legal"] == {
        "name": "Legal",
        "label": "fewer than 5",
        "employees": None,
        "suppressed": True,
        "granted": None,
        "rates": None,
        "any_rate": None,
    }
    # Legal alone is too small to pool, so the overall figures cover Engineering and Sales only:
    # overall minus the departments shown reveals nothing.
    assert body["pooled_small"] is None and body["overall_excludes_small"] is True
    assert body["overall"]["employees"] == 11 and body["overall"]["granted"]["keystrokes"] == 0
    assert body["overall"]["granted"]["mouse"] == 4


def test_several_small_departments_are_pooled_when_the_pool_is_large_enough(api_as, olivia, employees, notice):
    employees(5, "Engineering")
    legal, design = employees(3, "Legal"), employees(2, "Design")
    grant(legal[:1] + design, ["mouse"])
    body = api_as(olivia).get("/api/v1/consent/stats").json()
    assert by_name(body)["Legal"]["suppressed"] and by_name(body)["Design"]["suppressed"]
    assert body["pooled_small"]["employees"] == 5 and body["pooled_small"]["granted"]["mouse"] == 3
    assert body["overall_excludes_small"] is False
    assert body["overall"]["employees"] == 10 and body["overall"]["granted"]["mouse"] == 3


def test_everything_is_suppressed_below_five_employees_in_all(api_as, olivia, alice, bob, notice):
    grant([alice], ["mouse"])
    body = api_as(olivia).get("/api/v1/consent/stats").json()
    assert body["overall"]["suppressed"] and body["overall"]["granted"] is None
    assert all(d["suppressed"] for d in body["departments"])


def test_the_aggregates_name_nobody(api_as, olivia, employees, alice, notice):
    people = employees(5, "Engineering")
    grant(people + [alice], ["mouse"])
    text = json.dumps(api_as(olivia).get("/api/v1/consent/stats").json())
    for person in [*people, alice]:
        assert person.username not in text
        assert subject_for_employee(person).pseudonym not in text


@pytest.mark.parametrize("who", ["alice", "rita", "aaron", "adam"])
def test_only_officers_see_consent_rates(api_as, portal_as, request, who, notice):
    user = request.getfixturevalue(who)
    assert api_as(user).get("/api/v1/consent/stats").status_code == 403
    assert portal_as(user).get("/officer").status_code == 403


@pytest.mark.parametrize("who", ["olivia", "adam", "aaron"])
def test_officers_admins_and_auditors_cannot_read_an_individuals_consent(
    api_as, request, who, alice, notice, allowlist
):
    event = consent_grant(employee=alice, categories=["mouse"], notice_version=1)
    client = api_as(request.getfixturevalue(who))
    for path in ("/api/v1/consent/me", "/api/v1/consent/me/history", f"/api/v1/consent/me/receipts/{event.receipt.id}"):
        assert client.get(path).status_code == 403


def test_consent_records_are_not_in_the_django_admin():
    for model in (Subject, ConsentEvent, ConsentState, ConsentReceipt, ErasureRequest):
        assert not admin.site.is_registered(model)


def test_the_officer_console_shows_rates_with_small_groups_hidden(portal_as, olivia, employees, notice):
    grant(employees(5, "Engineering")[:2], ["mouse"])
    grant(employees(2, "Legal"), ["mouse"])
    page = portal_as(olivia).get("/officer")
    assert page.status_code == 200
    text = page.content.decode()
    assert "fewer than 5" in text and "Legal" in text
    assert "40%" in text  # 2 of 5 Engineering employees opted in to mouse


@pytest.mark.django_db
def test_consent_rates_are_refused_to_anyone_but_officers_by_the_service_itself(alice, aaron):
    from config.errors import NotPermitted
    from consent.stats import consent_stats_for_officer

    for user in (alice, aaron):
        with pytest.raises(NotPermitted) as denied:
            consent_stats_for_officer(actor=user)
        assert denied.value.code == "permission_denied"
