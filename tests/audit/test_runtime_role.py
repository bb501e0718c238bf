"""PostgreSQL: the runtime role that audit/README.md tells deployments to create.

The SQL is read from the README itself, so the documented recipe is the one
tested: under that role the application appends and checkpoints, and cannot
change, remove or insert an entry other than through the numbering trigger.
"""

from __future__ import annotations

import re
import threading
import uuid
from pathlib import Path

import pytest
from django.db import connection, connections, transaction
from django.db.utils import ProgrammingError

from audit.models import AuditEntry
from audit.selectors import log_size
from audit.services import audit_record, checkpoint_create
from audit.verification import audit_log_verify

README = Path(__file__).resolve().parents[2] / "audit" / "README.md"


def _recipe(role: str) -> list[str]:
    block = re.search(r"```sql\n(.*?)```", README.read_text(), re.S).group(1)
    sql = "\n".join(line for line in block.splitlines() if not line.lstrip().startswith("--"))
    sql = sql.replace("consent_app", role).replace("PASSWORD '...'", "PASSWORD NULL")
    return [statement.strip() for statement in sql.split(";") if statement.strip()]


@pytest.fixture
def runtime_role():
    role = f"consent_app_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        for statement in _recipe(role):
            cursor.execute(statement)
    yield role
    connections.close_all()
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
        cursor.execute(f"DROP OWNED BY {role}")
        cursor.execute(f"DROP ROLE {role}")


def _as(role: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {role}")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_documented_runtime_role_appends_and_checkpoints(runtime_role):
    _as(runtime_role)
    audit_record(actor="system", action="a.first", target="t:0")
    holding, release = threading.Event(), threading.Event()

    def open_writer():
        try:
            _as(runtime_role)
            with transaction.atomic():
                audit_record(actor="user:open", action="a.open", target="t:1")
                holding.set()
                release.wait(30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=open_writer)
    thread.start()
    assert holding.wait(30)
    # An open transaction holds nothing: entries are numbered in commit order.
    audit_record(actor="user:next", action="a.next", target="t:2")
    assert log_size() == 2
    release.set()
    thread.join(30)
    assert log_size() == 3
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["a.first", "a.next", "a.open"]
    checkpoint = checkpoint_create()
    assert checkpoint.size == 3
    assert audit_log_verify().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_documented_runtime_role_cannot_change_the_log(runtime_role):
    audit_record(actor="system", action="a.first", target="t:0")
    _as(runtime_role)
    for statement in (
        "UPDATE audit_auditentry SET actor = 'someone else'",
        "DELETE FROM audit_auditentry",
        "TRUNCATE audit_auditentry",
        "INSERT INTO audit_auditentry (seq, ts, actor, action, target, detail, leaf, leaf_hash) "
        "SELECT 1, ts, actor, action, target, detail, leaf, leaf_hash FROM audit_auditentry",
        "UPDATE audit_audithead SET size = 0",
        "DELETE FROM audit_auditpending",
        "DROP TRIGGER audit_auditentry_no_change ON audit_auditentry",
    ):
        with pytest.raises(ProgrammingError, match="permission denied|must be owner"), connection.cursor() as cursor:
            cursor.execute(statement)
    assert AuditEntry.objects.get(seq=0).actor == "system"
