"""Consent use cases. Each writes the history, the derived state, the receipt and the audit entry in one transaction.

Audit entries about an employee's consent name the subject pseudonym, never
the username: individual choices are visible to the employee alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import Role, User
from audit.services import audit_record
from config.errors import Conflict, InvalidInput, NotPermitted
from consent import state as consent_state
from consent.models import (
    AllowedApplication,
    ConsentEvent,
    ConsentNotice,
    ConsentState,
    DataCategory,
    ErasureRequest,
    RetentionRule,
    Subject,
)
from consent.receipts import issues_receipt, receipt_issue
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
    actor: Any = None,
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
    receipt = receipt_issue(event) if issues_receipt(event) else None
    erasure = (
        _erasure_request_create(
            subject=subject,
            # Withdrawing everything erases everything, including categories withdrawn earlier.
            categories=event.categories if state.granted else [],
            reason=ErasureRequest.Reason.WITHDRAWAL,
            event=event,
        )
        if erasure_requested
        else None
    )
    audit_record(
        # The employee acts under their pseudonym; a system change (a new notice) names its cause.
        actor=actor if actor is not None else f"subject:{subject.pseudonym}",
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
            "receipt_id": str(receipt.id) if receipt else None,
            "erasure_request_id": str(erasure.id) if erasure else None,
        },
    )
    return event


def _erasure_request_create(
    *, subject: Subject, categories: list[str], reason: str, event: ConsentEvent | None = None
) -> ErasureRequest:
    now = timezone.now()
    days = getattr(settings, "ERASURE_DUE_DAYS", 30)
    request = ErasureRequest.objects.create(
        subject=subject,
        categories=sorted(categories),
        reason=reason,
        event=event,
        requested_at=now,
        due_at=now + timedelta(days=days),
    )
    # The due time is a deadline: a worker starts as soon as this commits, and
    # the periodic sweep catches anything that message misses.
    # robust: a broker outage must not turn a committed withdrawal into an error.
    transaction.on_commit(lambda: _start_erasure(request.pk), robust=True)
    return request


def _start_erasure(request_id) -> None:
    from django.utils.module_loading import import_string

    # Imported by name: the collection app depends on this one, not the reverse.
    import_string("collection.tasks.erase_subject_task").delay(str(request_id))


def erasure_request_complete(*, request: ErasureRequest, actor: Any, outcome: dict[str, Any]) -> ErasureRequest:
    """Mark a request done once its data is unreadable and deleted; called by whoever erased it."""
    with transaction.atomic():
        request.status = ErasureRequest.Status.DONE
        request.completed_at = timezone.now()
        request.save(update_fields=["status", "completed_at"])
        audit_record(
            actor=actor,
            action="erasure.completed",
            target=f"subject:{request.subject.pseudonym}",
            detail={
                "erasure_request_id": str(request.id),
                "categories": request.categories,
                "reason": request.reason,
                "due_at": request.due_at.isoformat(),
                "overdue": request.completed_at > request.due_at,
                **outcome,
            },
        )
    return request


def _require_employee(employee: User) -> None:
    if not employee.has_role(Role.EMPLOYEE):
        raise NotPermitted("not_an_employee", "Only employees give or withdraw consent.")


def _clean_categories(categories: Iterable[str]) -> list[str]:
    cleaned = sorted(set(categories))
    unknown = [c for c in cleaned if c not in DataCategory.values]
    if unknown:
        raise InvalidInput("unknown_category", f"Unknown data categories: {', '.join(unknown)}.")
    if not cleaned:
        raise InvalidInput("no_categories", "Name at least one data category.")
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
        notice = current_notice(lock=True)
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
                raise InvalidInput("nothing_to_withdraw", "You have not given consent to any category.")
        else:
            wanted = _clean_categories(categories)
            not_held = [c for c in wanted if c not in state.granted]
            if not_held:
                raise InvalidInput(
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
        raise InvalidInput("invalid_app_id", "Application ids cannot be empty.")
    with transaction.atomic():
        notice = current_notice(lock=True)
        if notice is None:
            raise Conflict("no_notice", "No consent notice has been published yet.")
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


def erasure_request_create(
    *, employee: User, categories: Iterable[str] | None = None, channel: str = ConsentEvent.Channel.PORTAL
) -> ErasureRequest:
    """The employee asks for their captured data (all of it, or some categories) to be erased."""
    _require_employee(employee)
    wanted = _clean_categories(categories) if categories is not None else []
    with transaction.atomic():
        subject = subject_for_employee(employee)
        request = _erasure_request_create(
            subject=subject, categories=wanted, reason=ErasureRequest.Reason.EMPLOYEE_REQUEST
        )
        audit_record(
            actor=f"subject:{subject.pseudonym}",
            action="erasure.requested",
            target=f"subject:{subject.pseudonym}",
            detail={
                "erasure_request_id": str(request.id),
                "categories": request.categories,
                "reason": request.reason,
                "due_at": request.due_at.isoformat(),
                "channel": channel,
            },
        )
    return request


# --- Notices ----------------------------------------------------------------

NOTICE_TEXT_FIELDS = ("title", "summary", "access", "rights", "contact")
NOTICE_FIELDS = (*NOTICE_TEXT_FIELDS, "purposes", "categories")
PURPOSE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def _require_officer(actor: User) -> None:
    if not actor.has_role(Role.PRIVACY_OFFICER):
        raise NotPermitted("not_an_officer", "Only privacy officers manage notices, the allowlist and retention.")


def _clean_purposes(purposes: Any) -> list[dict[str, str]]:
    if not isinstance(purposes, list):
        raise InvalidInput("invalid_purposes", "Purposes must be a list of {id, description}.")
    cleaned, seen = [], set()
    for index, purpose in enumerate(purposes):
        if not isinstance(purpose, dict):
            raise InvalidInput("invalid_purposes", f"Purpose {index} must be an object with id and description.")
        pid = str(purpose.get("id", "")).strip()
        description = str(purpose.get("description", "")).strip()
        if not PURPOSE_ID.match(pid):
            raise InvalidInput(
                "invalid_purposes", f"Purpose {index}: id {pid!r} must be lowercase letters, digits and hyphens."
            )
        if not description:
            raise InvalidInput("invalid_purposes", f"Purpose {pid!r} needs a description.")
        if pid in seen:
            raise InvalidInput("invalid_purposes", f"Purpose id {pid!r} appears twice.")
        seen.add(pid)
        cleaned.append({"id": pid, "description": description})
    return cleaned


def _clean_notice_fields(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(fields) - set(NOTICE_FIELDS))
    if unknown:
        raise InvalidInput("unknown_field", f"Notices have no field(s): {', '.join(unknown)}.")
    cleaned: dict[str, Any] = {}
    for name in NOTICE_TEXT_FIELDS:
        if name in fields:
            value = str(fields[name] or "").strip()
            if not value:
                raise InvalidInput("invalid_notice", f"The notice's {name} cannot be empty.")
            cleaned[name] = value
    if "purposes" in fields:
        cleaned["purposes"] = _clean_purposes(fields["purposes"])
    if "categories" in fields:
        cleaned["categories"] = _clean_categories(fields["categories"] or [])
    return cleaned


def _notice_snapshot(notice: ConsentNotice) -> dict[str, Any]:
    return {
        "version": notice.version,
        "status": notice.status,
        **{name: getattr(notice, name) for name in NOTICE_FIELDS},
        "retention_days": notice.retention_days,
    }


def notice_create(*, actor: User, **fields: Any) -> ConsentNotice:
    """Write a new draft notice. Drafts are invisible to employees until published."""
    _require_officer(actor)
    cleaned = _clean_notice_fields(fields)
    missing = [name for name in NOTICE_FIELDS if name not in cleaned]
    if missing:
        raise InvalidInput("invalid_notice", f"A notice needs: {', '.join(missing)}.")
    with transaction.atomic():
        notice = ConsentNotice.objects.create(created_by=actor, **cleaned)
        audit_record(
            actor=actor,
            action="notice.created",
            target=f"notice:{notice.pk}",
            detail={"old": None, "new": _notice_snapshot(notice)},
        )
    return notice


def notice_update(*, actor: User, notice: ConsentNotice, **fields: Any) -> ConsentNotice:
    """Edit a draft. Published and superseded notices are immutable (409)."""
    _require_officer(actor)
    cleaned = _clean_notice_fields(fields)
    with transaction.atomic():
        notice = ConsentNotice.objects.select_for_update().get(pk=notice.pk)
        if notice.status != ConsentNotice.Status.DRAFT:
            raise Conflict(
                "notice_immutable",
                f"Notice v{notice.version} is {notice.status}; published notices cannot be changed. Write a new draft.",
            )
        old = _notice_snapshot(notice)
        for name, value in cleaned.items():
            setattr(notice, name, value)
        notice.save()
        audit_record(
            actor=actor,
            action="notice.updated",
            target=f"notice:{notice.pk}",
            detail={"old": old, "new": _notice_snapshot(notice)},
        )
    return notice


def notice_publish(*, actor: User, notice: ConsentNotice) -> ConsentNotice:
    """Publish a draft as the next version; the previous version becomes superseded.

    The retention stated in the notice is taken from the retention rules now.
    Employees holding a category the new notice no longer covers lose it with
    a ``superseded`` event, which moves their epoch so running collection
    tokens stop working; what both notices cover stays granted under the old
    version until the employee reviews the new one.
    """
    _require_officer(actor)
    with transaction.atomic():
        notice = ConsentNotice.objects.select_for_update().get(pk=notice.pk)
        if notice.status != ConsentNotice.Status.DRAFT:
            raise Conflict("notice_immutable", f"Notice v{notice.version} is already {notice.status}.")
        rules = dict(RetentionRule.objects.values_list("category", "max_age_days"))
        no_rule = [c for c in notice.categories if c not in rules]
        if no_rule:
            raise InvalidInput(
                "retention_missing", f"Set a retention rule before publishing; none for: {', '.join(sorted(no_rule))}."
            )
        if not notice.purposes or not notice.categories:
            raise InvalidInput("invalid_notice", "A published notice needs at least one purpose and one category.")
        previous = list(ConsentNotice.objects.select_for_update().filter(status=ConsentNotice.Status.PUBLISHED))
        last_version = ConsentNotice.objects.exclude(version__isnull=True).aggregate(v=Max("version"))["v"] or 0
        old = _notice_snapshot(notice)
        now = timezone.now()
        ConsentNotice.objects.filter(pk__in=[p.pk for p in previous]).update(status=ConsentNotice.Status.SUPERSEDED)
        notice.status = ConsentNotice.Status.PUBLISHED
        notice.version = last_version + 1
        notice.retention_days = {c: rules[c] for c in notice.categories}
        notice.published_by = actor
        notice.published_at = now
        notice.save()
        audit_record(
            actor=actor,
            action="notice.published",
            target=f"notice:{notice.pk}",
            detail={"old": old, "new": _notice_snapshot(notice), "superseded_versions": [p.version for p in previous]},
        )
        _supersede_dropped_categories(notice, actor=actor)
    return notice


def _supersede_dropped_categories(notice: ConsentNotice, *, actor: User) -> None:
    covered = set(notice.categories)
    for state in ConsentState.objects.select_for_update().select_related("subject").order_by("subject_id"):
        dropped = sorted(c for c in state.granted if c not in covered)
        if dropped:
            _append(
                subject=state.subject,
                state=state,
                kind=ConsentEvent.Kind.SUPERSEDED,
                notice=notice,
                categories=dropped,
                excluded_apps=state.excluded_apps,
                channel=ConsentEvent.Channel.SYSTEM,
                actor=actor,
            )


# --- Allowlist and retention --------------------------------------------------

# Bundle ids (com.example.App) and executable names (Code.exe, firefox). No
# wildcards, spaces or path separators: an entry names exactly one application.
APP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$")


def _clean_app_id(app_id: str) -> str:
    value = (app_id or "").strip()
    if not value:
        raise InvalidInput("invalid_app_id", "The application id cannot be empty.")
    if any(ch in value for ch in "*?%[]"):
        raise InvalidInput(
            "invalid_app_id", f"Wildcards are not allowed in application ids ({value!r}); name one application."
        )
    if not APP_ID.match(value):
        raise InvalidInput(
            "invalid_app_id",
            f"{value!r} is not a bundle id or executable name (letters, digits, '.', '_', '+', '-'; no spaces).",
        )
    return value


def _app_snapshot(app: AllowedApplication) -> dict[str, Any]:
    return {"app_id": app.app_id, "display_name": app.display_name, "categories": list(app.categories)}


def allowlist_add(*, actor: User, app_id: str, display_name: str, categories: Iterable[str]) -> AllowedApplication:
    """Permit capture on one application for the given categories."""
    _require_officer(actor)
    app_id = _clean_app_id(app_id)
    name = (display_name or "").strip()
    if not name:
        raise InvalidInput("invalid_display_name", "The display name cannot be empty.")
    wanted = _clean_categories(categories)
    with transaction.atomic():
        if AllowedApplication.objects.filter(app_id=app_id).exists():
            raise Conflict("app_exists", f"{app_id} is already on the allowlist.")
        app = AllowedApplication.objects.create(app_id=app_id, display_name=name, categories=wanted)
        audit_record(
            actor=actor,
            action="allowlist.added",
            target=f"app:{app_id}",
            detail={"old": None, "new": _app_snapshot(app)},
        )
    return app


def allowlist_update(
    *, actor: User, app: AllowedApplication, display_name: str | None = None, categories: Iterable[str] | None = None
) -> AllowedApplication:
    """Change an allowed application's display name or permitted categories."""
    _require_officer(actor)
    with transaction.atomic():
        app = AllowedApplication.objects.select_for_update().get(pk=app.pk)
        old = _app_snapshot(app)
        if display_name is not None:
            name = display_name.strip()
            if not name:
                raise InvalidInput("invalid_display_name", "The display name cannot be empty.")
            app.display_name = name
        if categories is not None:
            app.categories = _clean_categories(categories)
        app.save()
        audit_record(
            actor=actor,
            action="allowlist.updated",
            target=f"app:{app.app_id}",
            detail={"old": old, "new": _app_snapshot(app)},
        )
    return app


