"""Upload rate limiting per device: a token bucket kept in the Django cache.

With Redis as the cache every web process shares the buckets.  Reading and
writing the bucket is not atomic, so two simultaneous uploads of one device
may both take the last token; a bucket is a limit on a misbehaving client,
not an accounting system, so that slack is acceptable.
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.core.cache import cache


def upload_allowed(device_id: str) -> int:
    """0 if the device may upload now (and take a token), else the seconds to wait."""
    rate = settings.COLLECTION_RATE_LIMIT_PER_MINUTE / 60.0
    burst = float(settings.COLLECTION_RATE_LIMIT_BURST)
    key = f"collection:upload-bucket:{device_id}"
    now = time.time()
    stored = cache.get(key)
    if stored is None:
        tokens = burst
    else:
        level, at = stored
        tokens = min(burst, level + max(0.0, now - at) * rate)
    if tokens < 1.0:
        cache.set(key, (tokens, now), timeout=int(burst / rate) + 60)
        return max(1, math.ceil((1.0 - tokens) / rate))
    cache.set(key, (tokens - 1.0, now), timeout=int(burst / rate) + 60)
    return 0
