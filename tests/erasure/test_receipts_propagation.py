"""Erasure propagates to datasets exported before it: their holder is told whom to delete, and only them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from erasure.services import erasure_request_create
from tests.access.conftest import (  # noqa: F401  (fixtures, registered by being named here)
    UNTIL,
    approve,
    capture,
    captured,
    employees,
    granted,
    submit,
)

API = "/api/v1/access"
pytestmark = pytest.mark.django_db


def export(api_as, rita, grant_id: str) -> None:
    response = api_as(rita).get(f"{API}/grants/{grant_id}/export")
    assert response.status_code == 200
    b"".join(response.streaming_content)


def departures(api_as, rita, grant_id: str) -> list[list[dict]]:
    listed = api_as(rita).get(f"{API}/grants/{grant_id}/withdrawals")
    assert listed.status_code == 200
    return [e["departures"] for e in listed.json()["exports"]]


def test_an_erasure_after_the_export_is_listed_even_when_an_earlier_request_predates_it(
    granted,  # noqa: F811  (the fixtures imported above)
    api_as,
    rita,
    employees,  # noqa: F811
    frozen,
):
    # A keystrokes-only request before the export must not hide the full erasure that follows it.
    erasure_request_create(employee=employees[2], categories=["keystrokes"])
    frozen.move_to(UNTIL + timedelta(minutes=1), tick=False)
    export(api_as, rita, granted["id"])
    frozen.move_to(UNTIL + timedelta(minutes=2), tick=False)
    erasure_request_create(employee=employees[2])
    (listed,) = departures(api_as, rita, granted["id"])
    assert [(d["reason"], d["since"]) for d in listed] == [("erasure_requested", "2026-06-01T14:02:00Z")]


def test_an_erasure_of_categories_the_export_did_not_hold_is_not_listed(
    granted,  # noqa: F811  (the fixtures imported above)
    api_as,
    rita,
    employees,  # noqa: F811
    frozen,
):
    export(api_as, rita, granted["id"])  # mouse and clicks only
    frozen.move_to(UNTIL + timedelta(minutes=1), tick=False)
    erasure_request_create(employee=employees[3], categories=["keystrokes"])
    assert departures(api_as, rita, granted["id"]) == [[]]
    erasure_request_create(employee=employees[3], categories=["clicks", "keystrokes"])
    assert [d["reason"] for d in departures(api_as, rita, granted["id"])[0]] == ["erasure_requested"]
