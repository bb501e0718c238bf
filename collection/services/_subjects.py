"""Who collection services act for.

Audit entries about an employee's devices and data name the subject
pseudonym (``audit.targets.subject_target``), never the username, and never
the contents.
"""

from __future__ import annotations

from accounts.guards import require_role
from accounts.models import Role, User


def _require_employee(
    user: User, *, code: str = "not_an_employee", message: str = "Only employees enroll capture devices."
) -> None:
    """Refuse anyone without the employee role; callers choose the code the protocol promises them."""
    require_role(user, Role.EMPLOYEE, code=code, message=message)
