"""An employee's consent changes: grant, withdraw, exclude applications, set all choices at once.

Each change writes the history event, the derived state, the receipt and the
audit entry in one transaction.  Audit entries about an employee's consent
name the subject pseudonym, never the username: individual choices are
visible to the employee alone.

Locks follow ``consent.locks``: the current notice first, then the state.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.actions import AuditAction
from audit.services import audit_record
from audit.targets import subject_target
from config.errors import Conflict, InvalidInput
from consent import locks
from consent import state as consent_state
from consent.models import ConsentEvent, ConsentNotice, ConsentState, Subject
from consent.receipts import issues_receipt, receipt_issue
from consent.services.guards import clean_categories, require_employee
from consent.services.subjects import subject_for_employee


def consent_event_append(
    *,
    subject: Subject,
    state: ConsentState,
    kind: str,
    notice: ConsentNotice,
    categories: list[str],
    excluded_apps: list[str],
    channel: str,
    erasure_requested: bool = False,
    actor: Any = None,
) -> ConsentEvent:
    """Record one consent event for ``subject`` and fold it into ``state``, which the caller holds locked.

    Also issues the receipt and writes the audit entry.  ``erasure_requested``
    is recorded on the event (and so in its receipt); the request itself is
    the erasure app's (``erasure.services.consent_withdraw_with_erasure``).
    Internal to the consent services (notice publication appends
    ``superseded`` events through it); not exported.
    """
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
    receipt = receipt_issue(event) if issues_receipt(event) else None
    audit_record(
        # The employee acts under their pseudonym; a system change (a new notice) names its cause.
        actor=actor if actor is not None else subject_target(subject.pseudonym),
        action=AuditAction(f"consent.{kind}"),
        target=subject_target(subject.pseudonym),
        detail={
            "event_id": str(event.id),
            "categories": event.categories,
            "excluded_apps": event.excluded_apps,
            "notice_version": notice.version,
            "epoch": event.epoch,
            "channel": channel,
            "erasure_requested": erasure_requested,
            "receipt_id": str(receipt.id) if receipt else None,
        },
    )
    return event


def consent_grant(
    *,
    employee: User,
    categories: Iterable[str],
    notice_version: int,
    channel: str = ConsentEvent.Channel.PORTAL,
    excluded_apps: Iterable[str] | None = None,
) -> ConsentEvent:
    """Opt in to ``categories`` under the current notice, which must be ``notice_version``."""
    require_employee(employee)
    wanted = clean_categories(categories)
    with transaction.atomic():
        notice = locks.notice_lock_current()
        if notice is None:
            raise Conflict("no_notice", "No consent notice has been published yet.")
        if notice_version != notice.version and not ConsentNotice.objects.filter(version=notice_version).exists():
            raise InvalidInput(
                "unknown_notice_version",
                f"There is no notice version {notice_version}; the current one is version {notice.version}.",
            )
        if notice_version != notice.version:
            raise Conflict(
                "notice_superseded",
                f"Notice version {notice_version} is not the current one; review version {notice.version} first.",
            )
        outside = [c for c in wanted if c not in notice.categories]
        if outside:
            raise InvalidInput(
                "category_not_in_notice",
                f"The current notice (v{notice.version}) does not cover: {', '.join(outside)}.",
            )
        subject = subject_for_employee(employee)
        state = locks.consent_state_lock(subject)
        exclusions = list(excluded_apps) if excluded_apps is not None else list(state.excluded_apps)
        return consent_event_append(
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
    erasure_requested: bool = False,
    channel: str = ConsentEvent.Channel.PORTAL,
) -> ConsentEvent:
    """Withdraw ``categories`` (all held ones when None), at once.

    ``erasure_requested`` only marks the event (and its receipt): an employee
    who withdraws with erasure goes through
    ``erasure.services.consent_withdraw_with_erasure``, which calls this and
    records the request in the same transaction.

    No notice lock: a withdrawal names the notice its categories were granted
    under, and stopping capture does not depend on which notice is current.
    """
    require_employee(employee)
    with transaction.atomic():
        subject = subject_for_employee(employee)
        state = locks.consent_state_lock(subject)
        held = sorted(state.granted)
        if categories is None:
            wanted = held
            if not wanted:
                raise InvalidInput("nothing_to_withdraw", "You have not given consent to any category.")
        else:
            wanted = clean_categories(categories)
            not_held = [c for c in wanted if c not in state.granted]
            if not_held:
                raise InvalidInput(
                    "not_granted", f"You have not given consent to: {', '.join(not_held)}; nothing to withdraw there."
                )
        notice_version = max(state.granted[c]["notice_version"] for c in wanted)
        notice = ConsentNotice.objects.get(version=notice_version)
        return consent_event_append(
            subject=subject,
            state=state,
            kind=ConsentEvent.Kind.WITHDRAWN,
            notice=notice,
            categories=wanted,
            excluded_apps=state.excluded_apps,
            channel=channel,
            erasure_requested=erasure_requested,
        )


def consent_set_exclusions(
    *, employee: User, excluded_apps: Iterable[str], channel: str = ConsentEvent.Channel.PORTAL
) -> ConsentEvent:
    """Replace the list of applications the employee excludes from capture."""
    require_employee(employee)
    cleaned = sorted({a.strip() for a in excluded_apps})
    if any(not a for a in cleaned):
        raise InvalidInput("invalid_app_id", "Application ids cannot be empty.")
    with transaction.atomic():
        notice = locks.notice_lock_current()
        if notice is None:
            raise Conflict("no_notice", "No consent notice has been published yet.")
        subject = subject_for_employee(employee)
        state = locks.consent_state_lock(subject)
        return consent_event_append(
            subject=subject,
            state=state,
            kind=ConsentEvent.Kind.EXCLUSIONS_CHANGED,
            notice=notice,
            categories=[],
            excluded_apps=cleaned,
            channel=channel,
        )


def consent_set_choices(
    *, employee: User, categories: Iterable[str], notice_version: int, channel: str = ConsentEvent.Channel.PORTAL
) -> list[ConsentEvent]:
    """Make the employee's granted categories exactly ``categories``: one withdrawal and one grant at most, atomically."""
    require_employee(employee)
    wanted = set(categories)
    if wanted:
        clean_categories(wanted)
    events: list[ConsentEvent] = []
    with transaction.atomic():
        # The current notice before the state, though only the grant below
        # needs it: taken after the state, it deadlocks with a publication,
        # which holds the notice and then locks every state.
        locks.notice_lock_current()
        held = set(locks.consent_state_lock(subject_for_employee(employee)).granted)
        if held - wanted:
            events.append(consent_withdraw(employee=employee, categories=sorted(held - wanted), channel=channel))
        if wanted - held:
            events.append(
                consent_grant(
                    employee=employee, categories=sorted(wanted - held), notice_version=notice_version, channel=channel
                )
            )
    return events
