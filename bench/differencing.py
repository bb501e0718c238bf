"""The differencing attack on consent rates: what an attacker learns with exact on-demand figures and with releases.

The attacker (an officer, or anyone who can change one account) looks at the
consent rates, changes one employee's account (deactivates them, moves them to
another department, takes away their employee role, or adds a new employee),
looks again, and subtracts.  With exact figures computed on demand, as
``consent.stats`` used to serve them, the difference *is* that employee's
choices.  With the scheduled releases the service now makes, the attacker
compares two consecutive releases, each noised by ``consent.stats.noised_figures``
at ``CONSENT_RATES_EPSILON``.

The organisation is the demo's (Engineering 14, Sales 9, Support 8, Design 6,
Legal 3, choices drawn like ``seed_demo``'s).  For each kind of change,
``DIFFERENCING_TRIALS`` (default 2,000) simulated pairs of releases per world
(victim opted in to ``mouse`` or not), from a seeded RNG, give:

* how often the attacker recovers the victim's whole choice vector exactly;
* how often the attacker guesses the ``mouse`` choice right, against the
  bound any attacker meets under ``eps``-DP with an even prior,
  ``e^eps / (1 + e^eps)`` (0.731 at eps = 1), and chance (0.5).

No database is needed: the counts are built in memory and noised by the
service's own function.
"""

from __future__ import annotations

import math
import os
import random

from bench import Figure, setup_django

DEPARTMENTS = {"Engineering": 14, "Sales": 9, "Support": 8, "Design": 6, "Legal": 3}
UPTAKE = {"app_focus": 0.7, "mouse": 0.6, "clicks": 0.6, "keystroke_timing": 0.45, "keystrokes": 0.2}
VICTIM_DEPARTMENT, OTHER_DEPARTMENT = "Engineering", "Sales"
SCENARIOS = ("deactivate", "move department", "change role", "join")


def _organisation(seed: int = 7) -> dict[str, list[set[str]]]:
    rng = random.Random(seed)
    org: dict[str, list[set[str]]] = {}
    for department, size in DEPARTMENTS.items():
        org[department] = []
        for _ in range(size):
            chosen = set() if rng.random() < 0.25 else {c for c, p in UPTAKE.items() if rng.random() < p}
            org[department].append(chosen)
    return org


def _counts(org: dict[str, list[set[str]]]):
    from consent.stats import OVERALL, group_counts

    everyone = [m for members in org.values() for m in members]
    return group_counts(OVERALL, everyone), [group_counts(n, m) for n, m in sorted(org.items()) if m]


def worlds(scenario: str, victim: set[str]) -> tuple[dict, dict]:
    """The organisation before and after the change, the victim (with ``victim``'s choices) in Engineering."""
    base = _organisation()
    with_victim = {d: [*m, victim] if d == VICTIM_DEPARTMENT else list(m) for d, m in base.items()}
    if scenario in ("deactivate", "change role"):  # either way they leave the employees counted
        return with_victim, base
    if scenario == "join":
        return base, with_victim
    if scenario == "move department":
        moved = {d: [*m, victim] if d == OTHER_DEPARTMENT else list(m) for d, m in base.items()}
        return with_victim, moved
    raise ValueError(scenario)


def _difference(scenario: str, before: dict, after: dict, category: str) -> list[int | None]:
    """The attacker's subtraction for ``category``: every count that moves by the victim's choice, signed."""

    def cell(figures: dict, name: str) -> int | None:
        group = (
            figures["overall"] if name == "overall" else next(g for g in figures["departments"] if g["name"] == name)
        )
        if group.get("suppressed"):
            return None
        return group["granted"][category] if "granted" in group else None

    if scenario == "join":
        before, after = after, before
    pairs = [(before, after, VICTIM_DEPARTMENT)]
    if scenario == "move department":
        pairs.append((after, before, OTHER_DEPARTMENT))
    else:
        pairs.append((before, after, "overall"))
    out = []
    for first, second, name in pairs:
        a, b = cell(first, name), cell(second, name)
        out.append(None if a is None or b is None else a - b)
    return out


def _exact_figures(overall, departments) -> dict:
    def as_dict(g):
        return {"name": g.name, "suppressed": False, "granted": dict(g.granted)}

    return {"overall": as_dict(overall), "departments": [as_dict(d) for d in departments]}


