"""Preconditions shared by the consent services: who may act, and which data categories exist."""

from __future__ import annotations

from collections.abc import Iterable

from accounts.guards import require_role
from accounts.models import Role, User
from config.errors import InvalidInput
from consent.models import DataCategory


def require_employee(employee: User) -> None:
    """Only employees have consent of their own to give, change or withdraw."""
    require_role(employee, Role.EMPLOYEE, code="not_an_employee", message="Only employees give or withdraw consent.")


def require_officer(actor: User) -> None:
    """Notices, the allowlist and retention are the privacy officers' to manage."""
    require_role(
        actor,
        Role.PRIVACY_OFFICER,
        code="not_an_officer",
        message="Only privacy officers manage notices, the allowlist and retention.",
    )


def clean_categories(categories: Iterable[str]) -> list[str]:
    """The categories sorted and deduplicated; at least one, and each a known ``DataCategory``."""
    cleaned = sorted(set(categories))
    unknown = [c for c in cleaned if c not in DataCategory.values]
    if unknown:
        raise InvalidInput("unknown_category", f"Unknown data categories: {', '.join(unknown)}.")
    if not cleaned:
        raise InvalidInput("no_categories", "Name at least one data category.")
    return cleaned
