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


def test_operations_are_grouped_by_who_uses_them(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    tags = {
        path: {op["tags"][0] for op in operations.values() if isinstance(op, dict) and "tags" in op}
        for path, operations in schema["paths"].items()
    }
    assert tags["/api/v1/auth/token"] == {"auth"} and tags["/api/v1/me"] == {"auth"}
    assert tags["/api/v1/users/{username}"] == {"accounts"}
    assert tags["/api/v1/consent/me/receipts"] == {"consent"}
    assert tags["/api/v1/collection/batches"] == {"collection"}
    assert tags["/api/v1/access/requests"] == {"requests"}
    assert tags["/api/v1/audit/entries"] == {"audit"}
    used = set().union(*tags.values())
    assert used == {"auth", "accounts", "consent", "collection", "requests", "audit"}, "no operation is left ungrouped"
    assert [t["name"] for t in schema["tags"]] == ["auth", "consent", "collection", "requests", "audit", "accounts"]
