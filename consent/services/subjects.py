"""Subjects: the pseudonymous identity under which an employee's consent and data are held.

A module of its own because both consent changes and erasure requests need
it, and neither should depend on the other to get it.
"""

from __future__ import annotations

from accounts.models import User
from consent.models import Subject


def subject_for_employee(employee: User) -> Subject:
    """The employee's subject, created on first need."""
    subject = Subject.objects.filter(employee=employee).first()
    if subject is None:
        subject, _ = Subject.objects.get_or_create(employee=employee)
    return subject
