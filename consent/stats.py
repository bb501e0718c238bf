"""Consent rates for privacy officers: scheduled, noised releases, never an individual and never on demand.

Why.  Exact rates computed on demand leak by differencing: look, deactivate
(or move, or re-role) one employee, look again, subtract, and the difference
is that employee's choices.  So officers see only *releases*:

* one per period (``CONSENT_RATES_RELEASE_HOURS``), made by a beat job
  (``consent.tasks.release_consent_rates_task``) and stored in
  ``ConsentRatesRelease``; a second run in the same period makes nothing, and
  every page and API reads the latest stored release, so a change made now is
  seen at the earliest in the next period's release;
* every count in a release carries geometric noise calibrated so that the
  whole release is ``CONSENT_RATES_EPSILON``-differentially private for any
  one person's change (sensitivity analysis in ``consent.noise``);
* a group whose *noised* headcount is under ``CONSENT_STATS_MIN_GROUP``, and a
  cell whose noised figure would read as "everyone" or "no one", are stored as
  suppressed.  Both decisions look only at noised values: deciding them on the
  exact counts would itself leak (a cell turning "suppressed" after one
  departure would say the rest agree).

Erasure deadlines, counts only, are in ``erasure.selectors``.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.guards import require_role
from accounts.models import Role, User
from audit.actions import AuditAction
from audit.services import audit_record
from consent import noise
from consent.models import ConsentRatesRelease, ConsentState, DataCategory

CONFIDENCE = 0.95
SUPPRESSED = "suppressed"
OVERALL = "All employees"
NO_DEPARTMENT = "(no department)"
RELEASE_ACTOR = "system:consent-rates"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _min_group() -> int:
    return int(getattr(settings, "CONSENT_STATS_MIN_GROUP", 5))


def _period_hours() -> int:
    return int(settings.CONSENT_RATES_RELEASE_HOURS)


def release_period(moment: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The release period holding ``moment``: periods of ``CONSENT_RATES_RELEASE_HOURS`` counted from the Unix epoch."""
    length = dt.timedelta(hours=_period_hours())
    start = _EPOCH + ((moment - _EPOCH) // length) * length
    return start, start + length


# --- Exact counts: the input of a release, shown to nobody -------------------


@dataclass(frozen=True)
class GroupCounts:
    name: str
    employees: int
    granted: dict[str, int]
    any_granted: int


def exact_counts() -> tuple[GroupCounts, list[GroupCounts]]:
    """Exact counts of active employees and their current consents, overall and per department.

    Only ``consent_rates_release_make`` (and the differencing benchmark, to
    show what on-demand exact figures used to give away) may call this: its
    result must never reach a page, an API or the audit log.
    """
    employees = User.objects.filter(is_active=True, roles__role=Role.EMPLOYEE).distinct()
    granted_by_employee = {
        employee_id: set(granted or {})
        for employee_id, granted in ConsentState.objects.filter(subject__employee__in=employees).values_list(
            "subject__employee_id", "granted"
        )
    }
    by_department: dict[str, list[set[str]]] = defaultdict(list)
    for employee_id, department in employees.values_list("pk", "department"):
        by_department[department.strip() or NO_DEPARTMENT].append(granted_by_employee.get(employee_id, set()))
    everyone = [m for members in by_department.values() for m in members]
    return group_counts(OVERALL, everyone), [
        group_counts(name, members) for name, members in sorted(by_department.items())
    ]


def group_counts(name: str, members: list[set[str]]) -> GroupCounts:
    """The counts of one group, each member given as the set of categories they opted in to."""
    return GroupCounts(
        name=name,
        employees=len(members),
        granted={c: sum(1 for m in members if c in m) for c in DataCategory.values},
        any_granted=sum(1 for m in members if m),
    )


# --- Noising: pure, so the differencing experiment can run it many times -----


def _noised_group(group: GroupCounts, *, alpha: float, min_group: int, rng: noise.UniformSource) -> dict:
    # Every count is noised whether or not it ends up shown, in a fixed order, so the
    # privacy cost does not depend on the data and a seeded run is reproducible.
    employees = noise.noisy_count(group.employees, alpha=alpha, rng=rng)
    granted = {c: noise.noisy_count(group.granted[c], alpha=alpha, rng=rng) for c in DataCategory.values}
    any_granted = noise.noisy_count(group.any_granted, alpha=alpha, rng=rng)
    if employees < min_group:
        return {"name": group.name, "suppressed": True, "employees": None, "granted": None, "any_granted": None}

    def cell(value: int) -> int | None:
        # Clamp into [0, noised headcount]; a figure at either end would read as
        # "no one" or "everyone", a statement about each member, so it is not shown.
        value = min(max(value, 0), employees)
        return None if value in (0, employees) else value

    return {
        "name": group.name,
        "suppressed": False,
        "employees": employees,
        "granted": {c: cell(v) for c, v in granted.items()},
        "any_granted": cell(any_granted),
    }


def noised_figures(
    overall: GroupCounts,
    departments: list[GroupCounts],
    *,
    epsilon: float,
    min_group: int,
    rng: noise.UniformSource,
) -> dict:
    """The figures of one release: every count noised for ``epsilon``-DP of the whole, then clamped and suppressed."""
    alpha = noise.alpha_for(epsilon=epsilon, sensitivity=noise.release_sensitivity(len(DataCategory.values)))
    return {
        "overall": _noised_group(overall, alpha=alpha, min_group=min_group, rng=rng),
        "departments": [_noised_group(d, alpha=alpha, min_group=min_group, rng=rng) for d in departments],
    }


# --- The release service ------------------------------------------------------


def consent_rates_release_make(
    *, now: dt.datetime | None = None, rng: random.Random | None = None
) -> ConsentRatesRelease | None:
    """Make this period's release of noised consent rates, or nothing if it exists already.

    Idempotent per period: the beat may run it as often as it likes, and two
    workers racing for the same period leave one release (the unique
    ``period_start``).  The audit entry, written in the same transaction, holds
    counts of groups and suppressed cells only: never a name, never an exact count.
    ``rng`` is for tests; releases draw from the system CSPRNG.
    """
    now = now or timezone.now()
    start, end = release_period(now)
    if ConsentRatesRelease.objects.filter(period_start=start).exists():
        return None
    epsilon = float(settings.CONSENT_RATES_EPSILON)
    sensitivity = noise.release_sensitivity(len(DataCategory.values))
    min_group = _min_group()
    with transaction.atomic():
        overall, departments = exact_counts()
        figures = noised_figures(
            overall, departments, epsilon=epsilon, min_group=min_group, rng=rng or noise.system_rng()
        )
        try:
            # A savepoint, so that losing the race for this period leaves the outer transaction usable.
            with transaction.atomic():
                release = ConsentRatesRelease.objects.create(
                    period_start=start,
                    period_end=end,
                    created_at=now,
                    epsilon=epsilon,
                    sensitivity=sensitivity,
                    min_group=min_group,
                    halfwidth_95=noise.interval_halfwidth(
                        noise.alpha_for(epsilon=epsilon, sensitivity=sensitivity), CONFIDENCE
                    ),
                    figures=figures,
                )
        except IntegrityError:
            return None
        groups = [figures["overall"], *figures["departments"]]
        shown = [g for g in groups if not g["suppressed"]]
        audit_record(
            actor=RELEASE_ACTOR,
            action=AuditAction.CONSENT_RATES_RELEASED,
            target=f"consent_rates_release:{release.id}",
            detail={
                "period_start": start.isoformat(),
                "epsilon": epsilon,
                "groups": len(groups),
                "suppressed_groups": len(groups) - len(shown),
                "suppressed_cells": sum(
                    1 for g in shown for v in [*g["granted"].values(), g["any_granted"]] if v is None
                ),
            },
        )
    return release


# --- What officers see --------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    granted: int | None  # noised count; None when suppressed
    rate: float | None
    margin: float | None  # the rate lies within ``rate ± margin`` with 95% probability (noise only)

    @property
    def suppressed(self) -> bool:
        return self.granted is None

    @property
    def low(self) -> float | None:
        return None if self.rate is None or self.margin is None else max(0.0, self.rate - self.margin)

    @property
    def high(self) -> float | None:
        return None if self.rate is None or self.margin is None else min(1.0, self.rate + self.margin)


@dataclass(frozen=True)
class GroupRates:
    name: str
    employees: int | None  # noised headcount; None when suppressed
    suppressed: bool
    cells: dict[str, Cell] | None
    any: Cell | None

    @property
    def label(self) -> str:
        return SUPPRESSED if self.suppressed else f"about {self.employees}"


@dataclass(frozen=True)
class ConsentStats:
    threshold: int
    release: ConsentRatesRelease | None
    next_release_due: dt.datetime
    confidence: float
    overall: GroupRates | None
    departments: list[GroupRates]

    @property
    def groups(self) -> list[GroupRates]:
        return ([self.overall] if self.overall else []) + self.departments


def _group_rates(group: dict, halfwidth: int) -> GroupRates:
    if group["suppressed"]:
        return GroupRates(name=group["name"], employees=None, suppressed=True, cells=None, any=None)
    n = group["employees"]

    def cell(value: int | None) -> Cell:
        if value is None:
            return Cell(granted=None, rate=None, margin=None)
        # The headcount is noised too; this margin covers the numerator's noise, the larger part for rates.
        return Cell(granted=value, rate=round(value / n, 4), margin=round(min(1.0, halfwidth / n), 4))

    return GroupRates(
        name=group["name"],
        employees=n,
        suppressed=False,
        cells={c: cell(group["granted"].get(c)) for c in DataCategory.values},
        any=cell(group["any_granted"]),
    )


def consent_stats_for_officer(*, actor: User, now: dt.datetime | None = None) -> ConsentStats:
    """The latest release of consent rates, with each rate's 95% margin and when the next release is due.

    Never computes anything from the current data: what it shows changes only
    when the beat job makes the next release.
    """
    require_role(
        actor, Role.PRIVACY_OFFICER, code="permission_denied", message="Only privacy officers see consent rates."
    )
    now = now or timezone.now()
    release = ConsentRatesRelease.objects.order_by("-period_start").first()
    current_start, current_end = release_period(now)
    # Due at the end of this period if this period's release exists; otherwise it is due now (the next beat makes it).
    next_due = current_end if release is not None and release.period_start >= current_start else current_start
    if release is None:
        return ConsentStats(
            threshold=_min_group(),
            release=None,
            next_release_due=next_due,
            confidence=CONFIDENCE,
            overall=None,
            departments=[],
        )
    figures = release.figures
    return ConsentStats(
        threshold=release.min_group,
        release=release,
        next_release_due=next_due,
        confidence=CONFIDENCE,
        overall=_group_rates(figures["overall"], release.halfwidth_95),
        departments=[_group_rates(d, release.halfwidth_95) for d in figures["departments"]],
    )


@dataclass(frozen=True)
class RatesHistory:
    """The overall rate per category in each of the latest releases, oldest first (None where suppressed)."""

    released: list[dt.datetime]
    rates: dict[str, list[float | None]]


def consent_rates_history_for_officer(*, actor: User, releases: int = 30) -> RatesHistory:
    """Released overall rates over time: a view of what was already released, so it spends no privacy budget."""
    require_role(
        actor, Role.PRIVACY_OFFICER, code="permission_denied", message="Only privacy officers see consent rates."
    )
    latest = list(ConsentRatesRelease.objects.order_by("-period_start")[:releases])[::-1]
    rates: dict[str, list[float | None]] = {c: [] for c in DataCategory.values}
    for release in latest:
        overall = _group_rates(release.figures["overall"], release.halfwidth_95)
        for category in DataCategory.values:
            cell = overall.cells.get(category) if overall.cells else None
            rates[category].append(cell.rate if cell is not None else None)
    return RatesHistory(released=[r.period_start for r in latest], rates=rates)