def allowlist_remove(*, actor: User, app: AllowedApplication) -> None:
    """Stop capture on an application; ingestion refuses its events from now on."""
    _require_officer(actor)
    with transaction.atomic():
        app = AllowedApplication.objects.select_for_update().get(pk=app.pk)
        old = _app_snapshot(app)
        app.delete()
        audit_record(
            actor=actor, action="allowlist.removed", target=f"app:{old['app_id']}", detail={"old": old, "new": None}
        )


MAX_RETENTION_DAYS = 3650


def retention_set(*, actor: User, rules: dict[str, Any]) -> list[RetentionRule]:
    """Set the maximum age for the categories given; the others keep their rule."""
    _require_officer(actor)
    if not rules:
        raise InvalidInput("no_rules", "Give at least one category and its maximum age in days.")
    _clean_categories(rules)
    cleaned: dict[str, int] = {}
    for category, days in rules.items():
        if isinstance(days, bool) or not isinstance(days, int):
            raise InvalidInput("invalid_retention", f"{category}: the maximum age must be a whole number of days.")
        if days < 1 or days > MAX_RETENTION_DAYS:
            raise InvalidInput(
                "invalid_retention",
                f"{category}: the maximum age must be between 1 and {MAX_RETENTION_DAYS} days, not {days}.",
            )
        cleaned[category] = days
    with transaction.atomic():
        existing = {r.category: r for r in RetentionRule.objects.select_for_update()}
        old = {c: r.max_age_days for c, r in existing.items()}
        for category, days in cleaned.items():
            rule = existing.get(category)
            if rule is None:
                RetentionRule.objects.create(category=category, max_age_days=days)
            elif rule.max_age_days != days:
                rule.max_age_days = days
                rule.save()
        new = dict(RetentionRule.objects.values_list("category", "max_age_days"))
        audit_record(actor=actor, action="retention.changed", target="retention", detail={"old": old, "new": new})
    return list(RetentionRule.objects.all())


def consent_set_choices(
    *, employee: User, categories: Iterable[str], notice_version: int, channel: str = ConsentEvent.Channel.PORTAL
) -> list[ConsentEvent]:
    """Make the employee's granted categories exactly ``categories``: one withdrawal and one grant at most, atomically."""
    _require_employee(employee)
    wanted = set(categories)
    if wanted:
        _clean_categories(wanted)
    events: list[ConsentEvent] = []
    with transaction.atomic():
        held = set(_locked_state(subject_for_employee(employee)).granted)
        if held - wanted:
            events.append(consent_withdraw(employee=employee, categories=sorted(held - wanted), channel=channel))
        if wanted - held:
            events.append(
                consent_grant(
                    employee=employee, categories=sorted(wanted - held), notice_version=notice_version, channel=channel
                )
            )
    return events
