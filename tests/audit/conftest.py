"""Helpers for the audit tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def record():
    """``record(n)`` appends ``n`` entries and returns them as stored (numbered)."""
    from audit.models import AuditEntry
    from audit.selectors import log_size
    from audit.services import audit_record

    def append(n: int = 1, **overrides):
        for i in range(n):
            fields = {"actor": "user:olivia", "action": "notice.publish", "target": f"notice:{i}", "detail": {"i": i}}
            fields.update(overrides)
            audit_record(**fields)
        size = log_size()
        return list(AuditEntry.objects.filter(seq__gte=size - n).order_by("seq"))

    return append
