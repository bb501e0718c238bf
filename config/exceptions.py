"""One error shape for the whole API: ``{"error": code, "detail": text}``.

``ApiError`` is what services raise for a rule the caller broke; the handler
turns it, and every DRF exception, into that shape.  Anything else is logged
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

logger = logging.getLogger("api")


class ApiError(Exception):
    """A rule broken by the caller, reported as a 4xx with a stable code."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, code: str, detail: str, *, status_code: int | None = None, extra: dict[str, Any] | None = None):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        if status_code is not None:
            self.status_code = status_code
        self.extra = extra or {}
        self.headers: dict[str, str] = {}


class NotFound(ApiError):
    status_code = status.HTTP_404_NOT_FOUND

    def __init__(self, detail: str = "Not found."):
        super().__init__("not_found", detail)


class Conflict(ApiError):
    status_code = status.HTTP_409_CONFLICT


def _flatten(detail: Any, prefix: str = "") -> list[str]:
    if isinstance(detail, dict):
        out: list[str] = []
        for key, value in detail.items():
            name = key if key != "non_field_errors" else ""
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
    if isinstance(exc, ApiError):
        body = {"error": exc.code, "detail": exc.detail, **exc.extra}
        logger.info("api error %s %s: %s", exc.status_code, exc.code, exc.detail)
        return Response(body, status=exc.status_code, headers=exc.headers or None)
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
