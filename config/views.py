"""Error pages: JSON under /api/ and for the JWKS, plain HTML elsewhere."""

from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import render


def _wants_json(request) -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/.well-known/")


def render_error(request, status: int, code: str, detail: str):
    if _wants_json(request):
        return JsonResponse({"error": code, "detail": detail}, status=status)
    return render(request, "error.html", {"status": status, "detail": detail}, status=status)


def bad_request(request, exception=None):
    return render_error(request, 400, "bad_request", "The request could not be understood.")


def permission_denied(request, exception=None):
    return render_error(request, 403, "permission_denied", "You do not have permission to do this.")


def page_not_found(request, exception=None):
    return render_error(request, 404, "not_found", f"Nothing is at {request.path}.")


def server_error(request):
    return render_error(request, 500, "server_error", "Something went wrong on our side; it has been logged.")
