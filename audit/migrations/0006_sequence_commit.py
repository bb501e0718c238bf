"""audit_sequence() learns that its own numbering transaction need not wait for the disk."""

from django.db import migrations


def _install(apps, schema_editor):
    from audit.pg_functions import PG_APPEND_FUNCTIONS

    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS audit_sequence()")
        schema_editor.execute(PG_APPEND_FUNCTIONS)


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_filter_indexes")]

    operations = [migrations.RunPython(_install, migrations.RunPython.noop)]
