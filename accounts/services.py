"""Account use cases: creating users, changing roles, signing in, API tokens, set-password links."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.locks import account_lock
from accounts.models import ApiToken, Role, User, UserRole
from accounts.selectors import api_token_for_owner, user_id_from_link
from accounts.throttling import LoginBlocked, check_login_allowed, record_login_failure
from audit.actions import AuditAction
from audit.services import audit_record
from audit.targets import user_target
from collection.services import devices_revoke_all
from config.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, NotPermitted, RateLimited

# Who changes accounts: an administrator, or the system itself (operator
# commands such as add_user and seed_demo, tests, benchmarks) named as a
# "system:<what>" string.  Every account service checks its actor here, so
# no caller (API view, portal page, command) is trusted to have checked.
Actor = User | str


def _require_admin(actor: Actor) -> None:
    if isinstance(actor, str):
        if actor.startswith("system:"):
            return
    elif actor.is_authenticated and actor.is_active and actor.has_role(Role.ADMIN):
        return
    raise NotPermitted("admin_required", "Only an administrator manages accounts and roles.")


# Roles an administrator may not hold on the same account: with them an admin
# could read (or approve access to) what it can also grant itself, and the
# audit log would name one person on both sides.
ADMIN_EXCLUDES = frozenset({Role.AUDITOR.value, Role.PRIVACY_OFFICER.value, Role.REQUESTER.value})


def _clean_roles(roles: Iterable[str]) -> list[str]:
    cleaned = sorted(set(roles))
    unknown = [r for r in cleaned if r not in Role.values]
    if unknown:
        raise InvalidInput(
            "unknown_role", f"Unknown role(s): {', '.join(unknown)}. Known roles: {', '.join(Role.values)}."
        )
    clashing = sorted(ADMIN_EXCLUDES.intersection(cleaned))
    if Role.ADMIN in cleaned and clashing:
        raise InvalidInput(
            "incompatible_roles",
            f"The admin role cannot be combined with {', '.join(clashing)} on one account: "
            "whoever manages accounts must not also read the audit log, consent rates or datasets. "
            "Use a separate account for each.",
            extra={"roles": [Role.ADMIN.value, *clashing]},
        )
    return cleaned


def _refuse_own_account(actor: Actor, user: User) -> None:
    """Nobody changes their own roles or status: a second administrator must do it."""
    if isinstance(actor, User) and actor.pk == user.pk:
        raise NotPermitted(
            "cannot_change_own_account",
            "You cannot change the roles or the status of your own account; ask another administrator.",
        )


def user_create(
    *,
    actor: Actor,
    username: str,
    roles: Iterable[str],
    email: str = "",
    password: str | None = None,
    department: str = "",
    first_name: str = "",
    last_name: str = "",
    check_password: bool = True,
) -> User:
    """Create an account with its roles. Without a password the account cannot sign in until one is set."""
    _require_admin(actor)
    role_list = _clean_roles(roles)
    if not username or not username.strip():
        raise InvalidInput("invalid_username", "A username is required.")
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict("username_taken", f"The username {username!r} is already taken.")
    user = User(username=username, email=email, department=department, first_name=first_name, last_name=last_name)
    if password:
        if check_password:
            try:
                validate_password(password, user)
            except ValidationError as exc:
                raise InvalidInput("weak_password", " ".join(exc.messages)) from None
        user.set_password(password)
    else:
        user.set_unusable_password()
    with transaction.atomic():
        # Only administrators reach the Django admin (read-only there); the
        # other roles work in the portal, which does not look at is_staff.
        user.is_staff = Role.ADMIN in role_list
        user.save()
        UserRole.objects.bulk_create([UserRole(user=user, role=r) for r in role_list])
        audit_record(
            actor=actor,
            action=AuditAction.ACCOUNT_CREATE,
            target=user_target(user.username),
            detail={"roles": role_list, "department": department},
        )
    return user


def user_set_roles(*, actor: Actor, user: User, roles: Iterable[str]) -> User:
    """An administrator replaces the roles another account holds.

    Nobody changes their own roles, and admin does not combine with the roles
    that read data or the log.  Taking ``employee`` away revokes the person's
    capture devices in the same transaction, so capture stops at once.
    """
    _require_admin(actor)
    _refuse_own_account(actor, user)
    role_list = _clean_roles(roles)
    with transaction.atomic():
        account_lock(user)
        before = sorted(UserRole.objects.filter(user=user).values_list("role", flat=True))
        UserRole.objects.filter(user=user).exclude(role__in=role_list).delete()
        UserRole.objects.bulk_create(
            [UserRole(user=user, role=r) for r in role_list if r not in before], ignore_conflicts=True
        )
        User.objects.filter(pk=user.pk).update(is_staff=Role.ADMIN in role_list)
        if Role.EMPLOYEE in before and Role.EMPLOYEE not in role_list:
            devices_revoke_all(employee=user, actor=actor, reason="employee role removed")
        if before != role_list:
            audit_record(
                actor=actor,
                action=AuditAction.ACCOUNT_ROLES,
                target=user_target(user.username),
                detail={"old": before, "new": role_list},
            )
    user.forget_roles()
    user.is_staff = Role.ADMIN in role_list
    return user


def user_set_active(*, actor: Actor, user: User, active: bool) -> User:
    """An administrator enables or disables sign-in for another account.

    Disabling also deletes its API tokens and revokes its capture devices, in
    the same transaction, so neither scripts nor capture clients go on.
    """
    _require_admin(actor)
    _refuse_own_account(actor, user)
    with transaction.atomic():
        account_lock(user)
        User.objects.filter(pk=user.pk).update(is_active=active)
        if not active:
            ApiToken.objects.filter(user=user).delete()
            devices_revoke_all(employee=user, actor=actor, reason="account disabled")
        audit_record(
            actor=actor,
            action=AuditAction.ACCOUNT_ENABLE if active else AuditAction.ACCOUNT_DISABLE,
            target=user_target(user.username),
            detail={},
        )
    user.is_active = active
    return user


def user_update(*, actor: Actor, user: User, roles: Iterable[str] | None = None, is_active: bool | None = None) -> User:
    """An administrator changes another account's roles and/or whether it may sign in, in one transaction."""
    _require_admin(actor)
    _refuse_own_account(actor, user)
    with transaction.atomic():
        if roles is not None:
            user = user_set_roles(actor=actor, user=user, roles=roles)
        if is_active is not None:
            user = user_set_active(actor=actor, user=user, active=is_active)
    return user


