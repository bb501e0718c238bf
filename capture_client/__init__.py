"""Reference capture client, written as an agent on an employee's machine would be.

Only the standard library (urllib, json, gzip), and nothing of the server:
it is a client of the HTTP API (see "Capture-client protocol" in the spec).
It signs in, enrolls a device, exchanges the device secret for collection
tokens and renews them before they expire, and uploads synthetic sessions.

``session``   synthetic activity as ``capture/v1`` events
``protocol``  HTTP, tokens, uploads, retries (``CaptureClient``)
``cli``       ``python -m capture_client`` and ``manage.py simulate_capture``
"""

from __future__ import annotations

from capture_client.cli import add_arguments, main, simulate_employees, wait_for_server
from capture_client.protocol import (
    RENEW_BEFORE_SECONDS,
    CaptureClient,
    FatalError,
    Response,
    StopCapture,
)
from capture_client.session import Session

__all__ = [
    "RENEW_BEFORE_SECONDS",
    "CaptureClient",
    "FatalError",
    "Response",
    "Session",
    "StopCapture",
    "add_arguments",
    "main",
    "simulate_employees",
    "wait_for_server",
]
