"""Consent use cases. Each writes the history, the derived state and the audit entry in one transaction.

Audit entries about an employee's consent name the subject pseudonym, never
the username: individual choices are visible to the employee alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from audit.services import audit_record
from config.exceptions import ApiError
from consent import state as consent_state
from consent.models import ConsentEvent, ConsentNotice, ConsentState, DataCategory, Subject
from consent.selectors import current_notice


def subject_for_employee(employee: User) -> Subject:
    """The employee's subject, created on first need."""
    subject = Subject.objects.filter(employee=employee).first()
    if subject is None:
        subject, _ = Subject.objects.get_or_create(employee=employee)
    return subject


def _locked_state(subject: Subject) -> ConsentState:
    ConsentState.objects.get_or_create(subject=subject)
    return ConsentState.objects.select_for_update().get(subject=subject)


def _append(
    *,
    subject: Subject,
    state: ConsentState,
    kind: str,
    notice: ConsentNotice,
    categories: list[str],
    excluded_apps: list[str],
    channel: str,
    erasure_requested: bool = False,
) -> ConsentEvent:
    event = ConsentEvent.objects.create(
        subject=subject,
        kind=kind,
        notice=notice,
        categories=sorted(categories),
        excluded_apps=sorted(set(excluded_apps)),
        channel=channel,
        erasure_requested=erasure_requested,
        epoch=state.epoch + 1,
        created_at=timezone.now(),
    )
    derived = consent_state.DerivedState(
        epoch=state.epoch, granted=dict(state.granted), excluded_apps=list(state.excluded_apps)
    )
    consent_state.apply(derived, event)
    state.epoch = derived.epoch
    state.granted = derived.granted
    state.excluded_apps = derived.excluded_apps
    state.last_event = event
    state.save()
    audit_record(
        actor=f"subject:{subject.pseudonym}",
        action=f"consent.{kind}",
        target=f"subject:{subject.pseudonym}",
        detail={
            "event_id": str(event.id),
            "categories": event.categories,
            "excluded_apps": event.excluded_apps,
            "notice_version": notice.version,
            "epoch": event.epoch,
            "channel": channel,
            "erasure_requested": erasure_requested,
        },
    )
    return event


def _require_employee(employee: User) -> None:
    if not employee.has_role(Role.EMPLOYEE):
        raise ApiError("not_an_employee", "Only employees give or withdraw consent.", status_code=403)


def _clean_categories(categories: Iterable[str]) -> list[str]:
    cleaned = sorted(set(categories))
    unknown = [c for c in cleaned if c not in DataCategory.values]
    if unknown:
        raise ApiError("unknown_category", f"Unknown data categories: {', '.join(unknown)}.")
    if not cleaned:
        raise ApiError("no_categories", "Name at least one data category.")
    return cleaned


def consent_grant(
    *,
    employee: User,
    categories: Iterable[str],
    notice_version: int,
    channel: str = ConsentEvent.Channel.PORTAL,
    excluded_apps: Iterable[str] | None = None,
) -> ConsentEvent:
    """Opt in to ``categories`` under the current notice, which must be ``notice_version``."""
    _require_employee(employee)
    wanted = _clean_categories(categories)
    with transaction.atomic():
        notice = current_notice()
        if notice is None:
            raise ApiError("no_notice", "No consent notice has been published yet.", status_code=409)
        if notice_version != notice.version:
            raise ApiError(
                "notice_superseded",
                f"Notice version {notice_version} is not the current one; review version {notice.version} first.",
                status_code=409,
            )
        outside = [c for c in wanted if c not in notice.categories]
        if outside:
            raise ApiError(
                "category_not_in_notice",
                f"The current notice (v{notice.version}) does not cover: {', '.join(outside)}.",
            )
        subject = subject_for_employee(employee)
        state = _locked_state(subject)
        exclusions = list(excluded_apps) if excluded_apps is not None else list(state.excluded_apps)
        return _append(
            subject=subject,
            state=state,
            kind=ConsentEvent.Kind.GRANTED,
            notice=notice,
            categories=wanted,
            excluded_apps=exclusions,
            channel=channel,
        )


def consent_withdraw(
    *,
    employee: User,
    categories: Iterable[str] | None = None,
    erase: bool = False,
    channel: str = ConsentEvent.Channel.PORTAL,
) -> ConsentEvent:
    """Withdraw ``categories`` (all held ones when None), at once; optionally ask for erasure."""
    _require_employee(employee)
    with transaction.atomic():
        subject = subject_for_employee(employee)
        state = _locked_state(subject)
        held = sorted(state.granted)
        if categories is None:
            wanted = held
            if not wanted:
                raise ApiError("nothing_to_withdraw", "You have not given consent to any category.")
        else:
            wanted = _clean_categories(categories)
            not_held = [c for c in wanted if c not in state.granted]
            if not_held:
                raise ApiError(
                    "not_granted", f"You have not given consent to: {', '.join(not_held)}; nothing to withdraw there."
                )
        notice_version = max(state.granted[c]["notice_version"] for c in wanted)
        notice = ConsentNotice.objects.get(version=notice_version)
        return _append(
            subject=subject,
            state=state,
            kind=ConsentEvent.Kind.WITHDRAWN,
            notice=notice,
            categories=wanted,
            excluded_apps=state.excluded_apps,
            channel=channel,
            erasure_requested=erase,
        )


def consent_set_exclusions(
    *, employee: User, excluded_apps: Iterable[str], channel: str = ConsentEvent.Channel.PORTAL
) -> ConsentEvent:
    """Replace the list of applications the employee excludes from capture."""
    _require_employee(employee)
    cleaned = sorted({a.strip() for a in excluded_apps})
    if any(not a for a in cleaned):
        raise ApiError("invalid_app_id", "Application ids cannot be empty.")
    with transaction.atomic():
        notice = current_notice()
        if notice is None:
            raise ApiError("no_notice", "No consent notice has been published yet.", status_code=409)
        subject = subject_for_employee(employee)
        state = _locked_state(subject)
        return _append(
            subject=subject,
            state=state,
            kind=ConsentEvent.Kind.EXCLUSIONS_CHANGED,
            notice=notice,
            categories=[],
            excluded_apps=cleaned,
            channel=channel,
        )
