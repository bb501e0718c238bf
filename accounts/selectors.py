"""Reads of accounts, with the permission rule each carries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.contrib.auth.tokens import default_token_generator
from django.db.models import Q, QuerySet
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode

from accounts.models import ApiToken, Role, User
from collection.models import Device
from config.errors import NotFound


def users_for_admin(*, actor: User, search: str = "", role: str = "") -> QuerySet[User]:
    """All accounts, for an administrator; nobody else lists accounts.

    ``search`` keeps accounts whose username, first or last name, email or
    department contains every word of it (case-insensitive), so "alice
    smith" finds Alice Smith; ``role`` keeps those holding that role.
    """
    if not actor.has_role(Role.ADMIN):
        return User.objects.none()
    users = User.objects.all()
    for word in search.split():
        users = users.filter(
            Q(username__icontains=word)
            | Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(email__icontains=word)
            | Q(department__icontains=word)
        )
    if role:
        # One row per (user, role), so this join never repeats an account.
        users = users.filter(roles__role=role)
    return users.prefetch_related("roles").order_by("username")


def user_for_admin(*, actor: User, username: str) -> User:
    # No account name holds a NUL, and PostgreSQL refuses one in a query (a 500).
    user = None if "\x00" in username else users_for_admin(actor=actor).filter(username=username).first()
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


@dataclass(frozen=True)
class DisableEffects:
    """What disabling an account stops at once, for the confirmation page."""

    active_devices: int
    api_tokens: int


def disable_effects_for_admin(*, actor: User, user: User) -> DisableEffects:
    """Counts an administrator sees before disabling ``user``: capture devices and API tokens that stop working."""
    user = user_for_admin(actor=actor, username=user.username)
    return DisableEffects(
        active_devices=Device.objects.filter(employee=user, revoked_at__isnull=True).count(),
        api_tokens=ApiToken.objects.filter(user=user).count(),
    )


def user_id_from_link(uidb64: str) -> int | None:
    """The account id a set-password link encodes, or None when it is not one."""
    try:
        value = force_str(urlsafe_base64_decode(uidb64))
    except (ValueError, TypeError, OverflowError, UnicodeDecodeError):
        return None
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None


def user_for_password_link(*, uidb64: str, token: str) -> User | None:
    """The active account a set-password link is for while its token is valid (unused, unexpired); else None."""
    pk = user_id_from_link(uidb64)
    user = User.objects.filter(pk=pk, is_active=True).first() if pk is not None else None
    if user is None or not default_token_generator.check_token(user, token):
        return None
    return user
