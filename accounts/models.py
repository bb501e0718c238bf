"""Accounts, the roles they hold, and hashed API tokens."""

from __future__ import annotations

import hashlib
import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    EMPLOYEE = "employee", "Employee"
    PRIVACY_OFFICER = "privacy_officer", "Privacy officer"
    REQUESTER = "requester", "Requester"
    AUDITOR = "auditor", "Auditor"
    ADMIN = "admin", "Administrator"


class User(AbstractUser):
    """A person who signs in. Roles are held in ``UserRole``; a user may hold several."""

    department = models.CharField(max_length=100, blank=True, default="")

    @property
    def role_set(self) -> frozenset[str]:
        cached = getattr(self, "_role_cache", None)
        if cached is None:
            if not self.pk:
                cached = frozenset()
            elif "roles" in getattr(self, "_prefetched_objects_cache", {}):
                cached = frozenset(r.role for r in self.roles.all())
            else:
                cached = frozenset(self.roles.values_list("role", flat=True))
            self._role_cache = cached
        return cached

    def has_role(self, *roles: str) -> bool:
        """True when the user holds at least one of ``roles``."""
        return bool(self.role_set.intersection(roles))

    def forget_roles(self) -> None:
        self.__dict__.pop("_role_cache", None)
        getattr(self, "_prefetched_objects_cache", {}).pop("roles", None)


class UserRole(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(max_length=32, choices=Role.choices)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "role"], name="unique_user_role"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="role_is_known"),
        ]
        ordering = ["role"]

    def __str__(self) -> str:
        return f"{self.user.username}: {self.role}"


class ApiToken(models.Model):
    """A bearer token for scripts. Only its SHA-256 is stored; the value is shown once.

    ``public_id`` names the token to its owner (listing, revoking) without
    revealing anything that authenticates; it expires ``expires_at``.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"API token of {self.user.username}"

    @staticmethod
    def digest_of(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()
