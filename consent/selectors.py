"""Reads of consent data, each carrying its permission rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from consent.models import AllowedApplication, ConsentNotice, ConsentState, RetentionRule, Subject


@dataclass(frozen=True)
class CapturePolicy:
    """What may be captured for one subject right now.

    ``apps`` maps each application the subject may be captured on to the
    categories permitted there: the allowlist's categories for the app,
    intersected with the subject's granted categories, minus the apps the
    employee excluded.  Apps with nothing left are absent.
    """

    subject_id: int
    pseudonym: str
    epoch: int
    consent_id: str | None
    categories: frozenset[str]
    granted_since: dict[str, datetime]
    apps: dict[str, frozenset[str]]
    retention: dict[str, timedelta]

    @property
    def active(self) -> bool:
        return bool(self.categories) and bool(self.apps)


def current_notice() -> ConsentNotice | None:
    """The published notice employees consent under now, or None before the first is published."""
    return ConsentNotice.objects.filter(status=ConsentNotice.Status.PUBLISHED).order_by("-version").first()


def consent_state_for_subject(*, subject: Subject) -> ConsentState:
    state = ConsentState.objects.filter(subject=subject).first()
    return state if state is not None else ConsentState(subject=subject)


def capture_policy_for_subject(*, subject: Subject, state: ConsentState | None = None) -> CapturePolicy:
    """The capture rules for ``subject``, from its consent state, the allowlist and retention rules."""
    if state is None:
        state = consent_state_for_subject(subject=subject)
    categories = frozenset(state.granted)
    excluded = set(state.excluded_apps)
    apps: dict[str, frozenset[str]] = {}
    for app_id, app_categories in AllowedApplication.objects.values_list("app_id", "categories"):
        if app_id in excluded:
            continue
        permitted = categories.intersection(app_categories)
        if permitted:
            apps[app_id] = frozenset(permitted)
    retention = {
        category: timedelta(days=days) for category, days in RetentionRule.objects.values_list("category", "max_age_days")
    }
    return CapturePolicy(
        subject_id=subject.pk,
        pseudonym=subject.pseudonym,
        epoch=state.epoch,
        consent_id=str(state.last_event_id) if state.last_event_id else None,
        categories=categories,
        granted_since={c: datetime.fromisoformat(v["since"]) for c, v in state.granted.items()},
        apps=apps,
        retention=retention,
    )


def subject_by_pseudonym(pseudonym: str) -> Subject | None:
    return Subject.objects.filter(pseudonym=pseudonym).first()
