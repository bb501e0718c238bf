"""Logging filters for the site."""

from __future__ import annotations

import logging


class ClientErrorWithoutTraceback(logging.Filter):
    """Keep a 4xx response's log line but drop its traceback.

    Django logs a refused request (a 403 from a role check, a 404) with the
    exception that produced it.  That is the system working as designed, and a
    traceback for each makes real failures (5xx, which keep theirs) hard to see.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
