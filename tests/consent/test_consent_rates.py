"""Officers see consent rates only as scheduled, noised releases: aggregates, small groups suppressed, no differencing."""

import datetime as dt
import io
import json
import math
import random

import pytest
import time_machine
from django.contrib import admin
from django.core.management import call_command

from accounts.services import user_set_active
from audit.models import AuditEntry
from consent.models import ConsentEvent, ConsentRatesRelease, ConsentReceipt, ConsentState, Subject
from consent.services import consent_grant, subject_for_employee
from consent.stats import consent_rates_release_make, noised_figures
from consent.tasks import release_consent_rates_task
from erasure.models import ErasureRequest

pytestmark = pytest.mark.django_db

DAY1 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
DAY2 = DAY1 + dt.timedelta(days=1)
CATEGORIES = ["app_focus", "clicks", "keystroke_timing", "keystrokes", "mouse"]


class NoNoise:
    """A uniform source whose geometric draws are all 0: the release then holds the exact counts."""

    def random(self) -> float:
        return 0.0


def grant(people, categories):
    for person in people:
        consent_grant(employee=person, categories=categories, notice_version=1)


def by_name(body):
    return {d["name"]: d for d in body["departments"]}


def release(rng=None, at=DAY1):
    with time_machine.travel(at, tick=False):
        return consent_rates_release_make(rng=rng or NoNoise())


def test_officers_see_the_latest_release_with_margins_small_groups_and_unanimous_cells_suppressed(
    api_as, olivia, employees, notice
):
    engineering, sales, legal = employees(6, "Engineering"), employees(5, "Sales"), employees(3, "Legal")
    grant(engineering[:3], ["mouse", "clicks"])
    grant(sales[:1], ["mouse"])
    grant(legal, ["keystrokes"])  # every Legal employee: must never show
    made = release()

    with time_machine.travel(DAY1 + dt.timedelta(hours=1), tick=False):
        body = api_as(olivia).get("/api/v1/consent/stats").json()
    assert body["release"]["id"] == str(made.id) and body["release"]["epsilon"] == 1.0
    assert body["release"]["sensitivity"] == 14  # 2 groups x (headcount + 5 categories + any)
    assert body["release"]["period_start"] == "2026-03-02T00:00:00Z"
    assert body["next_release_due"] == "2026-03-03T00:00:00Z" and body["confidence"] == 0.95
    engineering_row = by_name(body)["Engineering"]
    assert engineering_row["employees"] == 6 and engineering_row["label"] == "about 6"
    # 95% of two-sided geometric draws at scale 14/1 lie within 42 of the truth, so +-42/6 caps at 100 points.
    assert engineering_row["categories"]["mouse"] == {"suppressed": False, "granted": 3, "rate": 0.5, "margin": 1.0}
    # Nobody in Engineering chose keystrokes: "0%" would speak for each of them, so no number is shown.
    assert engineering_row["categories"]["keystrokes"] == {
        "suppressed": True,
        "granted": None,
        "rate": None,
        "margin": None,
    }
    assert by_name(body)["Sales"]["categories"]["mouse"]["granted"] == 1
    assert by_name(body)["Legal"] == {
        "name": "Legal",
        "label": "suppressed",
        "employees": None,
        "suppressed": True,
        "categories": None,
        "any": None,
    }
    assert body["overall"]["employees"] == 14 and body["overall"]["categories"]["keystrokes"]["granted"] == 3
    assert body["overall"]["categories"]["mouse"]["rate"] == round(4 / 14, 4)


def test_looking_again_after_an_account_changes_shows_the_same_release_until_the_next_period(
    api_as, olivia, adam, employees, notice
):
    people = employees(6, "Engineering")
    grant(people[:3], ["mouse"])
    release(rng=random.Random(1))
    with time_machine.travel(DAY1 + dt.timedelta(hours=2), tick=False):
        before = api_as(olivia).get("/api/v1/consent/stats").json()
        user_set_active(actor=adam, user=people[0], active=False)
        grant(people[3:], ["keystrokes"])
        after = api_as(olivia).get("/api/v1/consent/stats").json()
        assert release_consent_rates_task.apply().get() is None  # same period: nothing new
    assert after == before and ConsentRatesRelease.objects.count() == 1

    with time_machine.travel(DAY2, tick=False):
        made = release_consent_rates_task.apply().get()
        later = api_as(olivia).get("/api/v1/consent/stats").json()
    assert made is not None and later["release"]["id"] == made != before["release"]["id"]
    assert ConsentRatesRelease.objects.count() == 2


