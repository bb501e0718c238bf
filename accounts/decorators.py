"""The one way portal views require a role: sign in first, then hold the role (else 403).

``@employee_required``, ``@officer_required``, ``@auditor_required`` and
``@admin_required`` cover each console; ``@role_required(Role.X, Role.Y)`` any
of several roles.  This is the entry gate only: the selectors and services a
view calls check the actor again, and answer 404 for records it may not see.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from accounts.models import Role

View = TypeVar("View", bound=Callable[..., Any])


def role_required(*roles: str) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not request.user.has_role(*roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


employee_required = role_required(Role.EMPLOYEE)
officer_required = role_required(Role.PRIVACY_OFFICER)
auditor_required = role_required(Role.AUDITOR)
admin_required = role_required(Role.ADMIN)
