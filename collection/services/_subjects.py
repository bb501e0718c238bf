"""Who collection services act for, and how their audit entries name them.

Audit entries about an employee's devices and data name the subject
pseudonym, never the username, and never the contents.
"""

from __future__ import annotations

from accounts.models import Role, User
from config.errors import NotPermitted
from consent.models import Subject


def _require_employee(
    user: User, *, code: str = "not_an_employee", message: str = "Only employees enroll capture devices."
) -> None:
    """Refuse anyone without the employee role; callers choose the code the protocol promises them."""
    if not user.has_role(Role.EMPLOYEE):
        raise NotPermitted(code, message)


def _subject_label(subject: Subject) -> str:
    return f"subject:{subject.pseudonym}"
