"""Celery tasks of the data-access app: thin, idempotent; the database says what is due."""

from __future__ import annotations

from celery import shared_task

from access.services import data_requests_expire, grants_expire


@shared_task(name="access.tasks.expire_requests_task")
def expire_requests_task() -> int:
    """Expire pending requests nobody decided in time."""
    return data_requests_expire()


@shared_task(name="access.tasks.expire_grants_task")
def expire_grants_task() -> int:
    """End grants past their expiry and destroy their pseudonym keys."""
    return grants_expire()
