"""Refused requests are logged in one line; failures keep their traceback."""

import io
import logging
import sys

import pytest

from config.log_filters import ClientErrorWithoutTraceback

pytestmark = pytest.mark.django_db


@pytest.fixture
def console_output():
    """What the configured console handler writes, while the test runs."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)


def test_a_forbidden_page_is_logged_without_a_traceback(portal_as, alice, console_output):
    response = portal_as(alice).get("/audit/")

    assert response.status_code == 403
    logged = console_output.getvalue()
    assert "Forbidden" in logged and "/audit/" in logged
    assert "Traceback" not in logged


def _record(status_code: int) -> logging.LogRecord:
    try:
        raise ValueError("boom")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "failed", (), exc_info)
    record.status_code = status_code
    return record


def test_a_server_error_keeps_its_traceback():
    record = _record(500)
    assert ClientErrorWithoutTraceback().filter(record)
    assert record.exc_info is not None
    assert "Traceback" in logging.Formatter().format(record)


def test_a_client_error_loses_only_its_traceback():
    record = _record(404)
    assert ClientErrorWithoutTraceback().filter(record)
    assert record.exc_info is None
    assert logging.Formatter().format(record) == "failed"
