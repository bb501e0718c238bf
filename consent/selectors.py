"""Reads of consent data, each carrying its permission rule."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F, QuerySet

from accounts.models import Role, User
from config.errors import NotFound
from consent.models import (
    AllowedApplication,
    ConsentEvent,
    ConsentNotice,
    ConsentReceipt,
    ConsentState,
    RetentionRule,
    Subject,
)


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
    """The published notice employees consent under now, or None before the first is published.

    Services that must hold it until they commit lock it with ``consent.locks.notice_lock_current``.
    """
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
        category: timedelta(days=days)
        for category, days in RetentionRule.objects.values_list("category", "max_age_days")
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


# --- Notices, allowlist, retention: readable by every signed-in user except drafts ---


def notices_for_actor(*, actor: User) -> QuerySet[ConsentNotice]:
    """Officers see drafts too; everyone else sees published and superseded versions."""
    notices = ConsentNotice.objects.all()
    if not actor.has_role(Role.PRIVACY_OFFICER):
        notices = notices.exclude(status=ConsentNotice.Status.DRAFT)
    return notices.order_by(F("version").desc(nulls_first=True), "-created_at")


def notice_for_actor(*, actor: User, notice_id: int) -> ConsentNotice:
    notice = notices_for_actor(actor=actor).filter(pk=notice_id).first()
    if notice is None:
        raise NotFound("not_found", f"No notice {notice_id}.")
    return notice


def notice_by_version(*, version: int) -> ConsentNotice:
    notice = ConsentNotice.objects.exclude(status=ConsentNotice.Status.DRAFT).filter(version=version).first()
    if notice is None:
        raise NotFound("not_found", f"No published notice version {version}.")
    return notice


def allowed_applications() -> QuerySet[AllowedApplication]:
    return AllowedApplication.objects.order_by("display_name", "app_id")


def allowed_application_for_officer(*, actor: User, app_id: str) -> AllowedApplication:
    # No application id holds a NUL, and PostgreSQL refuses one in a query (a 500).
    visible = actor.has_role(Role.PRIVACY_OFFICER) and "\x00" not in app_id
    app = allowed_applications().filter(app_id=app_id).first() if visible else None
    if app is None:
        raise NotFound("not_found", f"{app_id} is not on the allowlist.")
    return app


def retention_rules() -> dict[str, int]:
    return dict(RetentionRule.objects.order_by("category").values_list("category", "max_age_days"))


# --- The employee's own consent: nobody else reads these -----------------------


def _own_subject(employee: User) -> Subject | None:
    if not employee.is_authenticated or not employee.has_role(Role.EMPLOYEE):
        return None
    return Subject.objects.filter(employee=employee).first()


@dataclass(frozen=True)
class ConsentOverview:
    pseudonym: str | None
    notice: ConsentNotice | None
    state: ConsentState | None
    granted: dict[str, dict]
    excluded_apps: list[str]
    epoch: int
    # Categories held under an older notice version than the current one.
    needs_review: list[str]


def consent_overview_for_employee(*, employee: User) -> ConsentOverview:
    """The employee's own consent state against the current notice."""
    subject = _own_subject(employee)
    state = ConsentState.objects.filter(subject=subject).first() if subject else None
    notice = current_notice()
    granted = dict(state.granted) if state else {}
    stale = sorted(c for c, v in granted.items() if notice and v["notice_version"] < notice.version)
    return ConsentOverview(
        pseudonym=subject.pseudonym if subject else None,
        notice=notice,
        state=state,
        granted=granted,
        excluded_apps=list(state.excluded_apps) if state else [],
        epoch=state.epoch if state else 0,
        needs_review=stale,
    )


def consent_history_for_employee(*, employee: User) -> QuerySet[ConsentEvent]:
    """Every consent event of the employee, newest first, with its receipt."""
    subject = _own_subject(employee)
    if subject is None:
        return ConsentEvent.objects.none()
    return ConsentEvent.objects.filter(subject=subject).select_related("notice", "receipt").order_by("-epoch")


def receipts_for_employee(*, employee: User) -> QuerySet[ConsentReceipt]:
    subject = _own_subject(employee)
    if subject is None:
        return ConsentReceipt.objects.none()
    return (
        ConsentReceipt.objects.filter(subject=subject).select_related("event", "event__notice").order_by("-issued_at")
    )


def receipt_for_employee(*, employee: User, receipt_id: Any) -> ConsentReceipt:
    """One of the employee's own receipts; any other receipt is 'not found'."""
    try:
        receipt_uuid = uuid.UUID(str(receipt_id))
    except ValueError:
        raise NotFound("not_found", "No such receipt.") from None
    receipt = receipts_for_employee(employee=employee).filter(pk=receipt_uuid).first()
    if receipt is None:
        raise NotFound("not_found", "No such receipt.")
    return receipt