def test_a_release_is_made_once_per_period_and_audited_with_counts_only(employees, notice):
    people = employees(5, "Engineering")
    grant(people[:2], ["mouse"])
    with time_machine.travel(DAY1, tick=False):
        first = release_consent_rates_task.apply().get()
        assert release_consent_rates_task.apply().get() is None
    with time_machine.travel(DAY1.replace(hour=23, minute=59), tick=False):
        assert release_consent_rates_task.apply().get() is None

    entries = list(AuditEntry.objects.filter(action="consent.rates_released"))
    assert [e.target for e in entries] == [f"consent_rates_release:{first}"]
    assert entries[0].actor == "system:consent-rates"
    assert set(entries[0].detail) == {"period_start", "epsilon", "groups", "suppressed_groups", "suppressed_cells"}
    assert entries[0].detail["groups"] == 2 and entries[0].detail["period_start"] == "2026-03-02T00:00:00+00:00"
    text = json.dumps(entries[0].detail)
    assert "Engineering" not in text and not any(p.username in text for p in people)


def test_the_release_interval_setting_sets_the_period(settings, employees, notice):
    settings.CONSENT_RATES_RELEASE_HOURS = 6
    employees(5, "Engineering")
    with time_machine.travel(DAY1, tick=False):  # 09:30: the period 06:00-12:00
        made = consent_rates_release_make()
    assert (made.period_start.hour, made.period_end.hour) == (6, 12)
    with time_machine.travel(DAY1.replace(hour=12), tick=False):
        assert consent_rates_release_make() is not None


def test_the_release_spends_the_configured_epsilon(settings, api_as, olivia, employees, notice):
    settings.CONSENT_RATES_EPSILON = 2.0
    employees(5, "Engineering")
    release()
    body = api_as(olivia).get("/api/v1/consent/stats").json()
    # Scale 14 / 2 = 7: P(|Z| > t) = 2 a^(t+1) / (1 + a) with a = e^(-1/7) first drops under 5% at t = 21.
    assert body["release"]["epsilon"] == 2.0 and ConsentRatesRelease.objects.get().halfwidth_95 == 21


def test_before_the_first_release_officers_see_no_figures_and_when_they_are_due(api_as, portal_as, olivia, employees):
    employees(6, "Engineering")
    with time_machine.travel(DAY1, tick=False):
        body = api_as(olivia).get("/api/v1/consent/stats").json()
        page = portal_as(olivia).get("/officer").content.decode()
    assert body["release"] is None and body["overall"] is None and body["departments"] == []
    assert body["next_release_due"] == "2026-03-02T00:00:00Z"  # due now: the next beat makes it
    assert "No consent rates have been released yet" in page and not ConsentRatesRelease.objects.exists()


def test_the_aggregates_name_nobody(api_as, olivia, employees, alice, notice):
    people = employees(5, "Engineering")
    grant(people + [alice], ["mouse"])
    release(rng=random.Random(3))
    text = json.dumps(api_as(olivia).get("/api/v1/consent/stats").json())
    text += json.dumps(ConsentRatesRelease.objects.get().figures)
    for person in [*people, alice]:
        assert person.username not in text
        assert subject_for_employee(person).pseudonym not in text


@pytest.mark.parametrize("who", ["alice", "rita", "aaron", "adam"])
def test_only_officers_see_consent_rates(api_as, portal_as, request, who, notice):
    user = request.getfixturevalue(who)
    response = api_as(user).get("/api/v1/consent/stats")
    assert response.status_code == 403 and response.json()["error"] == "permission_denied"
    assert portal_as(user).get("/officer").status_code == 403
    assert not ConsentRatesRelease.objects.exists()


@pytest.mark.parametrize("who", ["olivia", "adam", "aaron"])
def test_officers_admins_and_auditors_cannot_read_an_individuals_consent(
    api_as, request, who, alice, notice, allowlist
):
    event = consent_grant(employee=alice, categories=["mouse"], notice_version=1)
    client = api_as(request.getfixturevalue(who))
    for path in ("/api/v1/consent/me", "/api/v1/consent/me/history", f"/api/v1/consent/me/receipts/{event.receipt.id}"):
        assert client.get(path).status_code == 403


def test_consent_records_are_not_in_the_django_admin():
    for model in (Subject, ConsentEvent, ConsentState, ConsentReceipt, ErasureRequest, ConsentRatesRelease):
        assert not admin.site.is_registered(model)


def test_the_officer_console_shows_the_release_its_uncertainty_and_why(portal_as, olivia, employees, notice):
    grant(employees(5, "Engineering")[:2], ["mouse"])
    grant(employees(2, "Legal"), ["mouse"])
    release()
    with time_machine.travel(DAY1 + dt.timedelta(hours=3), tick=False):
        page = portal_as(olivia).get("/officer")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Released 2 Mar 2026, 09:30 UTC" in text and "next release due 3 Mar 2026, 00:00 UTC" in text
    assert "&epsilon; = 1.0" in text
    assert "40% <span" in text and "&plusmn;&nbsp;100&nbsp;pts" in text  # 2 of 5, with its 95% margin
    assert "Legal</td>\n      <td>suppressed" in text
    assert "Why these figures are approximate" in text and "released on a fixed" in text


