"""The Celery application. Tasks are discovered from each app's ``tasks.py``;
the beat schedule is declared once, in settings (``CELERY_BEAT_SCHEDULE``).

Like ``config.wsgi``, a worker or beat started without ``DJANGO_SETTINGS_MODULE``
runs the production settings, which refuse to start without their secrets:
never silently in debug mode.  ``make run`` sets ``config.settings.dev``.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
