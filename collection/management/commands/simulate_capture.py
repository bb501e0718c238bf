from django.conf import settings
from django.core.management.base import BaseCommand

from collection import client


class Command(BaseCommand):
    help = (
        "Run the reference capture client against a running server: enroll, fetch and renew tokens, upload "
        "synthetic sessions. In DEBUG the demo password is the default. See python -m collection.client --help."
    )

    def run_from_argv(self, argv):
        # The client parses its own arguments, so `manage.py simulate_capture --help` shows them.
        from accounts.demo import DEMO_PASSWORD

        raise SystemExit(client.main(argv[2:], default_password=DEMO_PASSWORD if settings.DEBUG else None))

    def handle(self, *args, **options):  # pragma: no cover - run_from_argv does the work
        raise NotImplementedError
