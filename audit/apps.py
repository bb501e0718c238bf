from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


def _register_sqlite_functions(sender, connection, **kwargs):
    """SQLite's triggers hash leaves with ``audit_leaf_hash`` and check queued entries with ``audit_pending_problem``."""
    if connection.vendor == "sqlite":
        from audit.merkle import hash_leaf
        from audit.wellformed import pending_problem

        connection.connection.create_function(
            "audit_leaf_hash", 1, lambda leaf: hash_leaf(leaf.encode("utf-8")), deterministic=True
        )
        # The queue's check (PostgreSQL has it in PL/pgSQL, migration 0003).
        connection.connection.create_function("audit_pending_problem", 2, pending_problem, deterministic=True)


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
        connection_created.connect(_register_sqlite_functions, dispatch_uid="audit-sqlite-functions")
