"""Capture rules set by privacy officers: the application allowlist and the retention rules.

Locks follow ``consent.locks``: the allowlist entry or the retention rules,
then the audit log.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from accounts.models import User
from audit.actions import AuditAction
from audit.services import audit_record
from config.errors import Conflict, InvalidInput, NotFound
from consent import locks
from consent.models import AllowedApplication, RetentionRule
from consent.services.guards import clean_categories, require_officer

# Bundle ids (com.example.App) and executable names (Code.exe, firefox). No
# wildcards, spaces or path separators: an entry names exactly one application.
APP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$")

MAX_RETENTION_DAYS = 3650


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
    require_officer(actor)
    app_id = _clean_app_id(app_id)
    name = (display_name or "").strip()
    if not name:
        raise InvalidInput("invalid_display_name", "The display name cannot be empty.")
    wanted = clean_categories(categories)
    with transaction.atomic():
        if AllowedApplication.objects.filter(app_id=app_id).exists():
            raise Conflict("app_exists", f"{app_id} is already on the allowlist.")
        app = AllowedApplication.objects.create(app_id=app_id, display_name=name, categories=wanted)
        audit_record(
            actor=actor,
            action=AuditAction.ALLOWLIST_ADDED,
            target=f"app:{app_id}",
            detail={"old": None, "new": _app_snapshot(app)},
        )
    return app


def allowlist_update(
    *, actor: User, app: AllowedApplication, display_name: str | None = None, categories: Iterable[str] | None = None
) -> AllowedApplication:
    """Change an allowed application's display name or permitted categories."""
    require_officer(actor)
    with transaction.atomic():
        app = locks.allowed_application_lock(app)
        old = _app_snapshot(app)
        if display_name is not None:
            name = display_name.strip()
            if not name:
                raise InvalidInput("invalid_display_name", "The display name cannot be empty.")
            app.display_name = name
        if categories is not None:
            app.categories = clean_categories(categories)
        app.save()
        audit_record(
            actor=actor,
            action=AuditAction.ALLOWLIST_UPDATED,
            target=f"app:{app.app_id}",
            detail={"old": old, "new": _app_snapshot(app)},
        )
    return app


def allowlist_save(*, actor: User, rows: list[tuple[str, str, list[str]]]) -> list[AllowedApplication]:
    """Save the whole allowlist table at once: ``(app_id, display_name, categories)`` per row.

    All or nothing: every row is checked before any is written, an entry
    removed meanwhile refuses the save, and only rows that change are
    written (one audit entry each).  Entries are locked in primary-key order.
    """
    require_officer(actor)
    by_id = {app_id: (name, categories) for app_id, name, categories in rows}
    if len(by_id) != len(rows):
        raise InvalidInput("duplicate_application", "The table names one application twice; reload the page.")
    with transaction.atomic():
        apps = list(AllowedApplication.objects.filter(app_id__in=by_id).order_by("pk"))
        missing = sorted(set(by_id) - {app.app_id for app in apps})
        if missing:
            raise NotFound(
                "not_found", f"No longer on the allowlist: {', '.join(missing)}. Reload the page; nothing was saved."
            )
        changed = []
        for app in apps:
            app = locks.allowed_application_lock(app)
            name, categories = by_id[app.app_id]
            name = name.strip()
            if not name:
                raise InvalidInput("invalid_display_name", f"Give {app.app_id} a display name; nothing was saved.")
            wanted = clean_categories(categories)
            if name != app.display_name or sorted(wanted) != sorted(app.categories):
                changed.append(allowlist_update(actor=actor, app=app, display_name=name, categories=wanted))
    return changed


def allowlist_remove(*, actor: User, app: AllowedApplication) -> None:
    """Stop capture on an application; ingestion refuses its events from now on."""
    require_officer(actor)
    with transaction.atomic():
        app = locks.allowed_application_lock(app)
        old = _app_snapshot(app)
        app.delete()
        audit_record(
            actor=actor,
            action=AuditAction.ALLOWLIST_REMOVED,
            target=f"app:{old['app_id']}",
            detail={"old": old, "new": None},
        )


def retention_set(*, actor: User, rules: dict[str, Any]) -> list[RetentionRule]:
    """Set the maximum age for the categories given; the others keep their rule."""
    require_officer(actor)
    if not rules:
        raise InvalidInput("no_rules", "Give at least one category and its maximum age in days.")
    clean_categories(rules)
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
        existing = locks.retention_rules_lock()
        old = {c: r.max_age_days for c, r in existing.items()}
        for category, days in cleaned.items():
            rule = existing.get(category)
            if rule is None:
                RetentionRule.objects.create(category=category, max_age_days=days)
            elif rule.max_age_days != days:
                rule.max_age_days = days
                rule.save()
        new = dict(RetentionRule.objects.values_list("category", "max_age_days"))
        audit_record(
            actor=actor, action=AuditAction.RETENTION_CHANGED, target="retention", detail={"old": old, "new": new}
        )
    return list(RetentionRule.objects.all())
