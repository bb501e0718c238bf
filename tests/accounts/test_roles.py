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
    both = make_user("mia", "privacy_officer", "auditor")
    response = portal_as(both).get("/")
    assert response.status_code == 200
    assert b"/officer" in response.content
    assert b"/audit/" in response.content


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
    assert response.status_code == 403
    assert response.json()["error"] == "cannot_change_own_account"
    assert User.objects.get(username="adam").role_set == {"admin"}


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


def test_a_role_without_a_console_is_named_on_the_home_page(portal_as, rita, monkeypatch):
    from accounts import consoles

    # Every role has a console now: take the requester's away to see what a role without one gets.
    monkeypatch.setattr(consoles, "CONSOLES", [c for c in consoles.CONSOLES if c.role != Role.REQUESTER])
    response = portal_as(rita).get("/")
    assert response.status_code == 200
    assert b"requester" in response.content and b"no console" in response.content
    assert b"holds no role" not in response.content


# --- Denied paths: the services check the actor themselves -----------------------


@pytest.mark.parametrize("persona", ["alice", "olivia", "rita", "aaron"])
def test_only_an_admin_may_change_roles_whoever_calls_the_service(persona, request, bob):
    from accounts.services import user_set_roles
    from config.errors import NotPermitted

    actor = request.getfixturevalue(persona)
    with pytest.raises(NotPermitted) as denied:
        user_set_roles(actor=actor, user=bob, roles=["admin"])
    assert denied.value.code == "admin_required"
    bob.forget_roles()
    assert bob.role_set == {"employee"}
    assert not User.objects.get(username="bob").is_staff
    assert not AuditEntry.objects.filter(action="account.roles").exists()


def test_only_an_admin_may_create_enable_or_update_accounts(alice, bob):
    from accounts.services import user_create, user_set_active, user_update
    from config.errors import NotPermitted

    with pytest.raises(NotPermitted):
        user_create(actor=alice, username="sneaky", roles=["admin"])
    with pytest.raises(NotPermitted):
        user_set_active(actor=alice, user=bob, active=False)
    with pytest.raises(NotPermitted):
        user_update(actor=alice, user=bob, is_active=False)
    assert not User.objects.filter(username="sneaky").exists()
    assert User.objects.get(username="bob").is_active


def test_a_disabled_admin_changes_nothing(adam, bob):
    from accounts.services import user_set_roles
    from config.errors import NotPermitted

    adam.is_active = False
    with pytest.raises(NotPermitted):
        user_set_roles(actor=adam, user=bob, roles=["auditor"])
    bob.forget_roles()
    assert bob.role_set == {"employee"}


def test_a_system_actor_is_not_an_admin_unless_it_says_system(bob):
    from accounts.services import user_set_roles
    from config.errors import NotPermitted

    with pytest.raises(NotPermitted):
        user_set_roles(actor="user:adam", user=bob, roles=["admin"])
    user_set_roles(actor="system:test", user=bob, roles=["auditor"])
    assert bob.role_set == {"auditor"}


@pytest.mark.parametrize("persona", ["alice", "olivia", "aaron"])
def test_accounts_are_not_found_for_non_admins(persona, request, bob):
    from accounts.selectors import user_for_admin, users_for_admin
    from config.errors import NotFound

    actor = request.getfixturevalue(persona)
    assert list(users_for_admin(actor=actor)) == []
    with pytest.raises(NotFound):
        user_for_admin(actor=actor, username="bob")


@pytest.mark.parametrize("persona", ["alice", "olivia", "rita", "aaron"])
def test_non_admins_cannot_change_roles_in_the_console(portal_as, persona, request, bob):
    response = portal_as(request.getfixturevalue(persona)).post(
        "/accounts/users", {"username": "bob", "roles": ["admin"]}
    )
    assert response.status_code == 403
    bob.forget_roles()
    assert bob.role_set == {"employee"}


def test_the_console_refuses_to_drop_the_admins_own_admin_role(portal_as, adam):
    client = portal_as(adam)
    response = client.post("/accounts/users", {"username": "adam", "roles": ["employee"]}, follow=True)
    assert response.status_code == 200
    assert b"You cannot change the roles or the status of your own account" in response.content
    assert User.objects.get(username="adam").role_set == {"admin"}
    assert not AuditEntry.objects.filter(action="account.roles").exists()


def test_the_console_names_an_unknown_role(portal_as, adam, alice):
    response = portal_as(adam).post("/accounts/users", {"username": "alice", "roles": ["emperor"]}, follow=True)
    assert response.status_code == 200
    assert b"Unknown role(s): emperor." in response.content
    alice.forget_roles()
    assert alice.role_set == {"employee"}


def test_anonymous_visitors_are_sent_to_sign_in_from_the_console(client, alice):
    response = client.post("/accounts/users", {"username": "alice", "roles": ["admin"]})
    assert response.status_code == 302
    assert response["Location"] == "/login?next=/accounts/users"
    alice.forget_roles()
    assert alice.role_set == {"employee"}


def test_the_admin_api_refuses_anonymous_callers(api, alice):
    response = api.patch("/api/v1/users/alice", {"roles": ["admin"]}, format="json")
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


# --- No self-escalation ------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"roles": ["admin", "auditor"]},
        {"roles": ["admin", "privacy_officer"]},
        {"roles": ["admin"]},
        {"is_active": False},
        {"roles": ["admin"], "is_active": True},
    ],
)
def test_an_admin_cannot_change_its_own_account(api_as, adam, change):
    response = api_as(adam).patch("/api/v1/users/adam", change, format="json")
    assert response.status_code == 403
    assert response.json() == {
        "error": "cannot_change_own_account",
        "detail": "You cannot change the roles or the status of your own account; ask another administrator.",
    }
    stored = User.objects.get(username="adam")
    assert stored.role_set == {"admin"} and stored.is_active
    assert not AuditEntry.objects.filter(target="user:adam").exclude(action="account.create").exists()


