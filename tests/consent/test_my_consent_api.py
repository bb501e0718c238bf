"""The employee's own consent through the API: grants, withdrawals, exclusions, history, erasure, accesses."""

import random
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from audit.models import AuditEntry
from audit.services import audit_record
from consent.models import ConsentEvent, ConsentReceipt, ConsentState
from consent.services import consent_grant, consent_set_exclusions, consent_withdraw, subject_for_employee
from consent.state import derive
from erasure.models import ErasureRequest
from erasure.services import consent_withdraw_with_erasure

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_an_employee_opts_in_and_gets_a_receipt(api_as, alice, notice, allowlist):
    response = api_as(alice).post(
        "/api/v1/consent/me/grants", {"categories": ["mouse", "clicks"], "notice_version": 1}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "granted" and body["categories"] == ["clicks", "mouse"] and body["epoch"] == 1
    assert body["channel"] == "api" and body["notice_version"] == 1
    assert ConsentReceipt.objects.get(pk=body["receipt_id"]).event_id.hex == body["id"].replace("-", "")

    me = api_as(alice).get("/api/v1/consent/me").json()
    assert me["subject"] == subject_for_employee(alice).pseudonym and me["subject"].startswith("sub_")
    assert sorted(me["granted"]) == ["clicks", "mouse"] and me["epoch"] == 1 and me["current_notice_version"] == 1


def test_defaults_are_off(api_as, alice, notice):
    me = api_as(alice).get("/api/v1/consent/me").json()
    assert me["granted"] == {} and me["epoch"] == 0 and me["subject"] is None


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        (
            "/api/v1/consent/me/grants",
            {"categories": ["keystrokes"], "notice_version": 1},
            400,
            "category_not_in_notice",
        ),
        ("/api/v1/consent/me/grants", {"categories": ["telepathy"], "notice_version": 1}, 400, "unknown_category"),
        ("/api/v1/consent/me/grants", {"categories": ["mouse"], "notice_version": 9}, 400, "unknown_notice_version"),
        ("/api/v1/consent/me/grants", {"categories": [], "notice_version": 1}, 400, "invalid"),
        ("/api/v1/consent/me/withdrawals", {"categories": ["mouse"]}, 400, "not_granted"),
        ("/api/v1/consent/me/withdrawals", {}, 400, "nothing_to_withdraw"),
    ],
)
def test_bad_consent_changes_are_refused_with_nothing_written(api_as, alice, olivia, path, body, status, code):
    from consent.services import notice_create, notice_publish, retention_set

    retention_set(actor=olivia, rules={"mouse": 30, "clicks": 30})
    notice_publish(
        actor=olivia,
        notice=notice_create(
            actor=olivia,
            title="t",
            summary="s",
            purposes=[{"id": "p", "description": "d"}],
            categories=["mouse", "clicks"],
            access="a",
            rights="r",
            contact="c",
        ),
    )
    response = api_as(alice).post(path, body, format="json")
    assert response.status_code == status and response.json()["error"] == code
    assert not ConsentEvent.objects.exists() and not ConsentReceipt.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="consent.").exists()


