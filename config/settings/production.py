"""Production: DEBUG off, HTTPS everywhere, secrets without defaults."""

import os

os.environ.setdefault("DEBUG", "0")

from config.env import env_bool, env_int  # noqa: E402

from .base import *  # noqa: E402,F403
from .base import DEBUG  # noqa: E402

if DEBUG:  # pragma: no cover - refuses a misconfiguration
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("DEBUG must be off with production settings.")

# Behind the proxy this assumes, set TRUSTED_PROXIES (config/settings/base.py) to
# its address(es), or every client shares the proxy's sign-in lockout.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

# Joining the browsers' HSTS preload list is a one-way decision taken per
# deployment (SECURE_HSTS_PRELOAD=1); until then the check's reminder is noise.
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
