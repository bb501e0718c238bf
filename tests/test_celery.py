"""Celery: the beat schedule names real tasks, and a real worker runs them.

The worker test runs against whichever broker the settings choose: the
filesystem transport on the embedded defaults, Redis when REDIS_URL is set.
"""

from __future__ import annotations

import time

import pytest
from django.conf import settings

from config.celery import app


def test_every_scheduled_job_names_a_registered_task():
    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled, "the beat schedule declares jobs"
    missing = scheduled - set(app.tasks)
    assert not missing, f"scheduled but not registered: {missing}"


@pytest.fixture
def real_worker():
    """A Celery worker thread consuming from the configured broker, tasks not eager."""
    from celery.contrib.testing.worker import start_worker

    # The broker is the configured one: test settings keep the filesystem
    # queue under a temporary directory, CI points it at Redis.
    overrides = {"task_always_eager": False}
    previous = {key: app.conf.get(key) for key in overrides}
    app.conf.update(overrides)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
            yield
    finally:
        app.conf.update(previous)


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_makes_a_checkpoint_from_the_queue(real_worker):
    from audit.models import AuditCheckpoint
    from audit.services import audit_record
    from audit.tasks import make_checkpoint_task

    audit_record(actor="system:test", action="test.event", target="test:1", detail={})
    make_checkpoint_task.delay()
    deadline = time.monotonic() + 30
    while not AuditCheckpoint.objects.exists():
        assert time.monotonic() < deadline, "the worker did not make a checkpoint within 30 s"
        time.sleep(0.1)
    checkpoint = AuditCheckpoint.objects.get()
    assert checkpoint.size == 1
