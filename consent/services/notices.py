"""Consent notices: officers write drafts, edit them, and publish them as the next version.

Publishing supersedes the previous version and ends consent to the categories
the new one drops.  Locks follow ``consent.locks``: the current notice, then
the draft, then every consent state.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import User
from audit.actions import AuditAction
from audit.services import audit_record
from config.errors import Conflict, InvalidInput
from consent import locks
from consent.models import ConsentEvent, ConsentNotice, ConsentState, RetentionRule
from consent.services.capture_rules import MAX_RETENTION_DAYS
from consent.services.changes import consent_event_append
from consent.services.guards import clean_categories, require_officer

NOTICE_TEXT_FIELDS = ("title", "summary", "access", "rights", "contact")
NOTICE_FIELDS = (*NOTICE_TEXT_FIELDS, "purposes", "categories")
PURPOSE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


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


def _clean_retention_days(value: Any) -> dict[str, int]:
    """A draft's stated retention: {category: days}, each a whole number from 1 to ``MAX_RETENTION_DAYS``."""
    if not isinstance(value, dict):
        raise InvalidInput("invalid_retention", "retention_days must map categories to a number of days.")
    if value:
        clean_categories(list(value))
    cleaned = {}
    for category, days in sorted(value.items()):
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_RETENTION_DAYS:
            raise InvalidInput(
                "invalid_retention",
                f"{category}: the notice must state a whole number of days from 1 to {MAX_RETENTION_DAYS}, not {days!r}.",
            )
        cleaned[category] = days
    return cleaned


def _clean_notice_fields(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(fields) - {*NOTICE_FIELDS, "retention_days"})
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
        cleaned["categories"] = clean_categories(fields["categories"] or [])
    if fields.get("retention_days") is not None:
        cleaned["retention_days"] = _clean_retention_days(fields["retention_days"])
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
    require_officer(actor)
    cleaned = _clean_notice_fields(fields)
    missing = [name for name in NOTICE_FIELDS if name not in cleaned]
    if missing:
        raise InvalidInput("invalid_notice", f"A notice needs: {', '.join(missing)}.")
    with transaction.atomic():
        notice = ConsentNotice.objects.create(created_by=actor, **cleaned)
        audit_record(
            actor=actor,
            action=AuditAction.NOTICE_CREATED,
            target=f"notice:{notice.pk}",
            detail={"old": None, "new": _notice_snapshot(notice)},
        )
    return notice


def notice_update(*, actor: User, notice: ConsentNotice, **fields: Any) -> ConsentNotice:
    """Edit a draft. Published and superseded notices are immutable (a conflict)."""
    require_officer(actor)
    cleaned = _clean_notice_fields(fields)
    with transaction.atomic():
        notice = locks.notice_lock(notice)
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
            action=AuditAction.NOTICE_UPDATED,
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
    require_officer(actor)
    with transaction.atomic():
        # The current notice before the draft: consent changes lock it first too.
        previous = locks.notices_lock_published()
        notice = locks.notice_lock(notice)
        if notice.status != ConsentNotice.Status.DRAFT:
            raise Conflict("notice_immutable", f"Notice v{notice.version} is already {notice.status}.")
        rules = dict(RetentionRule.objects.values_list("category", "max_age_days"))
        # What the notice tells employees: the draft's own figure, else the rule in force now.
        stated = {c: (notice.retention_days or {}).get(c) or rules.get(c) for c in notice.categories}
        no_rule = [c for c, days in stated.items() if days is None]
        if no_rule:
            raise InvalidInput(
                "retention_missing",
                f"State a retention in the draft or set a rule before publishing; none for: {', '.join(sorted(no_rule))}.",
            )
        if not notice.purposes or not notice.categories:
            raise InvalidInput("invalid_notice", "A published notice needs at least one purpose and one category.")
        # Every state now, before the audit entry below: the audit log comes last in the lock order.
        states = list(locks.consent_states_lock_all())
        last_version = ConsentNotice.objects.exclude(version__isnull=True).aggregate(v=Max("version"))["v"] or 0
        old = _notice_snapshot(notice)
        now = timezone.now()
        ConsentNotice.objects.filter(pk__in=[p.pk for p in previous]).update(status=ConsentNotice.Status.SUPERSEDED)
        notice.status = ConsentNotice.Status.PUBLISHED
        notice.version = last_version + 1
        notice.retention_days = {c: int(days) for c, days in stated.items() if days is not None}
        notice.published_by = actor
        notice.published_at = now
        notice.save()
        audit_record(
            actor=actor,
            action=AuditAction.NOTICE_PUBLISHED,
            target=f"notice:{notice.pk}",
            detail={"old": old, "new": _notice_snapshot(notice), "superseded_versions": [p.version for p in previous]},
        )
        _supersede_dropped_categories(notice, states, actor=actor)
        _lower_rules_to(notice, actor=actor)
    return notice


def _lower_rules_to(notice: ConsentNotice, *, actor: User) -> None:
    """Rules longer than what ``notice`` now tells employees come down to it, in the same transaction."""
    existing = locks.retention_rules_lock()
    old = {c: r.max_age_days for c, r in existing.items()}
    lowered = False
    for category, days in notice.retention_days.items():
        rule = existing.get(category)
        if rule is not None and rule.max_age_days > days:
            rule.max_age_days = days
            rule.save(update_fields=["max_age_days"])
            lowered = True
    if lowered:
        audit_record(
            actor=actor,
            action=AuditAction.RETENTION_CHANGED,
            target="retention",
            detail={"old": old, "new": {c: r.max_age_days for c, r in existing.items()}, "notice": notice.version},
        )


def _supersede_dropped_categories(notice: ConsentNotice, states: list[ConsentState], *, actor: User) -> None:
    """End consent to what ``notice`` no longer covers, for each of the (locked) ``states``."""
    covered = set(notice.categories)
    for state in states:
        dropped = sorted(c for c in state.granted if c not in covered)
        if dropped:
            consent_event_append(
                subject=state.subject,
                state=state,
                kind=ConsentEvent.Kind.SUPERSEDED,
                notice=notice,
                categories=dropped,
                excluded_apps=state.excluded_apps,
                channel=ConsentEvent.Channel.SYSTEM,
                actor=actor,
            )
