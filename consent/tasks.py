"""Celery tasks of the consent app: thin wrappers around services.

The beat schedule (``config/settings/base.py``) runs the consent-rates release.
"""

from __future__ import annotations

from celery import shared_task

from consent.stats import consent_rates_release_make


@shared_task(name="consent.tasks.release_consent_rates_task")
def release_consent_rates_task() -> str | None:
    """Periodic: make this period's noised consent-rates release if it is not made yet; returns its id."""
    release = consent_rates_release_make()
    return str(release.id) if release is not None else None
