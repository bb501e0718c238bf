"""One error shape for the whole API: ``{"error": code, "detail": text}``.

Services raise domain errors (``config.errors``); this module is the one
place that knows their HTTP status.  The handler turns them, and every DRF
exception, into that shape.  Anything else is logged
and becomes a 500 with no internals leaked.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from config import errors

logger = logging.getLogger("api")


STATUS_BY_ERROR: dict[type[errors.ApplicationError], int] = {
    errors.InvalidInput: status.HTTP_400_BAD_REQUEST,
    errors.NotAuthenticated: status.HTTP_401_UNAUTHORIZED,
    errors.NotPermitted: status.HTTP_403_FORBIDDEN,
    errors.NotFound: status.HTTP_404_NOT_FOUND,
    errors.Conflict: status.HTTP_409_CONFLICT,
    errors.TooLarge: status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    errors.UnsupportedFormat: status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    errors.RateLimited: status.HTTP_429_TOO_MANY_REQUESTS,
    errors.Unavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
}


def status_for(error: errors.ApplicationError) -> int:
    """The HTTP status of a domain error (400 for kinds without their own)."""
    for kind in type(error).__mro__:
        if kind in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[kind]
    return status.HTTP_400_BAD_REQUEST


# Seconds a client is told to wait after a 503: a dependency that is down
# (Redis, the master key) is not back in a moment, and clients that retry at
# once only add load while it recovers.
UNAVAILABLE_RETRY_AFTER_SECONDS = 30


def headers_for(error: errors.ApplicationError) -> dict[str, str]:
    if isinstance(error, errors.RateLimited):
        return {"Retry-After": str(error.retry_after)}
    if isinstance(error, errors.Unavailable):
        return {"Retry-After": str(UNAVAILABLE_RETRY_AFTER_SECONDS)}
    return {}


def _flatten(detail: Any, prefix: str = "") -> list[str]:
    if isinstance(detail, dict):
        out: list[str] = []
        for key, value in detail.items():
            # DRF keys list items by their (int) index: index 0 is a name too.
            name = str(key) if key != "non_field_errors" else ""
            out.extend(_flatten(value, f"{prefix}{name}" if not prefix or not name else f"{prefix}.{name}"))
        return out
    if isinstance(detail, list):
        out = []
        for index, value in enumerate(detail):
            if isinstance(value, (dict, list)):
                out.extend(_flatten(value, f"{prefix}[{index}]"))
            else:
                out.extend(_flatten(value, prefix))
        return out
    return [f"{prefix}: {detail}" if prefix else str(detail)]


_CODES = {
    exceptions.ParseError: "malformed_request",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
    exceptions.ValidationError: "invalid",
}


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, errors.ApplicationError):
        body = {"error": exc.code, "detail": exc.detail, **exc.extra}
        code = status_for(exc)
        logger.info("api error %s %s: %s", code, exc.code, exc.detail)
        return Response(body, status=code, headers=headers_for(exc) or None)
    if isinstance(exc, IntegrityError):
        # A uniqueness race the service's own check could not see; its
        # transaction rolled back, so nothing was half-written.
        logger.warning("integrity conflict: %s", exc)
        return Response(
            {"error": "conflict", "detail": "The change collided with a concurrent one and was not made; try again."},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None
    code = next((c for cls, c in _CODES.items() if isinstance(exc, cls)), "error")
    if isinstance(exc, exceptions.ValidationError):
        fields = response.data if isinstance(response.data, (dict, list)) else {"": response.data}
        messages = _flatten(fields)
        response.data = {"error": code, "detail": "; ".join(messages) or "Invalid input.", "fields": fields}
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else str(response.data)
        response.data = {"error": code, "detail": str(detail)}
    logger.info("api error %s %s: %s", response.status_code, code, response.data["detail"])
    return response
