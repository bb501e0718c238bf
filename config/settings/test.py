"""Test settings: the same code paths, faster hashing, tasks run inline.

DATABASE_URL and REDIS_URL still come from the environment, so the suite runs
against SQLite by default and against PostgreSQL + Redis in CI.
"""

import os
import tempfile
import uuid
from pathlib import Path

os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
# A fresh folder name per run, so no run sees another's broker queue; it is
# only named here, and made by config.apps.SiteConfig.ready like any VAR_DIR.
os.environ.setdefault("VAR_DIR", str(Path(tempfile.gettempdir()) / f"consent-test-var-{uuid.uuid4().hex}"))

from .base import *  # noqa: E402,F403
from .base import CACHES, REDIS_URL, STORAGES  # noqa: E402

# Test databases are flushed between transactional tests, which the audit
# log's append-only triggers would refuse; only these settings allow lifting
# them, and only on databases named like test databases.
AUDIT_GUARDS_SUSPENDABLE_IN_TESTS = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
# Without Redis the per-process memory cache keeps tests independent of var/.
CACHES = CACHES if REDIS_URL else {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
