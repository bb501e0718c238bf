"""The row lock on an account, and where it sits in the lock order.

Role changes, disabling and capture-device enrolment of one person queue on
their ``User`` row.  It is taken first in those transactions: before any
consent lock (``consent.locks``: notices, consent states, allowlist,
retention), before the person's device rows, and before the audit log's head
row, which ``audit.services.audit_record`` takes last.  So an enrolment
cannot slip in beside a role change that revokes devices, nor two enrolments
past the device cap.
"""

from __future__ import annotations

from accounts.models import User


def account_lock(user: User) -> User:
    """Lock the account's row until the transaction ends and return it fresh from the database."""
    return User.objects.select_for_update().get(pk=user.pk)
