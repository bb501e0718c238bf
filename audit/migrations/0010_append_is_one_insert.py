"""An append is one INSERT into the queue; audit_append() is gone (see audit.pg_functions)."""

from django.db import migrations


def _install(apps, schema_editor):
    from audit import pg_functions

    pg_functions.install(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("audit", "0009_slim_queue")]

    operations = [migrations.RunPython(_install, migrations.RunPython.noop)]
