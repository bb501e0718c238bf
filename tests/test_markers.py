"""The postgres and redis markers skip exactly when the server is not configured."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import unavailable_services


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_postgres_test_runs_only_on_postgresql():
    assert connection.vendor == "postgresql"


@pytest.mark.redis
def test_a_redis_test_runs_only_with_redis():
    from django.core.cache import cache

    assert settings.REDIS_URL
    cache.set("marker-check", 1, timeout=5)
    assert cache.get("marker-check") == 1
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"


def test_the_skip_reasons_follow_the_configuration():
    assert unavailable_services(database_engine="django.db.backends.sqlite3", redis_url="") == {
        "postgres": "needs PostgreSQL (set DATABASE_URL=postgres://...)",
        "redis": "needs a Redis server (set REDIS_URL=redis://...)",
    }
    assert unavailable_services(database_engine="django.db.backends.postgresql", redis_url="redis://h:6379/1") == {}
