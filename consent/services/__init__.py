"""Consent use cases, one module per sub-domain; every write of the consent app goes through one of these.

- ``changes``: an employee's grants, withdrawals, exclusions and choices;
- ``notices``: drafting and publishing consent notices;
- ``capture_rules``: the application allowlist and retention rules;
- ``subjects``: the pseudonymous subject behind an employee;
- ``guards``: preconditions the others share.

Locks are taken through ``consent.locks``, in the order stated there.  The
public services are re-exported here, so callers write
``from consent.services import consent_grant``.  Erasure requests are the
erasure app's (``erasure.services``), which builds on these.
"""

from __future__ import annotations

from consent.services.capture_rules import (
    allowlist_add,
    allowlist_remove,
    allowlist_save,
    allowlist_update,
    retention_set,
)
from consent.services.changes import (
    consent_grant,
    consent_set_choices,
    consent_set_exclusions,
    consent_withdraw,
)
from consent.services.notices import notice_create, notice_publish, notice_update
from consent.services.subjects import subject_for_employee

__all__ = [
    "allowlist_add",
    "allowlist_remove",
    "allowlist_save",
    "allowlist_update",
    "consent_grant",
    "consent_set_choices",
    "consent_set_exclusions",
    "consent_withdraw",
    "notice_create",
    "notice_publish",
    "notice_update",
    "retention_set",
    "subject_for_employee",
]
