"""Upload rate limiting per device: a token bucket kept in the Django cache.

With Redis as the cache every web process shares the buckets.  Reading and
writing the bucket is not atomic, so two simultaneous uploads of one device
may both take the last token; a bucket is a limit on a misbehaving client,
not an accounting system, so that slack is acceptable.

When the cache is down the upload is refused with ``Unavailable`` (503 and
``Retry-After``) before anything is read or stored: the device state the
safeguards carry between batches lives in the same cache, and a capture
client keeps its batches and retries, so waiting loses nothing.
"""

from __future__ import annotations

import logging
import math
import time

from django.conf import settings
from django.core.cache import cache

from accounts.throttling import CACHE_ERRORS
from config.errors import Unavailable

log = logging.getLogger(__name__)


def upload_allowed(device_id: str) -> int:
    """0 if the device may upload now (and take a token), else the seconds to wait.

    Raises ``Unavailable`` when the cache cannot be reached.
    """
    rate = settings.COLLECTION_RATE_LIMIT_PER_MINUTE / 60.0
    burst = float(settings.COLLECTION_RATE_LIMIT_BURST)
    key = f"collection:upload-bucket:{device_id}"
    timeout = int(burst / rate) + 60
    now = time.time()
    try:
        stored = cache.get(key)
        if stored is None:
            tokens = burst
        else:
            level, at = stored
            tokens = min(burst, level + max(0.0, now - at) * rate)
        if tokens < 1.0:
            cache.set(key, (tokens, now), timeout=timeout)
            return max(1, math.ceil((1.0 - tokens) / rate))
        cache.set(key, (tokens - 1.0, now), timeout=timeout)
    except CACHE_ERRORS:
        log.warning("upload refused for device %s, the cache is unavailable", device_id, exc_info=True)
        raise Unavailable(
            "unavailable",
            "The upload rate limiter's cache (Redis) is unavailable; nothing was stored. Retry later.",
        ) from None
    return 0
