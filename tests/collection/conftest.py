"""Collection fixtures: a master key, a consenting employee with a device, and upload helpers.

Time is frozen at ``T0`` while consent is granted, so event timestamps can be
placed before, inside and after the consent window exactly.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import uuid
from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from consent.services import consent_grant, subject_for_employee

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TS0 = T0.timestamp()
EDITOR = "com.microsoft.VSCode"
BROWSER = "org.mozilla.firefox"


@pytest.fixture(autouse=True)
def _master_key(settings, _isolated_keys):
    path = settings.MASTER_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(base64.b64encode(os.urandom(32)).decode())
    settings.MASTER_KEY = ""
    settings.MASTER_KEY_AUTOCREATE = False


@pytest.fixture
def frozen(time_machine):
    """Time stands at T0; ``frozen.move_to(...)`` moves it."""
    time_machine.move_to(T0, tick=False)
    return time_machine


@pytest.fixture
def consenting(frozen, alice, notice, allowlist):
    """alice has opted in to every category at T0."""
    consent_grant(
        employee=alice, categories=["app_focus", "clicks", "keystroke_timing", "keystrokes", "mouse"], notice_version=1
    )
    return alice


@pytest.fixture
def subject(consenting):
    return subject_for_employee(consenting)


@pytest.fixture
def enroll(api_as):
    def do(user, name="Work laptop", platform="macos"):
        response = api_as(user).post("/api/v1/collection/devices", {"name": name, "platform": platform}, format="json")
        assert response.status_code == 201, response.content
        return response.json()

    return do


@pytest.fixture
def device(consenting, enroll):
    return enroll(consenting)


def fetch_token(secret: str):
    return APIClient().post("/api/v1/collection/tokens", HTTP_AUTHORIZATION=f"Device {secret}")


@pytest.fixture
def token(device):
    response = fetch_token(device["device_secret"])
    assert response.status_code == 201, response.content
    return response.json()["token"]


def batch(events, batch_id=None) -> dict:
    return {"batch_id": str(batch_id or uuid.uuid4()), "schema": "capture/v1", "events": events}


def upload(token: str, body, *, gzip_it: bool = False, headers: dict | None = None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    extra = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    if gzip_it:
        raw = gzip.compress(raw)
        extra["HTTP_CONTENT_ENCODING"] = "gzip"
    extra.update(headers or {})
    content_type = extra.pop("CONTENT_TYPE", "application/json")
    return APIClient().generic("POST", "/api/v1/collection/batches", raw, content_type=content_type, **extra)


def ev(kind: str, at: float = 60.0, app: str = EDITOR, **fields) -> dict:
    """An event ``at`` seconds after T0."""
    base = {"type": kind, "timestamp": TS0 + at, "app": app}
    defaults = {
        "mouse.move": {"x": 10.0, "y": 20.0},
        "mouse.down": {"x": 10.0, "y": 20.0, "button": "left"},
        "mouse.up": {"x": 10.0, "y": 20.0, "button": "left"},
        "mouse.scroll": {"x": 10.0, "y": 20.0, "dx": 0.0, "dy": -3.0},
    }.get(kind, {})
    return {**base, **defaults, **fields}


def typed(text: str, at: float = 60.0, app: str = EDITOR, field=None, ups: bool = True) -> list[dict]:
    """key.down (and key.up) events typing ``text`` one character at a time."""
    out = []
    for i, char in enumerate(text):
        extra = {"field": field} if field else {}
        out.append(ev("key.down", at + i * 0.1, app, key_char=char, key_vk=ord(char.lower()) % 256, **extra))
        if ups:
            out.append(ev("key.up", at + i * 0.1 + 0.05, app, key_char=char, key_vk=ord(char.lower()) % 256, **extra))
    return out


@pytest.fixture
def live_token(token, frozen):
    """alice's token, two minutes after consent, when the events of ``ev`` (T0 + 60 s) have happened."""
    frozen.move_to(TS0 + 120, tick=False)
    return token
