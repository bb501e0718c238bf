"""Consent events and receipts are never edited: the database refuses UPDATE on them.

DELETE stays possible so that test databases can be flushed; no code path
deletes either, and PROTECT foreign keys keep them tied to their subject.
"""

from django.db import migrations

TABLES = ("consent_consentevent", "consent_consentreceipt")


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = []
    if vendor == "postgresql":
        statements.append(
            "CREATE OR REPLACE FUNCTION consent_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'consent history is append-only: UPDATE on % refused', TG_TABLE_NAME "
            "USING ERRCODE = 'insufficient_privilege'; END; $$;"
        )
        for table in TABLES:
            statements += [
                f"DROP TRIGGER IF EXISTS {table}_no_update ON {table};",
                f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION consent_refuse_update();",
            ]
    elif vendor == "sqlite":
        for table in TABLES:
            statements += [
                f"DROP TRIGGER IF EXISTS {table}_no_update;",
                f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'consent history is append-only: UPDATE on {table} refused'); END;",
            ]
    for statement in statements:
        schema_editor.execute(statement, params=None)


def uninstall(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in TABLES:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update ON {table};")
        elif vendor == "sqlite":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update;")
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS consent_refuse_update();")


class Migration(migrations.Migration):
    dependencies = [("consent", "0002_receipts_erasure_requests")]

    operations = [migrations.RunPython(install, uninstall)]
