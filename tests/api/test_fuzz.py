"""Property-based fuzz of the whole JSON API against its own OpenAPI schema.

schemathesis loads ``/api/schema/`` from the WSGI application and generates
requests (valid ones and deliberately invalid ones) for every operation; each
operation runs once per credential that can call it: an API token for each
role (employee, privacy officer, requester, auditor, admin) on the account
API, a device secret on ``POST /collection/tokens``, a collection token on
``POST /collection/batches``, and nothing on ``POST /auth/token``.  Every
answer must be no 5xx, a status the schema documents for the operation, with
the content type and body the schema describes.

Failures are collected, not raised inside Hypothesis: every example runs
(no shrinking, a bounded and deterministic number of requests) and the test
then fails listing each distinct violation.  The session prints a summary
(operations, requests, 5xx, violations) at the end of the run.

Destructive operations stay meaningful because credentials are made fresh for
every generated request: revoking or disabling the credential in use (token
revocation, ``DELETE /collection/devices/{id}``, withdrawing consent) cannot
spill into the next request.  Each (operation, credential) pair is its own
test, so the database is rolled back between them.  Nothing is excluded.
schemathesis itself leaves the ``Authorization`` header out of some negative
cases (a missing required header): those check the documented 401.
"""

from __future__ import annotations

import base64
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

import hypothesis
import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, strategies
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from access.services import data_request_review, data_request_submit
from accounts.models import Role
from accounts.services import api_token_create
from collection.models import Device
from collection.services import device_enroll, token_issue
from consent.services import consent_grant
from tests.conftest import ALL_CATEGORIES, make_user

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

# Generated requests per operation, shared among the credentials that call it
# (10 per role on the account API, 50 for a single credential): about 3,000
# requests in all.  FUZZ_EXAMPLES raises it for a deeper run by hand.
EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_EXAMPLES", "50"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

ROLES = [Role.EMPLOYEE, Role.PRIVACY_OFFICER, Role.REQUESTER, Role.AUDITOR, Role.ADMIN]
APP = get_wsgi_application()
SCHEMA = schemathesis.openapi.from_wsgi("/api/schema/", APP)


def _credentials_for(operation) -> list[str]:
    schemes = {name for requirement in operation.definition.raw.get("security", []) for name in requirement}
    if "captureToken" in schemes:
        return ["capture"]
    if "deviceSecret" in schemes:
        return ["device"]
    if "tokenAuth" in schemes:
        return list(ROLES)
    return ["anonymous"]


OPERATIONS = {op.label: op for op in (result.ok() for result in SCHEMA.get_all_operations())}
CASES = [(label, credential) for label, op in OPERATIONS.items() for credential in _credentials_for(op)]


@dataclass
class Tally:
    operations: set[str] = field(default_factory=set)
    runs: int = 0
    requests: int = 0
    server_errors: int = 0
    violations: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)


TALLY = Tally()


def summary_lines() -> list[str]:
    """What the run found; printed at the end of the session (tests/api/conftest.py)."""
    lines = [
        f"API fuzz: {len(TALLY.operations)} operations, {TALLY.runs} operation x credential runs, "
        f"{TALLY.requests} requests, {TALLY.server_errors} 5xx, "
        f"{sum(TALLY.violations.values())} schema violations ({len(TALLY.violations)} distinct)",
        "  statuses: " + ", ".join(f"{code}: {n}" for code, n in sorted(TALLY.statuses.items())),
    ]
    return lines + [f"  {n} x {violation}" for violation, n in TALLY.violations.most_common()]


class Credentials:
    """Fresh credentials per request (an operation may revoke the one it was called with),
    and the ids of records that exist, by path parameter name."""

    def __init__(self, users: dict[str, object], records: dict[str, str]):
        self.users = users
        self.records = records

    def header(self, credential: str) -> dict[str, str]:
        if credential == "anonymous":
            return {}
        if credential in ("device", "capture"):
            # Each request enrolls a fresh device; the per-employee cap would refuse the sixth.
            Device.objects.filter(employee=self.users[Role.EMPLOYEE], revoked_at__isnull=True).update(
                revoked_at=timezone.now()
            )
            device, secret = device_enroll(employee=self.users[Role.EMPLOYEE], name="Fuzz laptop", platform="macos")
            if credential == "device":
                return {"Authorization": f"Device {secret}"}
            return {"Authorization": f"Bearer {token_issue(device=device).token}"}
        return {"Authorization": f"Token {api_token_create(user=self.users[credential]).value}"}


