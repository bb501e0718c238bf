"""Domain errors: what services raise when a caller breaks a rule.

A service says *what* went wrong (not found, not permitted, conflict, …) with
a stable machine code and a sentence for people; it never knows a status
code.  ``config.exceptions`` maps each kind to HTTP for the API, and
``config.middleware`` to an error page for the portal.

A record the actor may not see is ``NotFound``, never ``NotPermitted``: the
answer must not reveal that it exists.  ``NotPermitted`` is for operations
the actor's roles do not allow at all (reading the audit log without the
auditor role, consent rates without the officer role): the same 403 the
API's role permission classes give before a service is reached.
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """A rule broken by the caller: a stable ``code`` and a ``detail`` sentence."""

    default_code = "invalid"

    def __init__(self, code: str | None = None, detail: str = "", *, extra: dict[str, Any] | None = None):
        self.code = code or self.default_code
        self.detail = detail or self.code.replace("_", " ").capitalize() + "."
        super().__init__(self.detail)
        self.extra = extra or {}


class InvalidInput(ApplicationError):
    """The input is malformed or breaks a validation rule."""


class NotAuthenticated(ApplicationError):
    """Credentials are missing, wrong or no longer valid."""

    default_code = "authentication_failed"


class NotPermitted(ApplicationError):
    """The actor's roles (or state, e.g. consent) do not allow the operation."""

    default_code = "permission_denied"


class NotFound(ApplicationError):
    """No such record, or none the actor may see."""

    default_code = "not_found"


class Conflict(ApplicationError):
    """The operation clashes with the current state (already exists, immutable, stale)."""

    default_code = "conflict"


class TooLarge(ApplicationError):
    """The input exceeds a size limit."""

    default_code = "too_large"


class UnsupportedFormat(ApplicationError):
    """The input's media type or encoding is not one the operation accepts."""

    default_code = "unsupported_media_type"


class RateLimited(ApplicationError):
    """Too many attempts; ``retry_after`` seconds until the next may succeed."""

    default_code = "rate_limited"

    def __init__(self, code: str | None = None, detail: str = "", *, retry_after: int, **kwargs: Any):
        super().__init__(code, detail, **kwargs)
        self.retry_after = retry_after


class Unavailable(ApplicationError):
    """A dependency the operation needs is down or not configured; nothing was changed."""

    default_code = "unavailable"
