"""The database itself refuses to change or remove entries and checkpoints."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import AuditCheckpoint, AuditEntry, AuditNode
from audit.services import checkpoint_create


def _refused(sql: str, params=()) -> str:
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return str(caught.value)


@pytest.mark.django_db
def test_raw_sql_cannot_update_an_entry(record):
    record(2)
    message = _refused("UPDATE audit_auditentry SET actor = 'user:mallory' WHERE seq = 1")
    assert "append-only" in message
    assert AuditEntry.objects.get(seq=1).actor == "user:olivia"


@pytest.mark.django_db
def test_raw_sql_cannot_delete_an_entry(record):
    record(2)
    assert "append-only" in _refused("DELETE FROM audit_auditentry WHERE seq = 0")
    assert "append-only" in _refused("DELETE FROM audit_auditentry")
    assert AuditEntry.objects.count() == 2


@pytest.mark.django_db
def test_the_orm_cannot_change_entries_either(record):
    record(1)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(seq=0).update(target="t:forged")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(seq=0).target == "notice:0"


@pytest.mark.django_db
def test_checkpoints_and_tree_nodes_are_immutable(record, monkeypatch):
    monkeypatch.setattr("audit.tree.CACHE_LEVEL", 1)
    record(4)
    checkpoint = checkpoint_create()
    assert AuditNode.objects.exists()
    assert "append-only" in _refused("UPDATE audit_auditcheckpoint SET size = 99")
    assert "append-only" in _refused("DELETE FROM audit_auditcheckpoint")
    assert "append-only" in _refused("UPDATE audit_auditnode SET hash = hash")
    assert "append-only" in _refused("DELETE FROM audit_auditnode")
    assert AuditCheckpoint.objects.get().size == checkpoint.size == 4


@pytest.mark.django_db
@pytest.mark.postgres
def test_postgres_refuses_truncate(record):
    record(1)
    for table in ("audit_auditentry", "audit_auditcheckpoint", "audit_auditnode"):
        assert "append-only" in _refused(f"TRUNCATE {table}")
    assert AuditEntry.objects.count() == 1


@pytest.mark.django_db
def test_an_administrator_without_the_auditor_role_cannot_read_the_log_in_the_admin(record, adam, client):
    record(1)
    client.force_login(adam)
    assert client.get("/django-admin/audit/auditentry/").status_code == 403
    assert client.get("/django-admin/audit/auditentry/0/change/").status_code == 403


def test_the_admin_shows_entries_read_only_to_auditors(record, client, db):
    from accounts.models import User
    from tests.conftest import make_user

    record(1)
    # No account is both admin and auditor, so the product makes no auditor
    # staff; one an operator flagged by hand still only reads.
    ava = make_user("ava", "auditor")
    User.objects.filter(pk=ava.pk).update(is_staff=True)
    client.force_login(ava)
    listing = client.get("/django-admin/audit/auditentry/")
    assert listing.status_code == 200
    assert b"notice.publish" in listing.content
    page = client.get("/django-admin/audit/auditentry/0/change/")
    assert page.status_code == 200
    assert b'name="target"' not in page.content  # no editable field
    assert client.get("/django-admin/audit/auditentry/add/").status_code == 403
    assert client.post("/django-admin/audit/auditentry/0/delete/", {"post": "yes"}).status_code == 403
    client.post(
        "/django-admin/audit/auditentry/", {"action": "delete_selected", "_selected_action": ["0"], "post": "yes"}
    )
    assert AuditEntry.objects.filter(seq=0).exists()


@pytest.mark.django_db
def test_the_guards_come_back_after_a_migrate_rebuilt_a_sqlite_table(record):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite rebuilds tables on ALTER; PostgreSQL keeps triggers")
    from audit import guards
    from audit.apps import _guard_sqlite_tables

    record(1)
    guards.uninstall(connection)  # what a table rebuild does
    _guard_sqlite_tables(sender=None, using="default")  # post_migrate
    assert "append-only" in _refused("DELETE FROM audit_auditentry")


def test_outside_the_test_settings_the_guards_cannot_be_lifted(settings, db):
    from audit.guards import guards_suspended, is_test_database

    settings.AUDIT_GUARDS_SUSPENDABLE_IN_TESTS = False
    assert not is_test_database(connection)
    with pytest.raises(RuntimeError, match="only be suspended on a test database"), guards_suspended(connection):
        pass
