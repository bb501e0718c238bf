"""``manage.py simulate_capture``: the reference capture client (``capture_client``) with the demo password."""

from __future__ import annotations

import argparse

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from capture_client import cli


class Command(BaseCommand):
    help = (
        "Run the reference capture client against a running server: enroll, fetch and renew tokens, upload "
        "synthetic sessions. In DEBUG the demo password is the default."
    )

    def add_arguments(self, parser):
        from accounts.demo import DEMO_PASSWORD

        cli.add_arguments(parser, default_password=DEMO_PASSWORD if settings.DEBUG else None)

    def handle(self, *args, **options):
        if options.get("device_secret_file") is not None:
            raise CommandError(
                "simulate_capture signs in as demo employees; run `python -m capture_client` for a paired device"
            )
        if not options.get("username"):
            raise CommandError("--username is required (repeat it to simulate several employees)")
        if not options.get("password"):
            raise CommandError("--password is required")
        names = ("url", "username", "password", "minutes", "continuous", "batches", "interval", "wait", "no_gzip")
        namespace = argparse.Namespace(**{name: options[name] for name in (*names, "state_dir", "seed")})
        status = cli.simulate_employees(namespace)
        if status:
            raise CommandError("The capture client stopped with errors; see the log above.")