def experiment(scenario: str, *, trials: int, epsilon: float, seed: int = 2026) -> dict[str, float]:
    """Run the attack ``trials`` times per world; returns exact-recovery and mouse-guess rates, exact and noised."""
    from consent.models import DataCategory
    from consent.stats import noised_figures

    rng = random.Random(seed)
    victim_yes = {"mouse", "clicks", "app_focus"}
    victim_no = {"clicks", "app_focus"}
    exact_recovered = noised_recovered = exact_right = noised_right = 0
    for victim in (victim_yes, victim_no):
        before_org, after_org = worlds(scenario, victim)
        before, after = _counts(before_org), _counts(after_org)
        # On demand, exact: the old consent_stats_for_officer served these figures.
        exact_before, exact_after = _exact_figures(*before), _exact_figures(*after)
        exact_vector = {c: _difference(scenario, exact_before, exact_after, c)[0] for c in DataCategory.values}
        exact_recovered += trials * (exact_vector == {c: int(c in victim) for c in DataCategory.values})
        exact_right += trials * ((exact_vector["mouse"] >= 1) == ("mouse" in victim))
        for _ in range(trials):
            first = noised_figures(*before, epsilon=epsilon, min_group=5, rng=rng)
            second = noised_figures(*after, epsilon=epsilon, min_group=5, rng=rng)
            vector = {c: _difference(scenario, first, second, c)[0] for c in DataCategory.values}
            noised_recovered += vector == {c: int(c in victim) for c in DataCategory.values}
            seen = [d for d in _difference(scenario, first, second, "mouse") if d is not None]
            # Both differences move by 1 if the victim opted in: guess yes when their mean passes 1/2.
            guess = (sum(seen) / len(seen) > 0.5) if seen else rng.random() < 0.5
            noised_right += guess == ("mouse" in victim)
    total = 2 * trials
    return {
        "exact_recovery": exact_recovered / total,
        "exact_mouse_accuracy": exact_right / total,
        "noised_recovery": noised_recovered / total,
        "noised_mouse_accuracy": noised_right / total,
        "bound": math.exp(epsilon) / (1 + math.exp(epsilon)),
    }


def margins(epsilon: float) -> dict[str, float]:
    """The 95% margin, in rate points, the officer sees for each demo group at this epsilon."""
    from consent import noise
    from consent.models import DataCategory

    alpha = noise.alpha_for(epsilon=epsilon, sensitivity=noise.release_sensitivity(len(DataCategory.values)))
    t = noise.interval_halfwidth(alpha, 0.95)
    sizes = {"All employees": sum(DEPARTMENTS.values()), **DEPARTMENTS}
    return {name: min(1.0, t / n) for name, n in sizes.items()} | {"_halfwidth_counts": t}


def suppressed_share(epsilon: float, *, releases: int, seed: int = 5) -> float:
    """Share of cells (every group's categories and "any") a release of the demo organisation shows as suppressed."""
    from consent.stats import noised_figures

    rng = random.Random(seed)
    overall, departments = _counts(_organisation())
    cells = suppressed = 0
    for _ in range(releases):
        figures = noised_figures(overall, departments, epsilon=epsilon, min_group=5, rng=rng)
        for group in [figures["overall"], *figures["departments"]]:
            values = [None] * 6 if group["suppressed"] else [*group["granted"].values(), group["any_granted"]]
            cells += len(values)
            suppressed += sum(1 for v in values if v is None)
    return suppressed / cells


def run() -> list[Figure]:
    setup_django()
    from django.conf import settings

    trials = int(os.environ.get("DIFFERENCING_TRIALS", "2000"))
    epsilon = float(settings.CONSENT_RATES_EPSILON)
    figures = []
    for scenario in SCENARIOS:
        result = experiment(scenario, trials=trials, epsilon=epsilon)
        # What an attacker learns: exact figures give the whole choice vector every time; releases
        # must keep the mouse guess within the DP bound (plus three standard errors of sampling).
        slack = 3 * math.sqrt(0.25 / (2 * trials))
        met = result["exact_recovery"] == 1.0 and result["noised_mouse_accuracy"] <= result["bound"] + slack
        figures.append(
            Figure(
                name=f"differencing, {scenario}: attacker's right guesses of the victim's mouse choice with releases",
                value=100 * result["noised_mouse_accuracy"],
                unit="% (chance 50%)",
                target=f"<= {100 * result['bound']:.1f}% = e^eps/(1+e^eps) at eps={epsilon:g}",
                met=met,
                notes=[
                    f"before (exact on-demand figures): whole choice vector recovered in "
                    f"{100 * result['exact_recovery']:.1f}% of attacks, mouse guessed right in "
                    f"{100 * result['exact_mouse_accuracy']:.1f}%",
                    f"after (two consecutive noised releases): whole choice vector recovered in "
                    f"{100 * result['noised_recovery']:.2f}% of attacks, mouse guessed right in "
                    f"{100 * result['noised_mouse_accuracy']:.1f}% ({2 * trials} simulated attacks, seeded)",
                ],
            )
        )
    sizes = [sum(DEPARTMENTS.values()), *DEPARTMENTS.values()]
    notes = []
    for eps in (epsilon, 2 * epsilon, 4 * epsilon):
        shown = margins(eps)
        halfwidth = shown.pop("_halfwidth_counts")
        groups = ", ".join(f"{name} ({n}) ±{100 * m:.0f}" for (name, m), n in zip(shown.items(), sizes, strict=True))
        notes.append(f"eps={eps:g}: counts ±{halfwidth:.0f} people; rates in points: {groups}")
    notes.append(
        f"share of the demo release's cells shown as suppressed at eps={epsilon:g}: "
        f"{100 * suppressed_share(epsilon, releases=200):.0f}% (groups under 5 and figures reading as everyone or no one)"
    )
    figures.append(
        Figure(
            name="95% margin of a released count (the price: what officers see)",
            value=margins(epsilon)["_halfwidth_counts"],
            unit=f"people at eps={epsilon:g}",
            notes=notes,
        )
    )
    return figures


if __name__ == "__main__":
    from bench import main_standalone

    main_standalone(run)
