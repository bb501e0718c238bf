"""Role permission classes for API views: ``permission_classes = [IsAuditor]``."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from accounts.models import Role


class HasRole(BasePermission):
    roles: tuple[str, ...] = ()
    message = "Your account does not hold the role this requires."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_role(*self.roles))


def role_permission(*roles: str) -> type[HasRole]:
    names = " or ".join(roles)
    return type(
        f"Has_{'_'.join(roles)}",
        (HasRole,),
        {"roles": roles, "message": f"This requires the {names} role."},
    )


IsEmployee = role_permission(Role.EMPLOYEE)
IsPrivacyOfficer = role_permission(Role.PRIVACY_OFFICER)
IsRequester = role_permission(Role.REQUESTER)
IsAuditor = role_permission(Role.AUDITOR)
IsAdmin = role_permission(Role.ADMIN)
