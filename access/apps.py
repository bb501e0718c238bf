from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "access"
    verbose_name = "Data access: requests, grants and dataset exports"

    def seed_demo(self, stdout) -> None:
        """rita's approved grant and pending keystroke request (after consent's notice and allowlist). Safe to run again."""
        from access.demo import seed_access_demo

        seed_access_demo(stdout=stdout)