@dataclass(frozen=True)
class PasswordLink:
    """A one-time set-password link's parts (``/accounts/set-password/<uidb64>/<token>``), shown once."""

    username: str
    uidb64: str
    token: str


def password_link_issue(*, actor: Actor, user: User) -> PasswordLink:
    """An administrator issues a one-time link with which ``user`` sets a new password.

    The token is Django's ``default_token_generator``: valid
    ``PASSWORD_RESET_TIMEOUT`` seconds and void once the password changes (so
    it works once).  Nobody issues one for themselves: a stolen administrator
    session could otherwise take the account over for good without knowing
    its password.  A disabled account gets none (enable it first), since the
    link would not let its holder sign in anyway.
    """
    _require_admin(actor)
    if isinstance(actor, User) and actor.pk == user.pk:
        raise NotPermitted(
            "cannot_change_own_account",
            "You cannot issue a set-password link for your own account; ask another administrator.",
        )
    with transaction.atomic():
        fresh = account_lock(user)
        if not fresh.is_active:
            raise Conflict(
                "account_disabled",
                f"{fresh.username} is disabled: enable the account first, then issue a set-password link.",
            )
        token = default_token_generator.make_token(fresh)
        audit_record(
            actor=actor,
            action=AuditAction.ACCOUNT_PASSWORD_LINK,
            target=user_target(fresh.username),
            detail={"valid_seconds": settings.PASSWORD_RESET_TIMEOUT},
        )
    return PasswordLink(username=fresh.username, uidb64=urlsafe_base64_encode(force_bytes(fresh.pk)), token=token)


