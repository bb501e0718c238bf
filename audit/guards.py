"""Database triggers that make the audit tables append-only.

Entries, cached tree nodes and checkpoints refuse UPDATE and DELETE (and, on
PostgreSQL, TRUNCATE).  The migration that installs them imports the SQL from
here.  Deployments on PostgreSQL should additionally run the application
under a role without UPDATE, DELETE or TRUNCATE privileges on these tables
(see ``audit/README.md``): a trigger can be dropped by the table's owner, a
missing privilege cannot be worked around by the application.

``guards_suspended`` lifts the triggers for the test suite's database flush
and for tamper tests; it refuses to run on anything but a test database.
"""

from __future__ import annotations

from contextlib import contextmanager

GUARDED_TABLES = ("audit_auditentry", "audit_auditnode", "audit_auditcheckpoint")

MESSAGE = "audit log tables are append-only"

PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
"""


def postgresql_install() -> list[str]:
    statements = [PG_FUNCTION]
    for table in GUARDED_TABLES:
        statements += [
            f"DROP TRIGGER IF EXISTS {table}_no_change ON {table};",
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();",
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();",
        ]
    return statements


def postgresql_uninstall() -> list[str]:
    statements = []
    for table in GUARDED_TABLES:
        statements += [
            f"DROP TRIGGER IF EXISTS {table}_no_change ON {table};",
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};",
        ]
    return [*statements, "DROP FUNCTION IF EXISTS audit_refuse_change();"]


def sqlite_install() -> list[str]:
    statements = []
    for table in GUARDED_TABLES:
        for operation in ("UPDATE", "DELETE"):
            name = f"{table}_no_{operation.lower()}"
            statements += [
                f"DROP TRIGGER IF EXISTS {name};",
                f"CREATE TRIGGER {name} BEFORE {operation} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}: {operation} on {table} refused'); END;",
            ]
    return statements


def sqlite_uninstall() -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {table}_no_{operation};"
        for table in GUARDED_TABLES
        for operation in ("update", "delete")
    ]


def install(connection) -> None:
    _run(connection, {"postgresql": postgresql_install, "sqlite": sqlite_install})


def uninstall(connection) -> None:
    _run(connection, {"postgresql": postgresql_uninstall, "sqlite": sqlite_uninstall})


def _run(connection, by_vendor) -> None:
    make = by_vendor.get(connection.vendor)
    if make is None:  # other databases: rely on the runtime role's privileges
        return
    with connection.cursor() as cursor:
        for statement in make():
            cursor.execute(statement)


def is_test_database(connection) -> bool:
    """A database the test suite made: only the test settings may say so, and only for test-named databases."""
    from django.conf import settings

    if not getattr(settings, "AUDIT_GUARDS_SUSPENDABLE_IN_TESTS", False):
        return False
    name = str(connection.settings_dict.get("NAME") or "")
    if connection.vendor == "sqlite":
        return name == ":memory:" or "mode=memory" in name or name.split("/")[-1].startswith("test")
    return name.startswith("test_")


@contextmanager
def guards_suspended(connection):
    """Lift the append-only triggers inside the block. Test databases only."""
    if not is_test_database(connection):
        raise RuntimeError("The audit log guards can only be suspended on a test database.")
    if connection.vendor == "postgresql":
        # Triggers in the default ("origin") mode do not fire for a replica
        # session; setting it needs a superuser, which the test suite has.
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")
    else:
        uninstall(connection)
        try:
            yield
        finally:
            install(connection)


# --- the append path on PostgreSQL ---------------------------------------------------
# One round trip per entry: lock the head row if nobody holds it, number any
# queued entries first (commit order), then the new one; if somebody holds
# the head row, queue the entry instead of waiting for their commit.  The
# leaf is assembled as prefix || seq || suffix, both parts encoded by Python
# (see ``audit.services.leaf_parts``).

PG_APPEND_FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION audit_number_pending(start_size bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    moved bigint;
BEGIN
    WITH batch AS (
        SELECT id, ts, actor, action, target, detail, prefix, suffix,
               start_size + row_number() OVER (ORDER BY id) - 1 AS seq
        FROM audit_auditpending
    ), inserted AS (
        INSERT INTO audit_auditentry (seq, ts, actor, action, target, detail, leaf, leaf_hash)
        SELECT seq, ts, actor, action, target, detail,
               prefix || ',"seq":' || seq || suffix,
               sha256('\x00'::bytea || convert_to(prefix || ',"seq":' || seq || suffix, 'UTF8'))
        FROM batch
        RETURNING seq
    ), removed AS (
        DELETE FROM audit_auditpending WHERE id IN (SELECT id FROM batch)
    )
    SELECT count(*) INTO moved FROM inserted;
    RETURN start_size + moved;
END;
$$;

CREATE OR REPLACE FUNCTION audit_append(
    p_ts timestamptz, p_actor text, p_action text, p_target text, p_detail jsonb, p_prefix text, p_suffix text
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    head_size bigint;
    leaf text;
BEGIN
    -- Under load the queue is not empty: join it rather than hold the head
    -- row through this transaction's commit, which would serialise writers.
    IF EXISTS (SELECT 1 FROM audit_auditpending) THEN
        INSERT INTO audit_auditpending (ts, actor, action, target, detail, prefix, suffix)
        VALUES (p_ts, p_actor, p_action, p_target, p_detail, p_prefix, p_suffix);
        RETURN NULL;
    END IF;
    SELECT size INTO head_size FROM audit_audithead WHERE id = 1 FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        IF EXISTS (SELECT 1 FROM audit_audithead WHERE id = 1) THEN
            INSERT INTO audit_auditpending (ts, actor, action, target, detail, prefix, suffix)
            VALUES (p_ts, p_actor, p_action, p_target, p_detail, p_prefix, p_suffix);
            RETURN NULL;
        END IF;
        INSERT INTO audit_audithead (id, size) VALUES (1, 0) ON CONFLICT DO NOTHING;
        SELECT size INTO head_size FROM audit_audithead WHERE id = 1 FOR UPDATE;
    END IF;
    IF EXISTS (SELECT 1 FROM audit_auditpending) THEN
        head_size := audit_number_pending(head_size);
    END IF;
    leaf := p_prefix || ',"seq":' || head_size || p_suffix;
    INSERT INTO audit_auditentry (seq, ts, actor, action, target, detail, leaf, leaf_hash)
    VALUES (head_size, p_ts, p_actor, p_action, p_target, p_detail, leaf,
            sha256('\x00'::bytea || convert_to(leaf, 'UTF8')));
    UPDATE audit_audithead SET size = head_size + 1 WHERE id = 1;
    RETURN head_size;
END;
$$;

CREATE OR REPLACE FUNCTION audit_sequence(own_transaction boolean DEFAULT false) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    head_size bigint;
    new_size bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM audit_auditpending) THEN
        RETURN 0;
    END IF;
    SELECT size INTO head_size FROM audit_audithead WHERE id = 1 FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN -1;  -- the holder numbers the queue once it lets go
    END IF;
    IF own_transaction THEN
        -- Numbering only moves entries that are already durable in the queue;
        -- if a crash loses this commit, the queue is numbered again. Anything
        -- signed later is flushed with (after) it. So it need not wait for the disk.
        PERFORM set_config('synchronous_commit', 'off', true);
    END IF;
    new_size := audit_number_pending(head_size);
    UPDATE audit_audithead SET size = new_size WHERE id = 1;
    RETURN new_size - head_size;
END;
$$;
"""

PG_DROP_APPEND_FUNCTIONS = """
DROP FUNCTION IF EXISTS audit_sequence(boolean);
DROP FUNCTION IF EXISTS audit_append(timestamptz, text, text, text, jsonb, text, text);
DROP FUNCTION IF EXISTS audit_number_pending(bigint);
"""