@pytest.fixture(autouse=True)
def _keep_test_connection():
    """Requests go through the real WSGI handler, which closes the database connection after each
    request; that would end the test's transaction (on PostgreSQL).  Django's test client does the same."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def master_key(settings, _isolated_keys):
    """Encrypted storage is configured: grants and uploads can store their keys and events."""
    path = settings.MASTER_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(base64.b64encode(os.urandom(32)).decode())
    settings.MASTER_KEY = ""
    settings.MASTER_KEY_AUTOCREATE = False


@pytest.fixture
def credentials(master_key, notice, allowlist, olivia):
    """One account per role; the employee has opted in to everything, so capture credentials work.

    Records the path parameters can name: the employee's device and consent
    receipt, the notice, an allowed application, the employee's account (never
    the admin's own: disabling it would leave the rest of the run 401), a
    pending data request and an approved one with its grant.  Exports are not
    made (they need captured data of five subjects): export ids stay random.
    """
    users = {role: make_user(f"fuzz-{role}", role) for role in ROLES}
    users[Role.PRIVACY_OFFICER] = olivia
    employee, requester = users[Role.EMPLOYEE], users[Role.REQUESTER]
    event = consent_grant(employee=employee, categories=ALL_CATEGORIES, notice_version=1)
    device, _ = device_enroll(employee=employee, name="Fuzz desktop", platform="linux")
    now = timezone.now()
    ask = {
        "requester": requester,
        "categories": ["mouse"],
        "apps": [allowlist[0].app_id],
        "since": now - timedelta(days=7),
        "until": now - timedelta(days=1),
        "purpose": "agent-training",
        "justification": "Train the computer-use agent on pointer trajectories.",
    }
    pending = data_request_submit(**ask)
    approved = data_request_review(
        officer=olivia, request=data_request_submit(**ask), approve=True, reason="Scope matches the purpose."
    )
    records = {
        "device_id": str(device.pk),
        "receipt_id": str(event.receipt.pk),
        "notice_id": str(notice.pk),
        "app_id": allowlist[0].app_id,
        "username": employee.username,
        "request_id": str(pending.pk),
        "grant_id": str(approved.grant.pk),
    }
    return Credentials(users, records)


# Content types no operation parses; DRF must answer 415, as documented.
WRONG_CONTENT_TYPES = ["text/plain", "multipart/form-data; boundary=fuzz", "application/xml"]
# Appended to free-text path parameters: PostgreSQL refuses a NUL in a query,
# and schemathesis does not put one in a path by itself.
NUL_IN_PATH = "nul-in-path"


def _text_path_parameters(operation) -> list[str]:
    return [
        parameter["name"]
        for parameter in operation.definition.raw.get("parameters", [])
        if parameter["in"] == "path"
        and parameter["schema"].get("type") == "string"
        and "format" not in parameter["schema"]
    ]


def _strategy(operation, records: dict[str, str]):
    """(case, variant): valid and invalid input, and variants schemathesis does not try by itself.

    Path parameters are random, or (when ``records`` has them all) those of
    records that exist, so the operation gets past its 404.  A variant is None
    (the case as generated), a wrong Content-Type for the body, or NUL_IN_PATH.
    """
    path = [p["name"] for p in operation.definition.raw.get("parameters", []) if p["in"] == "path"]
    fixed = [{name: records[name] for name in path}] if path and all(name in records for name in path) else []
    cases = strategies.one_of(
        *[
            operation.as_strategy(generation_mode=mode, path_parameters=parameters)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
            for parameters in [None, *fixed]
        ]
    )
    variants: list[str] = []
    if "requestBody" in operation.definition.raw:
        variants += WRONG_CONTENT_TYPES
    if _text_path_parameters(operation):
        variants.append(NUL_IN_PATH)
    if not variants:
        return strategies.tuples(cases, strategies.none())
    return strategies.tuples(cases, strategies.one_of(strategies.none(), strategies.sampled_from(variants)))


def _describe(failure: Failure) -> str:
    return f"{failure.title}: {failure.message.splitlines()[0] if failure.message else ''}".strip()


@pytest.mark.parametrize(("label", "credential"), CASES, ids=[f"{label} as {cred}" for label, cred in CASES])
def test_operation_answers_as_documented(label, credential, credentials):
    operation = OPERATIONS[label]
    found: Counter = Counter()

    @hypothesis.settings(
        max_examples=max(1, EXAMPLES_PER_OPERATION // len(_credentials_for(operation))),
        derandomize=True,
        database=None,
        deadline=None,
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(generated=_strategy(operation, credentials.records))
    def run(generated):
        case, variant = generated
        # Rate-limit buckets would otherwise turn most requests into 429s.
        cache.clear()
        headers = credentials.header(credential)
        if variant == NUL_IN_PATH:
            for name in _text_path_parameters(operation):
                case.path_parameters[name] = f"{case.path_parameters[name]}\x00"
        elif variant is not None:
            headers["Content-Type"] = variant
        response = case.call(headers=headers)
        TALLY.operations.add(label)
        TALLY.requests += 1
        TALLY.statuses[response.status_code] += 1
        if response.status_code >= 500:
            TALLY.server_errors += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                key = f"{label} as {credential} -> {response.status_code}: {_describe(failure)}"
                found[key] += 1
                TALLY.violations[key] += 1

    TALLY.runs += 1
    run()
    assert not found, "\n".join(f"{n} x {key}" for key, n in found.items())
