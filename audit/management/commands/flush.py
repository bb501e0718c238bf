"""Django's ``flush``, able to empty the append-only audit tables of a *test* database.

The test suite flushes the database after every transactional test; the
audit triggers would refuse that.  On a test database this command lifts
them for the duration of the flush, and puts the log's head row back.  Anywhere else it is Django's own
``flush`` and the triggers refuse to empty the audit log, as they should.
"""

from __future__ import annotations

from django.core.management.commands.flush import Command as FlushCommand
from django.db import DEFAULT_DB_ALIAS, connections

from audit.guards import guards_suspended, is_test_database
from audit.models import AuditHead


class Command(FlushCommand):
    def handle(self, **options):
        connection = connections[options.get("database") or DEFAULT_DB_ALIAS]
        if not is_test_database(connection):
            return super().handle(**options)
        with guards_suspended(connection):
            result = super().handle(**options)
        # An empty log still has its head row: appends need it (migration 0002 makes it).
        AuditHead.objects.using(connection.alias).get_or_create(pk=1, defaults={"size": 0})
        return result