def test_seed_demo_makes_one_release_so_the_console_has_figures(settings, olivia):
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    made = ConsentRatesRelease.objects.get()
    # The figures are noised with the system's randomness: what is certain is their shape.
    assert made.figures["overall"]["name"] == "All employees"
    assert [d["name"] for d in made.figures["departments"]] == ["Design", "Engineering", "Legal", "Sales", "Support"]


def test_consent_rates_are_refused_to_anyone_but_officers_by_the_service_itself(alice, aaron):
    from config.errors import NotPermitted
    from consent.stats import consent_stats_for_officer

    for user in (alice, aaron):
        with pytest.raises(NotPermitted) as denied:
            consent_stats_for_officer(actor=user)
        assert denied.value.code == "permission_denied"


def test_noised_headcounts_decide_suppression_and_counts_are_clamped_into_the_headcount():
    from consent.stats import GroupCounts

    alpha = math.exp(-1 / 14)

    class Draws:
        """Uniform values whose geometric draws make the given noise, one per count in the release's order."""

        def __init__(self, noises):
            # floor(ln(1 - u) / ln a) == g when 1 - u == a^(g + 0.5); z = g1 - g2 with one of them 0.
            self.values = [1 - alpha ** (g + 0.5) for z in noises for g in (max(z, 0), max(-z, 0))]

        def random(self):
            return self.values.pop(0)

    group = GroupCounts(name="Sales", employees=6, granted=dict.fromkeys(CATEGORIES, 3), any_granted=3)
    # Headcount 6 -> 4: under 5, so the whole group is suppressed though its true size is 6.
    figures = noised_figures(group, [], epsilon=1.0, min_group=5, rng=Draws([-2, 0, 0, 0, 0, 0, 0]))
    assert figures["overall"] == {
        "name": "Sales",
        "suppressed": True,
        "employees": None,
        "granted": None,
        "any_granted": None,
    }
    # Order: headcount, keystrokes, keystroke_timing, mouse, clicks, app_focus, any.
    # Headcount 6 -> 7; keystrokes 3 -> 9 clamps to 7, which would read "everyone": suppressed;
    # keystroke timing 3 -> -1 clamps to 0, "no one": suppressed too.
    figures = noised_figures(group, [], epsilon=1.0, min_group=5, rng=Draws([1, 6, -4, 0, 2, 0, -1]))
    assert figures["overall"] == {
        "name": "Sales",
        "suppressed": False,
        "employees": 7,
        "granted": {"keystrokes": None, "keystroke_timing": None, "mouse": 3, "clicks": 5, "app_focus": 3},
        "any_granted": 2,
    }


def test_a_worker_that_loses_the_race_for_a_period_makes_nothing_and_audits_nothing(employees, notice, monkeypatch):
    import consent.stats

    employees(5, "Engineering")
    real_exact_counts = consent.stats.exact_counts

    def rival_wins_meanwhile():
        # Another worker commits this period's release after our existence check.
        ConsentRatesRelease.objects.create(
            period_start=DAY1.replace(hour=0, minute=0),
            period_end=DAY2.replace(hour=0, minute=0),
            created_at=DAY1,
            epsilon=1.0,
            sensitivity=14,
            min_group=5,
            halfwidth_95=42,
            figures={},
        )
        return real_exact_counts()

    with time_machine.travel(DAY1, tick=False):
        monkeypatch.setattr(consent.stats, "exact_counts", rival_wins_meanwhile)
        monkeypatch.setattr(
            consent.stats.ConsentRatesRelease.objects, "filter", lambda **kw: ConsentRatesRelease.objects.none()
        )
        assert consent_rates_release_make(rng=NoNoise()) is None
    assert ConsentRatesRelease.objects.count() == 1
    assert not AuditEntry.objects.filter(action="consent.rates_released").exists()


@pytest.mark.parametrize("value", ["abc", "0", "-1", "nan", "inf", "11"])
def test_the_service_refuses_to_start_with_an_unusable_epsilon(value, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--settings=config.settings.test"],
        cwd=Path(__file__).resolve().parents[2],
        env={**env, "CONSENT_RATES_EPSILON": value, "VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0 and "CONSENT_RATES_EPSILON must be a number in (0, 10]." in result.stderr


def test_the_console_charts_released_rates_over_time(portal_as, olivia, notice, allowlist, time_machine):
    from datetime import UTC, datetime, timedelta

    from consent.stats import consent_rates_history_for_officer, consent_rates_release_make

    start = datetime(2026, 9, 1, tzinfo=UTC)
    for day in range(3):
        time_machine.move_to(start + timedelta(days=day, hours=1), tick=False)
        consent_rates_release_make()

    history = consent_rates_history_for_officer(actor=olivia)
    assert len(history.released) == 3 and history.released == sorted(history.released)
    assert set(history.rates) == {"keystrokes", "keystroke_timing", "mouse", "clicks", "app_focus"}
    page = portal_as(olivia).get("/officer").content.decode()
    assert "Consent rate per category, all employees, last 3 releases" in page
    assert '<th scope="row">01 Sep</th>' in page and '<th scope="row">03 Sep</th>' in page