def user_invite(
    *,
    actor: Actor,
    username: str,
    roles: Iterable[str],
    email: str = "",
    department: str = "",
    first_name: str = "",
    last_name: str = "",
) -> PasswordLink:
    """Create an account without a password and issue its first set-password link, in one transaction.

    The administrator hands the link over; the account cannot sign in until
    its holder has used it.
    """
    with transaction.atomic():
        user = user_create(
            actor=actor,
            username=username,
            roles=roles,
            email=email,
            department=department,
            first_name=first_name,
            last_name=last_name,
        )
        return password_link_issue(actor=actor, user=user)


def _link_user_locked(uidb64: str, token: str) -> User:
    """The active account a set-password link names, locked, if its token is still valid; else ``NotFound``.

    One answer for every failure (malformed, unknown account, disabled,
    expired, already used), so the link reveals nothing about accounts.
    """
    pk = user_id_from_link(uidb64)
    user = User.objects.select_for_update().filter(pk=pk, is_active=True).first() if pk is not None else None
    if user is None or not default_token_generator.check_token(user, token):
        raise NotFound(
            "invalid_link",
            "This set-password link is not valid: it has been used already, has expired or was mistyped. "
            "Ask an administrator for a new one.",
        )
    return user


def password_set_by_link(*, uidb64: str, token: str, password: str) -> User:
    """The holder of a set-password link sets their password; the link stops working.

    The token is checked again under the account's row lock, so of two
    submissions of one link only the first sets a password (the second sees
    the changed password hash and fails).  The password validators apply.
    API tokens are deleted and other sessions end (Django checks a session
    against the password hash), since a reset often follows a lost password.
    """
    with transaction.atomic():
        user = _link_user_locked(uidb64, token)
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise InvalidInput("weak_password", " ".join(exc.messages)) from None
        user.set_password(password)
        user.save(update_fields=["password"])
        revoked, _ = ApiToken.objects.filter(user=user).delete()
        audit_record(
            actor=user,
            action=AuditAction.ACCOUNT_PASSWORD_SET,
            target=user_target(user.username),
            detail={"api_tokens_revoked": revoked},
        )
    return user


def login_attempt(*, request, username: str, password: str) -> User:
    """Check credentials with rate limiting per account and per client address.

    Raises ``NotAuthenticated`` for bad credentials, ``RateLimited`` after too many failures.
    """
    from accounts.throttling import client_address

    address = client_address(request)
    try:
        check_login_allowed(username, address)
    except LoginBlocked as blocked:
        raise RateLimited(
            "rate_limited",
            f"Too many failed sign-in attempts. Try again in {blocked.retry_after} seconds.",
            retry_after=blocked.retry_after,
        ) from None
    user = authenticate(request, username=username, password=password)
    if user is None:
        record_login_failure(username, address)
        raise NotAuthenticated("invalid_credentials", "The username or password is not correct.")
    return user


@dataclass(frozen=True)
class IssuedApiToken:
    """A new API token's value, shown this once, and its stored record."""

    value: str
    token: ApiToken


def api_token_create(*, user: User) -> IssuedApiToken:
    """Issue a new API token valid ``API_TOKEN_LIFETIME_DAYS``; only its hash is kept.

    Like a portal sign-in, issuing one is not an audit entry (the password
    check before it is rate-limited instead); revoking one is.
    """
    raw = secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user,
        digest=ApiToken.digest_of(raw),
        created_at=now,
        expires_at=now + timedelta(days=settings.API_TOKEN_LIFETIME_DAYS),
    )
    return IssuedApiToken(value=raw, token=token)


def api_token_revoke(*, actor: User, public_id: uuid.UUID | str) -> None:
    """The owner revokes one of their API tokens; anybody else's id is not found."""
    with transaction.atomic():
        token = api_token_for_owner(actor=actor, public_id=public_id, lock=True)
        token.delete()
        audit_record(
            actor=actor,
            action=AuditAction.API_TOKEN_REVOKE,
            target=user_target(actor.username),
            detail={"token_id": str(public_id)},
        )
