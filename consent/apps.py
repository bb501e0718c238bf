from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent"

    def seed_demo(self, stdout) -> None:
        """Demo notice, allowlist, retention and a realistic spread of consents. Safe to run again."""
        from consent.demo import seed_consent_demo

        seed_consent_demo(stdout=stdout)
