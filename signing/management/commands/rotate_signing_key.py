from django.core.management.base import BaseCommand

from signing.keyring import Purpose
from signing.services import signing_key_rotate


class Command(BaseCommand):
    help = "Rotate a signing key. The previous key stays published so what it signed still verifies."

    def add_arguments(self, parser):
        parser.add_argument(
            "--purpose",
            choices=[p.value for p in Purpose],
            default=Purpose.COLLECTION.value,
            help="Which key ring to rotate (default: collection tokens).",
        )

    def handle(self, *args, purpose: str, **options):
        key = signing_key_rotate(actor="system:manage.py", purpose=purpose)
        self.stdout.write(self.style.SUCCESS(f"New {purpose} signing key: {key.kid}"))
