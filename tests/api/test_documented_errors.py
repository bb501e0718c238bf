"""The schema documents the error statuses DRF answers for each operation, derived from the view."""

from __future__ import annotations

import pytest

ERROR_REF = "#/components/schemas/Error"


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from django.test import Client

    with django_db_blocker.unblock():
        return Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()


@pytest.fixture(scope="module")
def paths(schema):
    return schema["paths"]


def statuses(paths, path, method):
    return sorted(paths[path][method]["responses"])


def error_ref(paths, path, method, code):
    return paths[path][method]["responses"][code]["content"]["application/json"]["schema"]["$ref"]


def test_role_limited_operations_document_401_and_403(paths):
    assert statuses(paths, "/api/v1/users", "get") == ["200", "401", "403"]
    assert error_ref(paths, "/api/v1/users", "get", "403") == ERROR_REF
    assert error_ref(paths, "/api/v1/users", "get", "401") == ERROR_REF


def test_operations_any_account_may_call_document_401_but_not_403(paths):
    assert statuses(paths, "/api/v1/me", "get") == ["200", "401"]
    # Officer-only writes, reads open to every account.
    assert statuses(paths, "/api/v1/consent/retention", "get") == ["200", "401"]
    assert "403" in statuses(paths, "/api/v1/consent/retention", "put")


def test_bodies_document_400_and_415_and_path_parameters_404(paths):
    assert statuses(paths, "/api/v1/users/{username}", "patch") == ["200", "400", "401", "403", "404", "415"]
    assert error_ref(paths, "/api/v1/users/{username}", "patch", "415") == ERROR_REF


def test_query_parameters_document_400(paths):
    assert "400" in statuses(paths, "/api/v1/audit/checkpoints", "get")


def test_explicit_declarations_are_kept(paths):
    # The upload reads its body itself (no DRF parsers) and declares its own statuses.
    assert statuses(paths, "/api/v1/collection/batches", "post") == [
        "200",
        "202",
        "400",
        "401",
        "403",
        "409",
        "413",
        "415",
        "429",
        "503",
    ]
    # Sign-in needs no credentials: no derived 401/403 beyond its own declaration.
    assert statuses(paths, "/api/v1/auth/token", "post") == ["201", "400", "401", "415", "429"]


def test_validation_errors_may_carry_fields(schema):
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["detail", "error"]
    assert set(error["properties"]) == {"error", "detail", "fields"}


@pytest.mark.django_db
def test_an_invalid_first_list_item_is_named_with_its_index(api_as, alice, notice):
    response = api_as(alice).post("/api/v1/consent/me/withdrawals", {"categories": ["mouse\x00"]}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid"
    assert body["detail"] == "categories.0: Null characters are not allowed."
    assert body["fields"] == {"categories": {"0": ["Null characters are not allowed."]}}
    from consent.models import ConsentEvent

    assert not ConsentEvent.objects.exists()
