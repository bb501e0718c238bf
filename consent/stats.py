"""Aggregate figures for privacy officers: consent rates, never an individual.

Consent rates are suppressed below a group threshold (``CONSENT_STATS_MIN_GROUP``)
so no one's choice can be read off a small department or recovered by
subtraction.  Erasure deadlines, counts only too, are in ``erasure.selectors``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings

from accounts.guards import require_role
from accounts.models import Role, User
from consent.models import ConsentState, DataCategory

FEWER_THAN = "fewer than {k}"


def _min_group() -> int:
    return int(getattr(settings, "CONSENT_STATS_MIN_GROUP", 5))


@dataclass(frozen=True)
class GroupRates:
    name: str
    employees: int | None
    # {category: granted count}; None when suppressed.
    granted: dict[str, int] | None
    any_granted: int | None
    suppressed: bool = False

    def rate(self, category: str) -> float | None:
        if self.granted is None or not self.employees:
            return None
        return self.granted[category] / self.employees

    @property
    def label(self) -> str:
        return FEWER_THAN.format(k=_min_group()) if self.suppressed else str(self.employees)

    @property
    def rates(self) -> dict[str, float | None]:
        return {c: self.rate(c) for c in DataCategory.values}

    @property
    def any_rate(self) -> float | None:
        if self.any_granted is None or not self.employees:
            return None
        return self.any_granted / self.employees


@dataclass(frozen=True)
class ConsentStats:
    threshold: int
    # Counts over every department shown (and the pooled small ones when that pool is large enough).
    overall: GroupRates
    departments: list[GroupRates]
    # Small departments pooled together, shown only when the pool reaches the threshold.
    pooled_small: GroupRates | None
    # True when small departments are left out of ``overall`` because their pool is itself too small.
    overall_excludes_small: bool


def _group(name: str, members: list[set[str]], k: int) -> GroupRates:
    if len(members) < k:
        return GroupRates(name=name, employees=None, granted=None, any_granted=None, suppressed=True)
    granted = {c: sum(1 for m in members if c in m) for c in DataCategory.values}
    return GroupRates(name=name, employees=len(members), granted=granted, any_granted=sum(1 for m in members if m))


def consent_stats_for_officer(*, actor: User) -> ConsentStats:
    """Consent rates by category, overall and per department, never below the group threshold.

    A department under the threshold shows as "fewer than k" and its numbers
    go nowhere they could be recovered by subtraction: small departments are
    pooled, the pool is shown only when it reaches the threshold itself, and
    otherwise the overall figures cover the large departments alone.
    """
    require_role(
        actor, Role.PRIVACY_OFFICER, code="permission_denied", message="Only privacy officers see consent rates."
    )
    k = _min_group()
    employees = User.objects.filter(is_active=True, roles__role=Role.EMPLOYEE).distinct()
    granted_by_employee = {
        employee_id: set(granted or {})
        for employee_id, granted in ConsentState.objects.filter(subject__employee__in=employees).values_list(
            "subject__employee_id", "granted"
        )
    }
    by_department: dict[str, list[set[str]]] = defaultdict(list)
    for employee_id, department in employees.values_list("pk", "department"):
        by_department[department.strip() or "(no department)"].append(granted_by_employee.get(employee_id, set()))

    departments = [_group(name, members, k) for name, members in sorted(by_department.items())]
    large = [m for name, members in by_department.items() if len(members) >= k for m in members]
    small = [m for name, members in by_department.items() if len(members) < k for m in members]
    pooled = _group("Smaller departments combined", small, k) if small else None
    if pooled is not None and pooled.suppressed:
        pooled = None
        overall = _group("All employees in departments shown", large, k)
        excludes = True
    else:
        overall = _group("All employees", large + small, k)
        excludes = False
    return ConsentStats(
        threshold=k, overall=overall, departments=departments, pooled_small=pooled, overall_excludes_small=excludes
    )
