"""Service errors raised while rendering a portal page become proper error pages.

API views answer domain errors (``config.errors``) themselves (``config.exceptions``); a portal view
that lets one escape gets the same status here, with its message, instead of
a 500.
"""

from __future__ import annotations

from config.errors import ApplicationError
from config.exceptions import status_for
from config.views import render_error


class ApplicationErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, ApplicationError):
            return render_error(request, status_for(exception), exception.code, exception.detail)
        return None
