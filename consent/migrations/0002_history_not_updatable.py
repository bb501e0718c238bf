"""Consent events and receipts are never edited: the database refuses UPDATE on them.

DELETE stays possible so that test databases can be flushed; no code path
deletes either, and PROTECT foreign keys keep them tied to their subject.
The SQL is frozen here as it was applied.
"""

from django.db import migrations

TABLES = ("consent_consentevent", "consent_consentreceipt")

POSTGRESQL = [
    """
    CREATE FUNCTION consent_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'consent history is append-only: UPDATE on % refused', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END;
    $$
    """,
    *(
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION consent_refuse_update()"
        for table in TABLES
    ),
]

SQLITE = [
    f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
    f"BEGIN SELECT RAISE(ABORT, 'consent history is append-only: UPDATE on {table} refused'); END"
    for table in TABLES
]

POSTGRESQL_REVERSE = [
    *(f"DROP TRIGGER {table}_no_update ON {table}" for table in TABLES),
    "DROP FUNCTION consent_refuse_update()",
]

SQLITE_REVERSE = [f"DROP TRIGGER {table}_no_update" for table in TABLES]


def _run(schema_editor, by_vendor: dict[str, list[str]]) -> None:
    for statement in by_vendor.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement, params=None)


def forwards(apps, schema_editor):
    _run(schema_editor, {"postgresql": POSTGRESQL, "sqlite": SQLITE})


def backwards(apps, schema_editor):
    _run(schema_editor, {"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE})


class Migration(migrations.Migration):
    dependencies = [("consent", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
