"""The queue id takes the transaction id first; queued entries are checked on insert; rounds are bounded."""

from django.db import migrations


def _install(apps, schema_editor):
    from audit import pg_functions

    pg_functions.install(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("audit", "0011_entry_managers")]

    operations = [migrations.RunPython(_install, migrations.RunPython.noop)]
