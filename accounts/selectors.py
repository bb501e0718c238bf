"""Reads of accounts, with the permission rule each carries."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Role, User
from config.errors import NotFound


def users_for_admin(*, actor: User) -> QuerySet[User]:
    """All accounts, for an administrator; nobody else lists accounts."""
    if not actor.has_role(Role.ADMIN):
        return User.objects.none()
    return User.objects.prefetch_related("roles").order_by("username")


def user_for_admin(*, actor: User, username: str) -> User:
    # No account name holds a NUL, and PostgreSQL refuses one in a query (a 500).
    user = None if "\x00" in username else users_for_admin(actor=actor).filter(username=username).first()
    if user is None:
        raise NotFound("not_found", f"No account named {username!r}.")
    return user
