"""Sign-in rate limiting, and the client address it is keyed on.

Failed attempts are counted in the cache over a fixed window, under three
keys; once any counter reaches its limit, further attempts are refused with
the time left, whether or not the password would be right, so guessing
cannot continue:

* the (username, address) pair, ``LOGIN_RATE_LIMIT_PER_ACCOUNT``: guessing
  one account's password from one place.  Locking the pair, not the
  username, means failures from an attacker's address do not lock the
  account's owner out at their own address (nor stop them withdrawing).
* the address, ``LOGIN_RATE_LIMIT_PER_ADDRESS``: one place trying many
  usernames.
* the username alone, ``LOGIN_RATE_LIMIT_ACCOUNT_CEILING``: a much higher
  global ceiling.  Without it, guesses spread over many addresses (a
  botnet) are unbounded against one account; set well above the pair limit,
  locking an owner out needs failures from many addresses (ceiling / pair
  limit of them), not one.

When the cache is down the limiter degrades instead of failing the sign-in:
it logs a warning and allows the attempt (the password is still checked).
Refusing every sign-in while Redis is down would lock everyone out, and an
employee must always be able to sign in to withdraw consent.

Behind a reverse proxy ``REMOTE_ADDR`` is the proxy's, which would put every
client in one bucket; ``client_address`` reads ``X-Forwarded-For`` from the
proxies named in ``TRUSTED_PROXIES`` only, and is the one function anything
keyed on a client's address uses.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import time
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# What a cache backend raises when its server is down or unreachable: Redis
# (connection refused, timeout) and the file cache (OSError).  Anything else
# is a bug and is not caught.
CACHE_ERRORS: tuple[type[Exception], ...] = (RedisError, OSError)

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class LoginBlocked(Exception):
    retry_after: int


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def _limits(username: str, address: str) -> dict[str, int]:
    """Cache key -> limit of each counter an attempt for ``username`` from ``address`` is under."""
    window = int(time.time()) // settings.LOGIN_RATE_LIMIT_WINDOW_SECONDS
    user = username.strip().lower()
    return {
        f"login-fail:pair:{_digest(user, address)}:{window}": settings.LOGIN_RATE_LIMIT_PER_ACCOUNT,
        f"login-fail:addr:{_digest(address)}:{window}": settings.LOGIN_RATE_LIMIT_PER_ADDRESS,
        f"login-fail:acct:{_digest(user)}:{window}": settings.LOGIN_RATE_LIMIT_ACCOUNT_CEILING,
    }


def _retry_after() -> int:
    window = settings.LOGIN_RATE_LIMIT_WINDOW_SECONDS
    return window - int(time.time()) % window


def check_login_allowed(username: str, address: str) -> None:
    """Raise ``LoginBlocked`` when this username from this address, the address, or the username has failed too often.

    If the cache cannot be read, log a warning and allow the attempt.
    """
    limits = _limits(username, address)
    try:
        counts = cache.get_many(list(limits))
    except CACHE_ERRORS:
        log.warning("sign-in rate limit not checked, the cache is unavailable; attempt allowed", exc_info=True)
        return
    if any(counts.get(key, 0) >= limit for key, limit in limits.items()):
        raise LoginBlocked(retry_after=_retry_after())


def record_login_failure(username: str, address: str) -> None:
    """Count one failed sign-in against every counter; if the cache is down, log it uncounted."""
    timeout = settings.LOGIN_RATE_LIMIT_WINDOW_SECONDS
    try:
        for key in _limits(username, address):
            cache.add(key, 0, timeout=timeout)
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, timeout=timeout)
    except CACHE_ERRORS:
        log.warning("failed sign-in not counted, the cache is unavailable", exc_info=True)


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    # The settings validate TRUSTED_PROXIES at start-up; this only parses them once.
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _parse(value: str) -> IpAddress | None:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # ::ffff:192.0.2.1 is 192.0.2.1: one client, one key.
        return address.ipv4_mapped
    return address


def _trusted(address: IpAddress, networks) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def client_address(request) -> str:
    """The address of the client that sent ``request``, in canonical form.

    ``REMOTE_ADDR``, unless it is one of ``TRUSTED_PROXIES``: then the
    right-most address in ``X-Forwarded-For`` that is not itself a trusted
    proxy (each proxy appends the address it received from, so only the
    entries to the right of the first untrusted one can be believed; anything
    further left was written by the client).  A missing or malformed header,
    or one naming only trusted proxies, falls back to ``REMOTE_ADDR``.
    """
    remote_raw = request.META.get("REMOTE_ADDR", "") or ""
    remote = _parse(remote_raw)
    if remote is None:
        return remote_raw.strip() or "unknown"
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    if not networks or not _trusted(remote, networks):
        return str(remote)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for entry in reversed(forwarded.split(",")):
        hop = _parse(entry)
        if hop is None:
            # Our proxies write well-formed addresses; a malformed entry at or
            # before the first untrusted hop means a broken chain.  Believe nothing.
            return str(remote)
        if not _trusted(hop, networks):
            return str(hop)
    return str(remote)
