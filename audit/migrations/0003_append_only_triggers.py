"""Make entries, tree nodes and checkpoints append-only in the database itself."""

from django.db import migrations

from audit import guards


def install(apps, schema_editor):
    guards.install(schema_editor.connection)


def uninstall(apps, schema_editor):
    guards.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_tree_and_checkpoints")]

    operations = [migrations.RunPython(install, uninstall)]
