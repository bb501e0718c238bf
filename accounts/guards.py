"""The one role check services use: ``require_role(actor, Role.EMPLOYEE, ...)``.

Services state who may act in their own words (the code and sentence the
caller gets back); the check itself is this one function.  Portal views use
``accounts.decorators`` and API views ``accounts.permissions`` for the same
roles; the services check again, because they are the last line.
"""

from __future__ import annotations

from accounts.models import User
from config.errors import NotPermitted


def require_role(actor: User, role: str, *, code: str, message: str) -> None:
    """Raise ``NotPermitted(code, message)`` unless ``actor`` is signed in and holds ``role``."""
    if not (getattr(actor, "is_authenticated", False) and actor.has_role(role)):
        raise NotPermitted(code, message)
