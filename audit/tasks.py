"""Celery tasks of the audit app."""

from __future__ import annotations

from celery import shared_task

from audit.services import checkpoint_create


@shared_task(name="audit.tasks.make_checkpoint_task")
def make_checkpoint_task() -> int:
    """Periodic checkpoint; a no-op when nothing was appended since the last one. Returns its id."""
    return checkpoint_create(only_if_grown=True).pk
