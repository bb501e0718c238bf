"""``manage.py verify_audit_log``: the checks of ``python -m audit.verify``, run on the database."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from audit.verification import audit_log_verify


class Command(BaseCommand):
    help = "Verify the stored audit log: sequence, leaf hashes, columns, checkpoint roots and signatures."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, **options):
        report = audit_log_verify()
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            self.stdout.write(
                f"{report.entries_checked} entries and {report.checkpoints_checked} checkpoint(s) checked "
                f"in {report.seconds} s"
            )
            for problem in report.problems:
                self.stderr.write(problem)
        if not report.ok:
            raise CommandError(f"the audit log does NOT verify; first bad entry: seq {report.first_bad_seq}")
        if not options["json"]:
            self.stdout.write(self.style.SUCCESS("OK: the audit log verifies"))
