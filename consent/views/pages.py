"""What the consent portal pages share: a service's outcome as a message, and 404 for what the actor may not see."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest

from config.errors import ApplicationError, NotFound
from consent.models import DataCategory

CATEGORY_LABELS = dict(DataCategory.choices)

T = TypeVar("T")


def form_errors_to_messages(request: HttpRequest, form: forms.Form) -> None:
    """Show a form's errors the way the pages show a service's refusal: as error messages."""
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


def attempt(request: HttpRequest, action: Callable[[], Any], success: str, form: forms.Form | None = None) -> bool:
    """Run ``action`` (a service call) and report its outcome as a message; False when refused.

    With a ``form``, a malformed post is refused before the service is called.
    """
    if form is not None and not form.is_valid():
        form_errors_to_messages(request, form)
        return False
    try:
        action()
    except ApplicationError as exc:
        messages.error(request, exc.detail)
        return False
    messages.success(request, success)
    return True


def found(fetch: Callable[[], T]) -> T:
    """Run a selector; a record the actor may not see is a plain 404 page."""
    try:
        return fetch()
    except NotFound as exc:
        raise Http404(exc.detail) from None
