"""Roles: the home page, the accounts console and the admin API, allowed and denied."""

import pytest

from accounts.models import Role, User
from audit.models import AuditEntry
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def test_home_sends_anonymous_visitors_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login")


def test_home_sends_a_single_role_user_to_their_console(portal_as, adam):
    response = portal_as(adam).get("/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/users"


def test_home_offers_a_choice_to_users_with_several_roles(portal_as, db):
    both = make_user("mia", "admin", "auditor")
    response = portal_as(both).get("/")
    if response.status_code == 302:  # the audit console is not installed
        assert response["Location"] == "/accounts/users"
    else:
        assert response.status_code == 200
        assert b"/accounts/users" in response.content


def test_a_user_without_roles_is_told_so(portal_as, db):
    nobody = make_user("nobody")
    response = portal_as(nobody).get("/")
    assert response.status_code == 200
    assert b"holds no role" in response.content


@pytest.mark.parametrize("persona", ["alice", "olivia", "rita", "aaron"])
def test_non_admins_cannot_open_the_accounts_console(portal_as, persona, request):
    user = request.getfixturevalue(persona)
    assert portal_as(user).get("/accounts/users").status_code == 403


def test_admin_changes_roles_in_the_console(portal_as, adam, alice):
    client = portal_as(adam)
    assert b"alice" in client.get("/accounts/users").content
    response = client.post("/accounts/users", {"username": "alice", "roles": ["employee", "requester"]})
    assert response.status_code == 302
    alice.forget_roles()
    assert alice.role_set == {"employee", "requester"}
    entry = AuditEntry.objects.get(action="account.roles")
    assert entry.actor == "user:adam" and entry.detail == {"old": ["employee"], "new": ["employee", "requester"]}


@pytest.mark.parametrize("persona", ["alice", "olivia", "oscar", "rita", "aaron"])
def test_non_admins_get_403_from_the_admin_api(api_as, persona, request):
    client = api_as(request.getfixturevalue(persona))
    listing = client.get("/api/v1/users")
    assert listing.status_code == 403
    assert listing.json() == {"error": "permission_denied", "detail": "This requires the admin role."}
    created = client.post("/api/v1/users", {"username": "x", "roles": ["admin"]}, format="json")
    assert created.status_code == 403
    assert not User.objects.filter(username="x").exists()


def test_admin_creates_and_lists_accounts(api_as, adam):
    client = api_as(adam)
    response = client.post(
        "/api/v1/users",
        {"username": "newbie", "roles": ["employee", "requester"], "department": "Sales"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["roles"] == ["employee", "requester"]
    usernames = [u["username"] for u in client.get("/api/v1/users").json()]
    assert usernames == ["adam", "newbie"]


def test_admin_api_rejects_unknown_roles_and_writes_nothing(api_as, adam):
    response = api_as(adam).post("/api/v1/users", {"username": "x", "roles": ["emperor"]}, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "unknown_role"
    assert "emperor" in response.json()["detail"]
    assert not User.objects.filter(username="x").exists()


def test_admin_api_refuses_duplicate_usernames(api_as, adam, alice):
    response = api_as(adam).post("/api/v1/users", {"username": "ALICE", "roles": ["employee"]}, format="json")
    assert response.status_code == 409
    assert response.json()["error"] == "username_taken"


def test_admin_updates_roles_and_disables_accounts(api_as, adam, alice):
    client = api_as(adam)
    response = client.patch("/api/v1/users/alice", {"roles": ["auditor"], "is_active": False}, format="json")
    assert response.status_code == 200
    assert response.json()["roles"] == ["auditor"] and response.json()["is_active"] is False
    assert client.patch("/api/v1/users/ghost", {"roles": []}, format="json").status_code == 404


def test_admin_cannot_drop_their_own_admin_role(api_as, adam):
    response = api_as(adam).patch("/api/v1/users/adam", {"roles": ["employee"]}, format="json")
    assert response.status_code == 400
    assert Role.ADMIN in User.objects.get(username="adam").role_set


def test_the_django_admin_cannot_change_accounts(client, alice, db):
    root = User.objects.create_superuser("root", "root@example.com", "a-long-password-123")
    client.force_login(root)
    page = client.get(f"/django-admin/accounts/user/{alice.pk}/change/")
    assert page.status_code == 200 and b'name="username"' not in page.content  # shown, not editable
    client.post(f"/django-admin/accounts/user/{alice.pk}/change/", {"username": "alice", "is_superuser": "on"})
    client.post(f"/django-admin/accounts/user/{alice.pk}/delete/", {"post": "yes"})
    alice.refresh_from_db()
    assert not alice.is_superuser
    assert client.get("/django-admin/accounts/user/add/").status_code == 403


def test_a_role_without_a_console_is_named_on_the_home_page(portal_as, rita):
    response = portal_as(rita).get("/")
    assert response.status_code == 200
    assert b"requester" in response.content and b"no console" in response.content
    assert b"holds no role" not in response.content
