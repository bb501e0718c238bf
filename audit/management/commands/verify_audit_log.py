"""``manage.py verify_audit_log``: the checks of ``python -m audit.verify``, run on the database.

``--trusted-checkpoint FILE`` pins a checkpoint the auditor holds (the JSON
of ``GET /api/v1/audit/checkpoints/latest``): the stored log must still
contain exactly what it signed.  Exit status: 0 verified, 1 the log does not
verify (or nothing vouches for it), 2 the trusted checkpoint is unusable.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from audit.verification import audit_log_verify, trusted_checkpoint_parse
from config.errors import InvalidInput


class Command(BaseCommand):
    help = "Verify the stored audit log: sequence, leaf hashes, columns, checkpoint roots and signatures."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument(
            "--trusted-checkpoint",
            metavar="FILE",
            help="a checkpoint you hold (GET /api/v1/audit/checkpoints/latest); the log must extend it",
        )

    def handle(self, *args, **options):
        trusted = None
        if options["trusted_checkpoint"]:
            path = options["trusted_checkpoint"]
            try:
                with open(path, "rb") as handle:
                    document = json.loads(handle.read().decode("utf-8"))
            except OSError as exc:
                raise CommandError(f"cannot read the trusted checkpoint {path}: {exc.strerror}", returncode=2) from None
            except (UnicodeDecodeError, ValueError):
                raise CommandError(f"the trusted checkpoint {path} is not valid JSON", returncode=2) from None
            try:
                trusted = trusted_checkpoint_parse(document)
            except InvalidInput as exc:
                raise CommandError(exc.detail, returncode=2) from None
        report = audit_log_verify(trusted=trusted)
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            self.stdout.write(
                f"{report.entries_checked} entries and {report.checkpoints_checked} checkpoint(s) checked "
                f"in {report.seconds} s"
                + (f", against the trusted checkpoint of size {trusted.size}" if trusted is not None else "")
            )
            for problem in report.problems:
                self.stderr.write(problem)
        if not report.ok:
            where = f"; first bad entry: seq {report.first_bad_seq}" if report.first_bad_seq is not None else ""
            raise CommandError(f"the audit log does NOT verify{where}: {report.problems[0]}")
        if not options["json"]:
            for note in report.notes:
                self.stdout.write(note)
            if report.size == 0:
                self.stdout.write(
                    self.style.SUCCESS("OK: the audit log is empty and no checkpoint says otherwise")
                    + " (pin a checkpoint you hold with --trusted-checkpoint to detect a wiped log)"
                )
            else:
                self.stdout.write(
                    self.style.SUCCESS(f"OK: the audit log verifies (entries 0..{report.vouched_size - 1} vouched for)")
                )
