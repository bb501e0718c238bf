from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _guard_sqlite_tables(sender, using, **kwargs):
    """SQLite rebuilds a table to alter it, dropping its triggers: put the guards back after every migrate."""
    from django.db import connections

    from audit import guards

    connection = connections[using]
    if connection.vendor == "sqlite":
        guards.install(connection)


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        post_migrate.connect(_guard_sqlite_tables, sender=self, dispatch_uid="audit-guards")
