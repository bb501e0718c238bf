"""Data-access fixtures: employees who consented and captured data, a requester, two officers.

Data is captured through the real collection API (enroll, token, upload),
so exports read what ingestion stored, safeguards applied.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from consent.services import consent_grant
from tests.collection.conftest import (  # noqa: F401  (fixtures, registered by being named here)
    BROWSER,
    EDITOR,
    T0,
    TS0,
    _master_key,
    batch,
    enroll,
    ev,
    fetch_token,
    frozen,
    typed,
    upload,
)
from tests.conftest import make_user

SINCE = T0
UNTIL = T0 + timedelta(hours=2)


@pytest.fixture
def capture(frozen, notice, allowlist, enroll):  # noqa: F811  (the fixtures imported above)
    """``capture(user, events, categories=...)``: the employee opts in at T0 and uploads ``events``."""

    def do(user, events, categories=("app_focus", "clicks", "keystroke_timing", "keystrokes", "mouse"), version=None):
        frozen.move_to(T0, tick=False)
        consent_grant(employee=user, categories=list(categories), notice_version=version or notice.version)
        secret = enroll(user)["device_secret"]
        frozen.move_to(UNTIL, tick=False)
        token = fetch_token(secret).json()["token"]
        response = upload(token, batch(events))
        assert response.status_code == 202, response.content
        return response.json()

    return do


def mouse_session(at: float, count: int = 3, app: str = EDITOR) -> list[dict]:
    return [ev("mouse.move", at + i, app, x=float(i), y=float(i)) for i in range(count)]


@pytest.fixture
def employees(db):
    """Six employees: enough to show an impact preview (the minimum group is 5)."""
    return [make_user(f"emp{i}", "employee") for i in range(6)]


@pytest.fixture
def captured(capture, employees):
    """Every employee moved the mouse in the editor and clicked in the browser within [SINCE, UNTIL)."""
    for n, employee in enumerate(employees):
        capture(employee, mouse_session(60 + n) + [ev("mouse.down", 600 + n, BROWSER)])
    return employees


def request_body(**overrides) -> dict:
    body = {
        "categories": ["mouse", "clicks"],
        "apps": [EDITOR, BROWSER],
        "since": SINCE.isoformat(),
        "until": UNTIL.isoformat(),
        "purpose": "agent-training",
        "justification": "Train the computer-use agent on pointer trajectories in editors.",
    }
    return {**body, **overrides}


@pytest.fixture
def submit(api_as, rita):
    def do(**overrides):
        response = api_as(rita).post("/api/v1/access/requests", request_body(**overrides), format="json")
        assert response.status_code == 201, response.content
        return response.json()

    return do


@pytest.fixture
def approve(api_as, olivia):
    def do(request_id, officer=None, **extra):
        body = {"decision": "approve", "reason": "Scope matches the stated purpose.", **extra}
        response = api_as(officer or olivia).post(f"/api/v1/access/requests/{request_id}/reviews", body, format="json")
        assert response.status_code == 201, response.content
        return response.json()

    return do


@pytest.fixture
def granted(captured, submit, approve):
    """An approved request for mouse and clicks in both apps; returns the grant."""
    return approve(submit()["id"])["grant"]