def test_the_escalated_admin_still_cannot_read_the_log_or_consent_rates(api_as, adam):
    client = api_as(adam)
    client.patch("/api/v1/users/adam", {"roles": ["admin", "auditor", "privacy_officer"]}, format="json")
    adam.forget_roles()
    assert client.get("/api/v1/audit/entries").status_code == 403
    assert client.get("/api/v1/consent/stats").status_code == 403


def test_the_services_refuse_the_own_account_whoever_calls_them(adam):
    from accounts.services import user_set_active, user_set_roles
    from config.errors import NotPermitted

    for attempt in (
        lambda: user_set_roles(actor=adam, user=adam, roles=["admin", "auditor"]),
        lambda: user_set_active(actor=adam, user=adam, active=False),
    ):
        with pytest.raises(NotPermitted) as refused:
            attempt()
        assert refused.value.code == "cannot_change_own_account"
    assert User.objects.get(username="adam").is_active
    assert User.objects.get(username="adam").role_set == {"admin"}


def test_another_admin_changes_an_admins_account(api_as, adam, db):
    ada = make_user("ada", "admin", department="IT")
    response = api_as(ada).patch("/api/v1/users/adam", {"roles": ["admin", "employee"]}, format="json")
    assert response.status_code == 200 and response.json()["roles"] == ["admin", "employee"]
    entry = AuditEntry.objects.get(action="account.roles")
    assert (entry.actor, entry.target) == ("user:ada", "user:adam")


def test_the_console_offers_no_form_for_the_own_account(portal_as, adam, alice):
    page = portal_as(adam).get("/accounts/users").content.decode()
    assert 'value="alice"' in page and 'value="adam"' not in page
    assert "your own account" in page


def test_the_console_refuses_a_posted_own_account_change(portal_as, adam):
    response = portal_as(adam).post("/accounts/users", {"username": "adam", "roles": ["admin", "auditor"]}, follow=True)
    assert response.status_code == 200
    assert b"You cannot change the roles or the status of your own account" in response.content
    assert User.objects.get(username="adam").role_set == {"admin"}
    assert not AuditEntry.objects.filter(action="account.roles").exists()


# --- Admin does not combine with the roles that read data or the log --------------


@pytest.mark.parametrize("other", ["auditor", "privacy_officer", "requester"])
def test_admin_cannot_be_created_with_a_reading_role(api_as, adam, other):
    response = api_as(adam).post("/api/v1/users", {"username": "x", "roles": ["admin", other]}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "incompatible_roles" and body["roles"] == ["admin", other]
    assert f"The admin role cannot be combined with {other} on one account" in body["detail"]
    assert not User.objects.filter(username="x").exists()
    assert not AuditEntry.objects.filter(target="user:x").exists()


def test_admin_cannot_be_given_to_an_officer_nor_a_reading_role_to_an_admin(api_as, adam, olivia, db):
    client = api_as(adam)
    response = client.patch("/api/v1/users/olivia", {"roles": ["admin", "privacy_officer"]}, format="json")
    assert response.status_code == 400 and response.json()["error"] == "incompatible_roles"
    ada = make_user("ada", "admin", department="IT")
    response = client.patch("/api/v1/users/ada", {"roles": ["admin", "auditor", "requester"]}, format="json")
    assert response.status_code == 400
    assert response.json()["roles"] == ["admin", "auditor", "requester"]
    assert "auditor, requester" in response.json()["detail"]
    assert olivia.role_set == {"privacy_officer"} and ada.role_set == {"admin"}
    assert User.objects.get(username="olivia").role_set == {"privacy_officer"}
    assert User.objects.get(username="ada").role_set == {"admin"}
    assert not AuditEntry.objects.filter(action="account.roles").exists()


def test_the_console_names_incompatible_roles(portal_as, adam, olivia):
    response = portal_as(adam).post(
        "/accounts/users", {"username": "olivia", "roles": ["admin", "privacy_officer"]}, follow=True
    )
    assert response.status_code == 200
    assert b"The admin role cannot be combined with privacy_officer on one account" in response.content
    assert User.objects.get(username="olivia").role_set == {"privacy_officer"}


def test_admin_combines_with_employee(api_as, adam, alice):
    response = api_as(adam).patch("/api/v1/users/alice", {"roles": ["admin", "employee"]}, format="json")
    assert response.status_code == 200 and response.json()["roles"] == ["admin", "employee"]
    assert User.objects.get(username="alice").is_staff


def test_every_role_change_names_who_changed_whom(api_as, adam, bob):
    response = api_as(adam).patch("/api/v1/users/bob", {"roles": ["employee", "requester"]}, format="json")
    assert response.status_code == 200
    entry = AuditEntry.objects.get(action="account.roles")
    assert entry.actor == "user:adam" and entry.target == "user:bob"
    assert entry.detail == {"old": ["employee"], "new": ["employee", "requester"]}


# --- The Django admin is for administrators only ------------------------------------


def test_only_administrators_reach_the_django_admin_and_auditors_work_in_the_portal(client, adam, aaron):
    assert User.objects.get(username="adam").is_staff
    assert not User.objects.get(username="aaron").is_staff
    client.force_login(aaron)
    assert client.get("/django-admin/").status_code == 302  # sent to the admin's sign-in
    assert client.get("/audit/").status_code == 200
    client.force_login(adam)
    assert client.get("/django-admin/").status_code == 200
