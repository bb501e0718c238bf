"""Helpers for the audit tests."""

from __future__ import annotations

import pytest
from django.db import connection


@pytest.fixture
def record():
    """``record(n)`` appends ``n`` entries and returns them."""
    from audit.services import audit_record

    def append(n: int = 1, **overrides):
        out = []
        for i in range(n):
            fields = {"actor": "user:olivia", "action": "notice.publish", "target": f"notice:{i}", "detail": {"i": i}}
            fields.update(overrides)
            out.append(audit_record(**fields))
        return out

    return append


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
