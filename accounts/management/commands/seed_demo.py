from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.demo import DEMO_PASSWORD, PERSONAS, demo_employees
from accounts.models import User


class Command(BaseCommand):
    help = "Create a demo organisation and print its logins. Development only: refuses to run with DEBUG off."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo creates accounts with known passwords; it refuses to run when DEBUG is off.")
        created = 0
        with transaction.atomic():
            for username, roles, department, first, last in PERSONAS:
                created += self._ensure(username, roles, department, first, last)
            for username, department, first, last in demo_employees():
                created += self._ensure(username, ["employee"], department, first, last)
            self.seed_apps()
        self.stdout.write(self.style.SUCCESS(f"Demo organisation ready ({created} new accounts)."))
        self.stdout.write(f"Every demo account's password is: {DEMO_PASSWORD}")
        for username, roles, department, _, _ in PERSONAS:
            self.stdout.write(f"  {username:<8} {', '.join(roles):<18} {department}")
        self.stdout.write(f"  ... and {len(demo_employees())} more employees (e.g. {demo_employees()[0][0]}).")

    def _ensure(self, username, roles, department, first, last) -> int:
        # factory_boy is a development dependency, imported only once DEBUG
        # is known to be on; `make run` installs requirements-dev.txt.
        from accounts.factories import UserFactory

        if User.objects.filter(username=username).exists():
            return 0
        UserFactory(
            actor="system:seed_demo",
            username=username,
            roles=roles,
            password=DEMO_PASSWORD,
            department=department,
            first_name=first,
            last_name=last,
        )
        return 1

    def seed_apps(self) -> None:
        """Hook for the other apps' demo data (notices, allowlist, consents); each is idempotent."""
        from django.apps import apps

        for config in apps.get_app_configs():
            seed = getattr(config, "seed_demo", None)
            if callable(seed):
                seed(stdout=self.stdout)
