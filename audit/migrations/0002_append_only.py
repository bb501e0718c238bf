"""The log's head row, the trigger that numbers appended entries, and the append-only guards.

An append inserts its leaf bytes, split around the number, into
``audit_auditpending``.  A trigger takes the head row's lock, gives the
entry the next ``seq``, inserts it into ``audit_auditentry`` (the filter
columns are read back from the leaf itself) and deletes the pending row.  On
PostgreSQL the trigger is deferred to commit, so the head row is the last
lock a transaction takes and is held only for its commit; it runs as the
owner of the tables (SECURITY DEFINER), so the application's role needs
no INSERT right on the log itself.  SQLite has no deferred triggers and
needs none: its writers are serialised from BEGIN IMMEDIATE.

Entries, cached tree nodes and checkpoints refuse UPDATE and DELETE (and, on
PostgreSQL, TRUNCATE).  The SQL is frozen here as it was applied;
``audit/guards.py`` keeps the copy that re-installs SQLite's triggers after
a migration rebuilds a table, and lifts the guards for the test suite.
"""

from django.db import migrations

TABLES = ("audit_auditentry", "audit_auditnode", "audit_auditcheckpoint")

HEAD = "INSERT INTO audit_audithead (id, size) VALUES (1, 0)"

POSTGRESQL = [
    r"""
    CREATE FUNCTION audit_number_pending() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    DECLARE
        next_seq bigint;
        leaf text;
        entry jsonb;
    BEGIN
        -- Everything that does not need the number is done before the head row is locked.
        entry := (NEW.prefix || ',"seq":0' || NEW.suffix)::jsonb;
        DELETE FROM audit_auditpending WHERE id = NEW.id;
        -- Writers queue on a transaction-level advisory lock (released at the
        -- end of the transaction, like the row lock it guards): waking the next
        -- writer is cheaper than a row-lock wait and recheck.  The key is fixed.
        PERFORM pg_advisory_xact_lock(hashtext('audit_audithead'));
        UPDATE audit_audithead SET size = size + 1 WHERE id = 1 RETURNING size - 1 INTO next_seq;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'the audit log has no head row' USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        leaf := NEW.prefix || ',"seq":' || next_seq || NEW.suffix;
        INSERT INTO audit_auditentry (seq, ts, actor, action, target, detail, leaf, leaf_hash)
        VALUES (next_seq, (entry ->> 'ts')::timestamptz, entry ->> 'actor', entry ->> 'action',
                entry ->> 'target', entry -> 'detail', leaf, sha256('\x00'::bytea || convert_to(leaf, 'UTF8')));
        RETURN NULL;
    END;
    $$
    """,
    """
    CREATE CONSTRAINT TRIGGER audit_auditpending_number AFTER INSERT ON audit_auditpending
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_number_pending()
    """,
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
    """
    CREATE TRIGGER audit_auditpending_number AFTER INSERT ON audit_auditpending
    BEGIN
        SELECT RAISE(ABORT, 'the audit log has no head row')
        WHERE NOT EXISTS (SELECT 1 FROM audit_audithead WHERE id = 1);
        INSERT INTO audit_auditentry (seq, ts, actor, action, target, detail, leaf, leaf_hash)
        SELECT seq, replace(rtrim(json_extract(leaf, '$.ts'), 'Z'), 'T', ' '),
               json_extract(leaf, '$.actor'), json_extract(leaf, '$.action'), json_extract(leaf, '$.target'),
               json_extract(leaf, '$.detail'), leaf, audit_leaf_hash(leaf)
        FROM (SELECT size AS seq, NEW.prefix || ',"seq":' || size || NEW.suffix AS leaf
              FROM audit_audithead WHERE id = 1);
        UPDATE audit_audithead SET size = size + 1 WHERE id = 1;
        DELETE FROM audit_auditpending WHERE id = NEW.id;
    END
    """,
    *[
        f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'audit log tables are append-only: {operation} on {table} refused'); END"
        for table in TABLES
        for operation in ("UPDATE", "DELETE")
    ],
]

POSTGRESQL_REVERSE = [
    "DROP TRIGGER audit_auditpending_number ON audit_auditpending",
    "DROP FUNCTION audit_number_pending()",
    *(f"DROP TRIGGER {table}_{kind} ON {table}" for table in TABLES for kind in ("no_change", "no_truncate")),
    "DROP FUNCTION audit_refuse_change()",
]

SQLITE_REVERSE = [
    "DROP TRIGGER audit_auditpending_number",
    *(f"DROP TRIGGER {table}_no_{operation}" for table in TABLES for operation in ("update", "delete")),
]


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
