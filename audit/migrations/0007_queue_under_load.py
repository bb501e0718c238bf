"""audit_append() joins a non-empty queue instead of taking the head row."""

from django.db import migrations


def _install(apps, schema_editor):
    from audit.pg_functions import PG_APPEND_FUNCTIONS

    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_APPEND_FUNCTIONS)


class Migration(migrations.Migration):
    dependencies = [("audit", "0006_sequence_commit")]

    operations = [migrations.RunPython(_install, migrations.RunPython.noop)]