def test_withdrawal_takes_one_call_and_can_ask_for_erasure(api_as, alice, notice, allowlist, settings):
    settings.ERASURE_DUE_DAYS = 14
    consent_grant(employee=alice, categories=["mouse", "keystrokes"], notice_version=1)
    with time_machine.travel(T0, tick=False):
        response = api_as(alice).post("/api/v1/consent/me/withdrawals", {"erase": True}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "withdrawn" and body["categories"] == ["keystrokes", "mouse"] and body["erasure_requested"]
    assert body["receipt_id"]

    erasure = ErasureRequest.objects.get()
    # Withdrawing everything asks to erase everything (an empty list means every category).
    assert erasure.reason == "withdrawal" and erasure.status == "pending" and erasure.categories == []
    assert erasure.requested_at == T0 and erasure.due_at == T0 + timedelta(days=14)
    assert str(erasure.event_id) == body["id"]
    me = api_as(alice).get("/api/v1/consent/me").json()
    assert me["granted"] == {} and me["epoch"] == 2
    assert [r["id"] for r in me["erasure_requests"]] == [str(erasure.id)]


def test_withdrawing_one_category_keeps_the_others(api_as, alice, notice, allowlist):
    consent_grant(employee=alice, categories=["mouse", "clicks"], notice_version=1)
    response = api_as(alice).post("/api/v1/consent/me/withdrawals", {"categories": ["mouse"]}, format="json")
    assert response.status_code == 201 and not response.json()["erasure_requested"]
    assert sorted(api_as(alice).get("/api/v1/consent/me").json()["granted"]) == ["clicks"]
    assert not ErasureRequest.objects.exists()


def test_an_employee_excludes_applications(api_as, alice, notice, allowlist):
    response = api_as(alice).put(
        "/api/v1/consent/me/exclusions", {"excluded_apps": ["org.mozilla.firefox", "com.other"]}, format="json"
    )
    assert response.status_code == 200 and response.json()["excluded_apps"] == ["com.other", "org.mozilla.firefox"]
    assert response.json()["receipt_id"] is None
    bad = api_as(alice).put("/api/v1/consent/me/exclusions", {"excluded_apps": [" "]}, format="json")
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_app_id"
    assert ConsentState.objects.get(subject=subject_for_employee(alice)).excluded_apps == [
        "com.other",
        "org.mozilla.firefox",
    ]


def test_history_lists_every_change_newest_first(api_as, alice, notice, allowlist):
    with time_machine.travel(T0, tick=False):
        consent_grant(employee=alice, categories=["mouse"], notice_version=1)
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        consent_set_exclusions(employee=alice, excluded_apps=["org.mozilla.firefox"])
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        consent_withdraw(employee=alice)
    history = api_as(alice).get("/api/v1/consent/me/history").json()
    assert [(e["kind"], e["epoch"]) for e in history] == [("withdrawn", 3), ("exclusions_changed", 2), ("granted", 1)]
    assert history[2]["created_at"] == "2026-11-02T09:00:00Z"
    assert [bool(e["receipt_id"]) for e in history] == [True, False, True]


def test_the_derived_state_matches_a_long_random_history(alice, notice, allowlist):
    rng = random.Random(1234)
    categories = ["app_focus", "clicks", "keystroke_timing", "keystrokes", "mouse"]
    apps = ["com.microsoft.VSCode", "org.mozilla.firefox", "com.other"]
    expected: dict[str, bool] = {}
    for step in range(150):
        with time_machine.travel(T0 + timedelta(minutes=step), tick=False):
            held = [c for c, on in expected.items() if on]
            roll = rng.random()
            if roll < 0.5:
                chosen = rng.sample(categories, rng.randint(1, 3))
                consent_grant(employee=alice, categories=chosen, notice_version=1)
                expected.update({c: True for c in chosen})
            elif roll < 0.8 and held:
                chosen = rng.sample(held, rng.randint(1, len(held)))
                consent_withdraw(employee=alice, categories=chosen)
                expected.update({c: False for c in chosen})
            else:
                consent_set_exclusions(employee=alice, excluded_apps=rng.sample(apps, rng.randint(0, 2)))
    subject = subject_for_employee(alice)
    state = ConsentState.objects.get(subject=subject)
    events = list(ConsentEvent.objects.filter(subject=subject).select_related("notice").order_by("epoch"))
    derived = derive(events)
    assert state.epoch == len(events) == 150
    assert [e.epoch for e in events] == list(range(1, 151))
    assert derived.granted == state.granted and derived.excluded_apps == state.excluded_apps
    assert sorted(state.granted) == sorted(c for c, on in expected.items() if on)
    # "since" is the start of continuous consent: the first grant after the last withdrawal
    for category, held in state.granted.items():
        last_withdrawal = max(
            (e.epoch for e in events if e.kind == "withdrawn" and category in e.categories), default=0
        )
        first_grant = min(
            (e for e in events if e.kind == "granted" and category in e.categories and e.epoch > last_withdrawal),
            key=lambda e: e.epoch,
        )
        assert held["since"] == first_grant.created_at.isoformat()


def test_every_change_moves_the_epoch_and_is_audited_under_the_pseudonym(alice, notice, allowlist):
    consent_grant(employee=alice, categories=["mouse"], notice_version=1)
    consent_set_exclusions(employee=alice, excluded_apps=["x.y"])
    consent_withdraw_with_erasure(employee=alice)
    entries = list(AuditEntry.objects.filter(action__startswith="consent.").order_by("seq"))
    assert [(e.action, e.detail["epoch"]) for e in entries] == [
        ("consent.granted", 1),
        ("consent.exclusions_changed", 2),
        ("consent.withdrawn", 3),
    ]
    # The erasure request the withdrawal asked for is linked from its own entry, by the event.
    requested = AuditEntry.objects.get(action="erasure.requested")
    assert all("alice" not in e.leaf for e in [*entries, requested])
    erasure = ErasureRequest.objects.get()
    assert requested.detail["erasure_request_id"] == str(erasure.id)
    assert requested.detail["event_id"] == entries[2].detail["event_id"] == str(erasure.event_id)


@pytest.mark.parametrize("who", ["olivia", "rita", "aaron", "adam"])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/consent/me"),
        ("get", "/api/v1/consent/me/history"),
        ("get", "/api/v1/consent/me/receipts"),
        ("post", "/api/v1/consent/me/grants"),
        ("post", "/api/v1/consent/me/withdrawals"),
        ("put", "/api/v1/consent/me/exclusions"),
        ("get", "/api/v1/consent/me/accesses"),
        ("post", "/api/v1/consent/me/erasure-requests"),
    ],
)
def test_only_employees_have_a_consent_of_their_own(api_as, request, who, method, path, notice):
    response = getattr(api_as(request.getfixturevalue(who)), method)(path, {}, format="json")
    assert response.status_code == 403 and response.json()["error"] == "permission_denied"


