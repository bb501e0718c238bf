import sys

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Role
from accounts.services import user_create
from config.errors import ApplicationError


class Command(BaseCommand):
    help = "Create an account with one or more roles."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--role",
            action="append",
            required=True,
            dest="roles",
            metavar="ROLE",
            help=f"Role to hold; repeat for several. One of: {', '.join(Role.values)}.",
        )
        parser.add_argument("--email", default="")
        parser.add_argument("--department", default="")
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="Read the password from standard input (first line). Without it the account has no usable password.",
        )

    def handle(self, *args, username, roles, email, department, password_stdin, **options):
        password = None
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError("--password-stdin was given but standard input held no password.")
        try:
            user = user_create(
                actor="system:add_user",
                username=username,
                roles=roles,
                email=email,
                password=password,
                department=department,
            )
        except ApplicationError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(self.style.SUCCESS(f"Created {user.username} with roles: {', '.join(sorted(user.role_set))}"))
        if not password:
            self.stdout.write("The account has no password yet; set one with `manage.py changepassword`.")
