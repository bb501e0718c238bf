"""JSON bodies nested too deeply or repeating a key are 400s on every endpoint, never 500s.

Deep nesting used to exhaust the recursion limit of the JSON parser (a 500
for anyone, signed in or not); a repeated key was resolved silently.  The
capture upload, which decodes its body itself, is covered in
``tests/collection/test_upload_duplicates.py``.
"""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiToken
from audit.models import AuditEntry
from collection.models import Device
from config.parsers import MAX_JSON_DEPTH
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token"
DEVICES_URL = "/api/v1/collection/devices"

DEEP_BODIES = [
    pytest.param(b"[" * 100_000, id="100,000 unclosed arrays"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, id="100,000 closed arrays"),
    pytest.param(b'{"username": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_000 + b"}", id="50,000 objects in a field"),
    pytest.param(b'{"name": ' + b"[" * (MAX_JSON_DEPTH) + b"]" * (MAX_JSON_DEPTH) + b"}", id="one level over"),
]


def _post(client: APIClient, url: str, raw: bytes):
    return client.generic("POST", url, raw, content_type="application/json")


def _assert_too_deep(response) -> None:
    assert response.status_code == 400, response.content
    assert response.json() == {
        "error": "too_deep",
        "detail": f"The JSON body nests arrays or objects more than {MAX_JSON_DEPTH} levels deep; that is the limit.",
    }


def _nested(depth: int) -> bytes:
    """An object whose "name" holds lists nested so that the whole body is ``depth`` levels deep."""
    return b'{"name": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b', "platform": "macos"}'


@pytest.mark.parametrize("raw", DEEP_BODIES)
def test_the_unauthenticated_token_endpoint_refuses_deep_json(api, alice, raw):
    _assert_too_deep(_post(api, TOKEN_URL, raw))
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("raw", DEEP_BODIES)
def test_an_authenticated_endpoint_refuses_deep_json_and_writes_nothing(api_as, alice, raw):
    audited = AuditEntry.objects.count()
    _assert_too_deep(_post(api_as(alice), DEVICES_URL, raw))
    assert not Device.objects.exists()
    assert AuditEntry.objects.count() == audited


def test_nesting_up_to_the_limit_is_parsed_and_one_more_level_is_refused(api_as, alice):
    client = api_as(alice)
    at_limit = _post(client, DEVICES_URL, _nested(MAX_JSON_DEPTH))
    # Parsed: the serializer, not the parser, objects to a list for a name.
    assert at_limit.status_code == 400 and at_limit.json()["error"] == "invalid"
    _assert_too_deep(_post(client, DEVICES_URL, _nested(MAX_JSON_DEPTH + 1)))
    assert not Device.objects.exists()


def test_brackets_inside_strings_do_not_count_as_nesting(api_as, alice):
    name = '[{"\\"' * 20 + "x"
    raw = json.dumps({"name": name[:100], "platform": "macos"}).encode()
    assert raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH
    response = _post(api_as(alice), DEVICES_URL, raw)
    assert response.status_code == 201, response.content
    assert Device.objects.get().name == name[:100]


def test_a_repeated_key_is_refused_on_the_token_endpoint(api, alice, bob):
    raw = b'{"username": "bob", "password": "%s", "username": "alice"}' % PASSWORD.encode()
    response = _post(api, TOKEN_URL, raw)
    assert response.status_code == 400
    assert response.json() == {
        "error": "duplicate_key",
        "detail": 'The JSON object has the key "username" more than once; a key may appear once per object.',
    }
    assert not ApiToken.objects.exists()


def test_a_repeated_key_is_refused_on_an_authenticated_endpoint_and_nothing_is_written(api_as, alice):
    audited = AuditEntry.objects.count()
    raw = b'{"name": "Work laptop", "platform": "macos", "platform": "linux"}'
    response = _post(api_as(alice), DEVICES_URL, raw)
    assert response.status_code == 400
    assert response.json()["error"] == "duplicate_key"
    assert '"platform"' in response.json()["detail"]
    assert not Device.objects.exists()
    assert AuditEntry.objects.count() == audited


def test_a_long_repeated_key_is_shortened_in_the_error(api_as, alice):
    key = "k" * 500
    raw = b'{"%s": 1, "%s": 2}' % (key.encode(), key.encode())
    response = _post(api_as(alice), DEVICES_URL, raw)
    assert response.status_code == 400 and response.json()["error"] == "duplicate_key"
    assert key not in response.json()["detail"] and "k" * 64 + "…" in response.json()["detail"]


def test_malformed_json_is_still_malformed_request(api):
    for raw in (b"{not json", b'{"username": NaN}', b"\xff\xfe{}"):
        response = _post(api, TOKEN_URL, raw)
        assert response.status_code == 400, raw
        assert response.json()["error"] == "malformed_request", raw
