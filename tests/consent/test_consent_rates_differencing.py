"""The differencing attack: look at the consent rates, change one account, look again, subtract.

With exact figures computed on demand (what ``consent_stats_for_officer``
served before the releases) the subtraction is the victim's choices.  With
scheduled, noised releases, looking again in the same period shows the same
release, and over many simulated pairs of consecutive releases an attacker
guesses the victim's choice no better than chance, within the ``e^eps``
bound that differential privacy promises.
"""

import datetime as dt
import math
import random

import pytest
import time_machine

from accounts.models import User
from accounts.services import user_set_active, user_set_roles
from consent import noise
from consent.models import DataCategory
from consent.services import consent_grant
from consent.stats import OVERALL, exact_counts, noised_figures
from consent.tasks import release_consent_rates_task
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

DAY1 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
DAY2 = DAY1 + dt.timedelta(days=1)
SCENARIOS = ["deactivate", "move department", "change role", "join"]
VICTIM = {"mouse", "clicks"}  # the person the attacker targets
TWIN = {"clicks"}  # the same but for mouse: the attacker must tell the two apart
TRIALS = 1500


def organisation():
    """Engineering 8 and Sales 8 with seeded, varied choices."""
    rng = random.Random(11)
    for department in ("Engineering", "Sales"):
        for i in range(8):
            person = make_user(f"{department.lower()}{i}", "employee", department=department)
            chosen = [c for c in DataCategory.values if rng.random() < 0.5]
            if chosen:
                consent_grant(employee=person, categories=chosen, notice_version=1)


def join(username, choices):
    person = make_user(username, "employee", department="Engineering")
    consent_grant(employee=person, categories=sorted(choices), notice_version=1)
    return person


def change(scenario, person, adam):
    """The attacker's one change to ``person``'s account."""
    if scenario == "deactivate":
        user_set_active(actor=adam, user=person, active=False)
    elif scenario == "move department":
        User.objects.filter(pk=person.pk).update(department="Sales")
    elif scenario == "change role":
        user_set_roles(actor=adam, user=person, roles=["requester"])


def undo(scenario, person, adam):
    if scenario == "deactivate":
        user_set_active(actor=adam, user=person, active=True)
    elif scenario == "move department":
        User.objects.filter(pk=person.pk).update(department="Engineering")
    elif scenario == "change role":
        user_set_roles(actor=adam, user=person, roles=["employee"])
    elif scenario == "join":  # leaving undoes joining, as far as the counts go
        user_set_active(actor=adam, user=person, active=False)


def as_figures(counts):
    overall, departments = counts
    return {
        "overall": {"name": overall.name, "suppressed": False, "granted": overall.granted},
        "departments": [{"name": d.name, "suppressed": False, "granted": d.granted} for d in departments],
    }


def differences(scenario, before, after, category):
    """The attacker's subtractions for ``category``, signed so that each is +1 per victim who opted in."""

    def cell(figures, name):
        group = figures["overall"] if name == OVERALL else next(g for g in figures["departments"] if g["name"] == name)
        return None if group["suppressed"] else group["granted"][category]

    if scenario == "join":
        before, after = after, before
    pairs = [(before, after, "Engineering")]
    pairs.append((after, before, "Sales") if scenario == "move department" else (before, after, OVERALL))
    out = []
    for first, second, name in pairs:
        a, b = cell(first, name), cell(second, name)
        out.append(None if a is None or b is None else a - b)
    return out


def guess_mouse(scenario, before, after, rng):
    seen = [d for d in differences(scenario, before, after, "mouse") if d is not None]
    return sum(seen) / len(seen) > 0.5 if seen else rng.random() < 0.5


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_exact_figures_give_the_victim_away_and_releases_do_not(scenario, api_as, olivia, adam, notice, monkeypatch):
    monkeypatch.setattr(noise, "system_rng", lambda: random.Random(2026))  # the release's noise, reproducible
    organisation()
    victim = None if scenario == "join" else join("victim", VICTIM)
    client = api_as(olivia)
    with time_machine.travel(DAY1, tick=False):
        exact_before = as_figures(exact_counts())
        release_consent_rates_task.apply()
        seen_before = client.get("/api/v1/consent/stats").json()
    with time_machine.travel(DAY1 + dt.timedelta(hours=1), tick=False):
        if scenario == "join":
            victim = join("victim", VICTIM)
        change(scenario, victim, adam)
        exact_after = as_figures(exact_counts())
        # Looking again in the same period: the very same release, nothing to subtract.
        assert client.get("/api/v1/consent/stats").json() == seen_before

    # On demand and exact, the subtraction is the victim's choices, category by category.
    recovered = {c for c in DataCategory.values if differences(scenario, exact_before, exact_after, c) == [1, 1]}
    assert recovered == VICTIM
    assert all(
        differences(scenario, exact_before, exact_after, c) == [0, 0] for c in DataCategory.values if c not in VICTIM
    )

    with time_machine.travel(DAY2, tick=False):
        release_consent_rates_task.apply()
        seen_after = client.get("/api/v1/consent/stats").json()
    assert seen_after["release"]["id"] != seen_before["release"]["id"]

    def released(body):
        return {
            "overall": {
                "name": OVERALL,
                "suppressed": body["overall"]["suppressed"],
                "granted": cells(body["overall"]),
            },
            "departments": [
                {"name": d["name"], "suppressed": d["suppressed"], "granted": cells(d)} for d in body["departments"]
            ],
        }

    def cells(group):
        return {c: (v or {}).get("granted") for c, v in (group["categories"] or {}).items()}

    from_releases = {
        c: differences(scenario, released(seen_before), released(seen_after), c) for c in DataCategory.values
    }
    assert from_releases != {c: [int(c in VICTIM)] * 2 for c in DataCategory.values}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_over_many_releases_the_attacker_guesses_near_chance_within_the_dp_bound(scenario, adam, notice, settings):
    organisation()
    # Two worlds that differ only in whether the person changed opted in to mouse.
    if scenario == "join":
        before = exact_counts()
        person = join("victim", VICTIM)
        after_yes = exact_counts()
        undo(scenario, person, adam)
        join("twin", TWIN)
        after_no = exact_counts()
    else:
        person, twin = join("victim", VICTIM), join("twin", TWIN)
        before = exact_counts()
        change(scenario, person, adam)
        after_yes = exact_counts()
        undo(scenario, person, adam)
        change(scenario, twin, adam)
        after_no = exact_counts()

    rng = random.Random(7)
    epsilon = settings.CONSENT_RATES_EPSILON
    exact_right = noised_right = 0
    for after, truth in ((after_yes, True), (after_no, False)):
        exact_right += guess_mouse(scenario, as_figures(before), as_figures(after), rng) == truth
        for _ in range(TRIALS):
            first = noised_figures(*before, epsilon=epsilon, min_group=5, rng=rng)
            second = noised_figures(*after, epsilon=epsilon, min_group=5, rng=rng)
            noised_right += guess_mouse(scenario, first, second, rng) == truth

    accuracy = noised_right / (2 * TRIALS)
    assert exact_right == 2  # exact figures: right in both worlds, every time
    assert accuracy <= math.exp(epsilon) / (1 + math.exp(epsilon))  # 0.731 at eps = 1
    assert abs(accuracy - 0.5) < 0.04, accuracy  # in fact near chance: 3 standard errors is 0.027