def test_an_employee_asks_for_erasure_without_withdrawing(api_as, alice, notice, allowlist):
    consent_grant(employee=alice, categories=["mouse"], notice_version=1)
    response = api_as(alice).post("/api/v1/consent/me/erasure-requests", {}, format="json")
    assert (
        response.status_code == 201
        and response.json()["reason"] == "employee_request"
        and response.json()["categories"] == []
    )
    assert sorted(api_as(alice).get("/api/v1/consent/me").json()["granted"]) == ["mouse"]
    assert AuditEntry.objects.filter(action="erasure.requested").count() == 1


def test_employees_see_who_accessed_data_about_them_and_nobody_else_does(api_as, alice, bob, notice, allowlist):
    consent_grant(employee=alice, categories=["mouse"], notice_version=1)
    pseudonym = subject_for_employee(alice).pseudonym
    audit_record(actor="user:rita", action="dataset.exported", target=f"subject:{pseudonym}", detail={"grant": 7})
    audit_record(actor="user:rita", action="dataset.exported", target="subject:sub_someone_else", detail={})
    api_as(alice).post("/api/v1/consent/me/erasure-requests", {}, format="json")  # her own action: not an access
    accesses = api_as(alice).get("/api/v1/consent/me/accesses").json()
    assert [(a["actor"], a["action"], a["action_label"], a["detail"]) for a in accesses] == [
        ("user:rita", "dataset.exported", "Dataset exported", {"grant": 7})
    ]
    assert api_as(bob).get("/api/v1/consent/me/accesses").json() == []


def test_the_database_refuses_to_edit_consent_history(alice, notice, allowlist):
    from django.db import DatabaseError, transaction

    event = consent_grant(employee=alice, categories=["mouse"], notice_version=1)
    for query in (
        ConsentEvent.objects.filter(pk=event.pk),
        ConsentReceipt.objects.filter(event=event),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            query.update(created_at=T0) if query.model is ConsentEvent else query.update(jws="forged")
    assert ConsentEvent.objects.get(pk=event.pk).created_at == event.created_at
