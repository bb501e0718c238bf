"""Database triggers that make the audit tables append-only, and SQLite's numbering and admission triggers.

Entries, cached tree nodes and checkpoints refuse UPDATE and DELETE (and, on
PostgreSQL, TRUNCATE).  Migration ``0002_append_only`` installs them (and
the numbering triggers), ``0003_admission`` the checks on what is queued and
what enters the log, each with its own frozen copy of the SQL; the copies here
re-install them at run time: SQLite drops a table's triggers when a
migration rebuilds the table, so ``audit.apps`` puts them back after every
``migrate``.  Deployments on PostgreSQL should additionally run the application
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


# Numbers a pending entry as soon as it is inserted (SQLite serialises
# writers from BEGIN IMMEDIATE, so "at once" is "in commit order"); the same
# steps as PostgreSQL's audit_number_pending(), which runs them at commit.
# audit_leaf_hash() is registered on every SQLite connection by audit.apps.
SQLITE_NUMBERING = """
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
"""


# Migration 0003_admission: a queued item must be a well-formed canonical
# entry (audit.wellformed, registered as audit_pending_problem), and a row
# enters the log only from the numbering trigger above: its leaf is the
# pending row's bytes with this number (pending rows exist only while that
# trigger runs), its seq the head's size, its hash SHA-256(0x00 || leaf).
SQLITE_PENDING_CHECK = """
CREATE TRIGGER audit_auditpending_check BEFORE INSERT ON audit_auditpending
BEGIN
    SELECT RAISE(ABORT, 'audit entry refused: not a well-formed entry in RFC 8785 canonical form')
    WHERE audit_pending_problem(NEW.prefix, NEW.suffix) IS NOT NULL;
END
"""

SQLITE_ADMISSION = """
CREATE TRIGGER audit_auditentry_admit BEFORE INSERT ON audit_auditentry
BEGIN
    SELECT RAISE(ABORT, 'audit entries enter the log only through audit_auditpending (the numbering trigger)')
    WHERE NOT EXISTS (SELECT 1 FROM audit_auditpending WHERE prefix || ',"seq":' || NEW.seq || suffix = NEW.leaf);
    SELECT RAISE(ABORT, 'audit entry refused: seq is not the next number')
    WHERE NEW.seq IS NOT (SELECT size FROM audit_audithead WHERE id = 1);
    SELECT RAISE(ABORT, 'audit entry refused: leaf hash is not SHA-256(0x00 || leaf)')
    WHERE NEW.leaf_hash IS NOT audit_leaf_hash(NEW.leaf);
END
"""


def sqlite_install() -> list[str]:
    statements = [
        "DROP TRIGGER IF EXISTS audit_auditpending_number;",
        SQLITE_NUMBERING,
        "DROP TRIGGER IF EXISTS audit_auditpending_check;",
        SQLITE_PENDING_CHECK,
        "DROP TRIGGER IF EXISTS audit_auditentry_admit;",
        SQLITE_ADMISSION,
    ]
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
        "DROP TRIGGER IF EXISTS audit_auditentry_admit;",
        *(
            f"DROP TRIGGER IF EXISTS {table}_no_{operation};"
            for table in GUARDED_TABLES
            for operation in ("update", "delete")
        ),
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

    if not settings.AUDIT_GUARDS_SUSPENDABLE_IN_TESTS:
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
