"""Reads of accounts, with the permission rule each carries."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from accounts.models import ApiToken, Role, User
from config.errors import NotFound


def users_for_admin(*, actor: User) -> QuerySet[User]:
    """All accounts, for an administrator; nobody else lists accounts."""
    if not actor.has_role(Role.ADMIN):
        return User.objects.none()
    return User.objects.prefetch_related("roles").order_by("username")


def user_for_admin(*, actor: User, username: str) -> User:
    user = users_for_admin(actor=actor).filter(username=username).first()
    if user is None:
        raise NotFound("not_found", f"No account named {username!r}.")
    return user


def api_tokens_for_owner(*, actor: User) -> QuerySet[ApiToken]:
    """The actor's own API tokens, newest first; nobody lists anybody else's."""
    if not getattr(actor, "is_authenticated", False) or not isinstance(actor, User):
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user=actor).order_by("-created_at", "-pk")


def api_token_for_owner(*, actor: User, public_id: uuid.UUID | str, lock: bool = False) -> ApiToken:
    """One of the actor's own tokens by its public id; another's, or none, is not found."""
    try:
        wanted = uuid.UUID(str(public_id))
    except ValueError:
        raise NotFound("not_found", "No such API token.") from None
    tokens = api_tokens_for_owner(actor=actor)
    token = (tokens.select_for_update() if lock else tokens).filter(public_id=wanted).first()
    if token is None:
        raise NotFound("not_found", "No such API token.")
    return token
