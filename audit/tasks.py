"""Celery tasks of the audit app."""

from __future__ import annotations

from celery import shared_task

from audit.services import checkpoint_make_due


@shared_task(name="audit.tasks.make_checkpoint_task")
def make_checkpoint_task() -> int:
    """Periodic and on-demand checkpoint; a no-op when nothing was appended since the last one. Returns its id."""
    return checkpoint_make_due().pk
