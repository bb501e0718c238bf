"""Settings of the Celery worker the fault tests start: the test settings, with tasks sent, not run inline.

The worker consumes and publishes on its own queue (``FAULT_QUEUE``), so no
other test's worker or leftover message meets it, and recovers unacknowledged
messages every second instead of every ~100 seconds (kombu's default), so a
redelivery after ``CELERY_VISIBILITY_TIMEOUT_SECONDS`` is seen quickly.
"""

import os

from config.settings.test import *  # noqa: F403
from config.settings.test import CELERY_VISIBILITY_TIMEOUT_SECONDS

CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_DEFAULT_QUEUE = os.environ["FAULT_QUEUE"]
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT_SECONDS,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
