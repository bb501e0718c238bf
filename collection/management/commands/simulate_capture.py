from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from collection import client


class Command(BaseCommand):
    help = (
        "Run the reference capture client against a running server: enroll, fetch and renew tokens, upload "
        "synthetic sessions. In DEBUG the demo password is the default."
    )

    def add_arguments(self, parser):
        from accounts.demo import DEMO_PASSWORD

        client.add_arguments(parser, default_password=DEMO_PASSWORD if settings.DEBUG else None)

    def handle(self, *args, **options):
        import argparse

        if not options.get("password"):
            raise CommandError("--password is required")
        names = ("url", "username", "password", "minutes", "continuous", "batches", "interval", "wait", "no_gzip")
        namespace = argparse.Namespace(**{name: options[name] for name in (*names, "state_dir", "seed")})
        status = client.simulate_employees(namespace)
        if status:
            raise CommandError("The capture client stopped with errors; see the log above.")
