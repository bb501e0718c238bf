"""The log's head row, and triggers that make the audit tables append-only.

Entries, cached tree nodes and checkpoints refuse UPDATE and DELETE (and, on
PostgreSQL, TRUNCATE).  The SQL is frozen here as it was applied; the test
suite's ``guards_suspended`` in ``audit/guards.py`` lifts and re-installs the
same triggers at run time.
"""

from django.db import migrations

TABLES = ("audit_auditentry", "audit_auditnode", "audit_auditcheckpoint")

HEAD = "INSERT INTO audit_audithead (id, size) VALUES (1, 0)"

POSTGRESQL = [
    """
    CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit log tables are append-only: % on % refused', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END;
    $$
    """,
    *(
        statement
        for table in TABLES
        for statement in (
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()",
        )
    ),
]

SQLITE = [
    f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
    f"BEGIN SELECT RAISE(ABORT, 'audit log tables are append-only: {operation} on {table} refused'); END"
    for table in TABLES
    for operation in ("UPDATE", "DELETE")
]

POSTGRESQL_REVERSE = [
    *(f"DROP TRIGGER {table}_{kind} ON {table}" for table in TABLES for kind in ("no_change", "no_truncate")),
    "DROP FUNCTION audit_refuse_change()",
]

SQLITE_REVERSE = [f"DROP TRIGGER {table}_no_{operation}" for table in TABLES for operation in ("update", "delete")]


def forwards(apps, schema_editor):
    schema_editor.execute(HEAD)
    for statement in {"postgresql": POSTGRESQL, "sqlite": SQLITE}.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement, params=None)


def backwards(apps, schema_editor):
    for statement in {"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}.get(
        schema_editor.connection.vendor, []
    ):
        schema_editor.execute(statement, params=None)
    schema_editor.execute("DELETE FROM audit_audithead")


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    # Other databases rely on the runtime role's privileges alone (audit/README.md).
    operations = [migrations.RunPython(forwards, backwards)]
