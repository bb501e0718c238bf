"""The OpenAPI schema builds without warnings and documents the API."""

import io

import pytest
from django.core.management import call_command


def test_openapi_schema_builds_without_warnings():
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", stdout=out)
    assert '"/api/v1/me"' in out.getvalue()


@pytest.mark.django_db
def test_schema_and_docs_are_served(client):
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content.lower()


@pytest.mark.django_db
def test_jwks_is_public_and_lists_ed25519_keys(client):
    keys = client.get("/.well-known/jwks.json").json()["keys"]
    assert keys, "at least one key is published"
    for key in keys:
        assert key["kty"] == "OKP" and key["crv"] == "Ed25519" and key["alg"] == "EdDSA" and key["use"] == "sig"
        assert key["kid"] and key["x"]
