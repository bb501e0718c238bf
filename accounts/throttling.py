"""Login rate limiting, per account and per client address.

Failed attempts are counted in the cache over a fixed window; once either
counter is over its limit, further attempts are refused with the time left,
whether or not the password would be right, so guessing cannot continue.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache


@dataclass(frozen=True)
class LoginBlocked(Exception):
    retry_after: int


def _keys(username: str, address: str) -> tuple[str, str]:
    window = int(time.time()) // settings.LOGIN_RATE_LIMIT_WINDOW_SECONDS
    account = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return f"login-fail:acct:{account}:{window}", f"login-fail:addr:{address}:{window}"


def _retry_after() -> int:
    window = settings.LOGIN_RATE_LIMIT_WINDOW_SECONDS
    return window - int(time.time()) % window


def check_login_allowed(username: str, address: str) -> None:
    """Raise ``LoginBlocked`` when this account or address has failed too often."""
    account_key, address_key = _keys(username, address)
    counts = cache.get_many([account_key, address_key])
    if (
        counts.get(account_key, 0) >= settings.LOGIN_RATE_LIMIT_PER_ACCOUNT
        or counts.get(address_key, 0) >= settings.LOGIN_RATE_LIMIT_PER_ADDRESS
    ):
        raise LoginBlocked(retry_after=_retry_after())


def record_login_failure(username: str, address: str) -> None:
    for key in _keys(username, address):
        cache.add(key, 0, timeout=settings.LOGIN_RATE_LIMIT_WINDOW_SECONDS)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=settings.LOGIN_RATE_LIMIT_WINDOW_SECONDS)


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")
