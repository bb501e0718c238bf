"""The administrator's accounts console in the portal: create, disable, reset, search, remove roles.

Every action goes through the portal with the Django test client, as an
administrator (allowed) and as every other role (403), and checks what was
written: accounts, roles, devices, tokens and audit entries.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.utils import timezone

from accounts.models import ApiToken, User
from accounts.services import api_token_create
from audit.models import AuditEntry
from collection.models import Device
from collection.services import device_enroll
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "violet-harbour-lantern-42"
OTHER_ROLES = ["alice", "olivia", "rita", "aaron"]


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _actions(*actions: str) -> list[tuple[str, str, str]]:
    # Entries the console's actions wrote, not those of the fixtures' accounts (system:test).
    entries = AuditEntry.objects.filter(action__in=actions).exclude(actor__startswith="system:")
    return list(entries.order_by("seq").values_list("actor", "action", "target"))


def _link_path(content: bytes) -> str:
    match = re.search(rb'value="https?://[^/"]+(/accounts/set-password/[^/"]+/[^/"]+)"', content)
    assert match, "the page shows a set-password link"
    return match.group(1).decode()


# --- Who may use the console ---------------------------------------------------------


@pytest.mark.parametrize("persona", OTHER_ROLES)
@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "/accounts/users/new", {}),
        ("post", "/accounts/users/new", {"username": "mallory", "roles": ["admin"]}),
        ("get", "/accounts/users/bob/disable", {}),
        ("post", "/accounts/users/bob/disable", {}),
        ("post", "/accounts/users/bob/enable", {}),
        ("get", "/accounts/users/bob/password-link", {}),
        ("post", "/accounts/users/bob/password-link", {}),
        ("get", "/accounts/users/bob/remove-roles", {}),
        ("post", "/accounts/users/bob/remove-roles", {}),
    ],
)
def test_other_roles_get_403_and_change_nothing(portal_as, request, persona, method, path, data, bob):
    client = portal_as(request.getfixturevalue(persona))
    before = AuditEntry.objects.count()
    response = getattr(client, method)(path, data)
    assert response.status_code == 403
    assert not User.objects.filter(username="mallory").exists()
    bob.refresh_from_db()
    bob.forget_roles()
    assert bob.is_active and bob.role_set == {"employee"}
    assert AuditEntry.objects.count() == before


def test_anonymous_visitors_are_sent_to_sign_in(client, bob):
    response = client.post("/accounts/users/bob/disable")
    assert response.status_code == 302
    assert response["Location"] == "/login?next=/accounts/users/bob/disable"
    bob.refresh_from_db()
    assert bob.is_active


def test_an_unknown_account_is_a_404_page(portal_as, adam):
    client = portal_as(adam)
    for path in ("/accounts/users/ghost/disable", "/accounts/users/ghost/password-link"):
        response = client.post(path)
        assert response.status_code == 404
        assert b"No account named &#x27;ghost&#x27;." in response.content
    assert not _actions("account.disable", "account.password_link")


# --- Creating an account ---------------------------------------------------------------


def test_admin_creates_an_account_and_gets_a_one_time_link(portal_as, adam):
    client = portal_as(adam)
    assert client.get("/accounts/users/new").status_code == 200
    response = client.post(
        "/accounts/users/new",
        {
            "username": "pat",
            "first_name": "Pat",
            "last_name": "Lee",
            "email": "pat@example.com",
            "department": "Sales",
            "roles": ["employee", "requester"],
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/users/pat/password-link"
    pat = User.objects.get(username="pat")
    assert (pat.first_name, pat.last_name, pat.email, pat.department) == ("Pat", "Lee", "pat@example.com", "Sales")
    assert pat.role_set == {"employee", "requester"}
    assert not pat.has_usable_password()
    assert _actions("account.create", "account.password_link") == [
        ("user:adam", "account.create", "user:pat"),
        ("user:adam", "account.password_link", "user:pat"),
    ]

    page = client.get(response["Location"])
    assert page.status_code == 200
    assert _messages(page) == ["Account pat created."]
    link = _link_path(page.content)
    # Shown once: the page does not show it again.
    again = client.get(response["Location"])
    assert b"/accounts/set-password/" not in again.content
    assert b"shown only once" in again.content

    # The link lets pat choose a password and sign in with it.
    done = client.post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/login"
    pat.refresh_from_db()
    assert pat.check_password(NEW_PASSWORD)


@pytest.mark.parametrize(
    ("data", "status", "field", "error"),
    [
        ({"username": "", "roles": ["employee"]}, 400, "username", "This field is required."),
        (
            {"username": "pat lee", "roles": ["employee"]},
            400,
            "username",
            "A username may hold only letters, digits and @ . + - _ (no spaces).",
        ),
        ({"username": "pat", "roles": []}, 400, "roles", "Choose at least one role."),
        (
            {"username": "pat", "roles": ["emperor"]},
            400,
            "roles",
            "Select a valid choice. emperor is not one of the available choices.",
        ),
        (
            {"username": "pat", "email": "not-an-email", "roles": ["employee"]},
            400,
            "email",
            "Enter a valid email address.",
        ),
        ({"username": "pat", "department": "x" * 101, "roles": ["employee"]}, 400, "department", None),
        (
            {"username": "pat", "roles": ["admin", "auditor"]},
            400,
            "roles",
            "The admin role cannot be combined with auditor on one account",
        ),
        ({"username": "ALICE", "roles": ["employee"]}, 409, "username", "The username 'ALICE' is already taken."),
    ],
)
def test_creating_an_account_with_bad_input_names_the_problem_and_writes_nothing(
    portal_as, adam, alice, data, status, field, error
):
    before = AuditEntry.objects.count()
    users = User.objects.count()
    response = portal_as(adam).post("/accounts/users/new", data)
    assert response.status_code == status
    errors = response.context["form"].errors[field]
    assert errors
    if error:
        assert any(e.startswith(error) for e in errors), errors
    assert User.objects.count() == users
    assert AuditEntry.objects.count() == before


# --- Disabling and enabling --------------------------------------------------------------


def test_the_disable_page_states_what_stops_and_disabling_does_it(portal_as, client, adam, alice):
    device_enroll(employee=alice, name="Laptop", platform="macos")
    device_enroll(employee=alice, name="Desktop", platform="linux")
    api_token_create(user=alice)
    admin = portal_as(adam)

    page = admin.get("/accounts/users/alice/disable")
    assert page.status_code == 200
    text = re.sub(r"\s+", " ", page.content.decode())
    assert "alice will be signed out and cannot sign in; alice's 2 capture devices stop uploading at once" in text
    assert "1 API token stops working" in text
    assert Device.objects.filter(employee=alice, revoked_at__isnull=True).count() == 2  # GET changes nothing

    response = admin.post("/accounts/users/alice/disable")
    assert response.status_code == 302 and response["Location"] == "/accounts/users"
    assert _messages(response) == [
        "alice is disabled: signed out, 2 capture device(s) revoked, 1 API token(s) deleted."
    ]
    alice.refresh_from_db()
    assert not alice.is_active
    assert not Device.objects.filter(employee=alice, revoked_at__isnull=True).exists()
    assert not ApiToken.objects.filter(user=alice).exists()
    entries = _actions("account.disable", "device.revoke")
    assert [(actor, action) for actor, action, _ in entries] == [
        ("user:adam", "device.revoke"),
        ("user:adam", "device.revoke"),
        ("user:adam", "account.disable"),
    ]
    assert entries[2][2] == "user:alice"
    assert entries[0][2] == entries[1][2] and entries[0][2].startswith("subject:")  # devices name the pseudonym
    listing = admin.get("/accounts/users")
    assert b"alice <em>(disabled)</em>" in listing.content


def test_a_disabled_person_is_signed_out_and_enabling_lets_them_back(portal_as, adam, alice):
    from django.test import Client

    alice_browser = Client()
    alice_browser.force_login(alice)
    assert alice_browser.get("/").status_code == 302
    assert alice_browser.get("/").headers["Location"] != "/login?next=/"

    admin = portal_as(adam)
    assert admin.post("/accounts/users/alice/disable", follow=True).status_code == 200  # shows the message
    assert alice_browser.get("/").headers["Location"] == "/login?next=/"

    response = admin.post("/accounts/users/alice/enable")
    assert response.status_code == 302 and response["Location"] == "/accounts/users"
    assert _messages(response) == ["alice is enabled and may sign in again."]
    alice.refresh_from_db()
    assert alice.is_active
    assert _actions("account.enable") == [("user:adam", "account.enable", "user:alice")]
    assert Client().login(username="alice", password=PASSWORD)


def test_an_admin_cannot_disable_themselves(portal_as, adam):
    response = portal_as(adam).post("/accounts/users/adam/disable")
    assert response.status_code == 403
    assert b"You cannot change the roles or the status of your own account" in response.content
    adam.refresh_from_db()
    assert adam.is_active
    assert not _actions("account.disable")


def test_enabling_needs_a_post(portal_as, adam, alice):
    assert portal_as(adam).get("/accounts/users/alice/enable").status_code == 405


# --- Set-password links ------------------------------------------------------------------


def _issue_link(client, username: str) -> str:
    response = client.post(f"/accounts/users/{username}/password-link")
    assert response.status_code == 302 and response["Location"] == f"/accounts/users/{username}/password-link"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert page["Cache-Control"].startswith("max-age=0") and "no-store" in page["Cache-Control"]
    return _link_path(page.content)


def test_a_reset_link_works_once_and_then_shows_a_clear_page(portal_as, adam, alice, client):
    api_token_create(user=alice)
    link = _issue_link(portal_as(adam), "alice")
    assert _actions("account.password_link") == [("user:adam", "account.password_link", "user:alice")]
    entry = AuditEntry.objects.get(action="account.password_link")
    assert entry.detail == {"valid_seconds": 3 * 24 * 3600}

    client.logout()  # the person opening the link is not signed in
    form = client.get(link)
    assert form.status_code == 200
    assert b"Set a password for alice" in form.content
    done = client.post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/login"
    assert _messages(done) == ["Your password is set. Sign in with it."]
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    assert not ApiToken.objects.filter(user=alice).exists()
    assert _actions("account.password_set") == [("user:alice", "account.password_set", "user:alice")]
    assert AuditEntry.objects.get(action="account.password_set").detail == {"api_tokens_revoked": 1}

    # The second use fails, with a page that says why, and changes nothing.
    for second in (client.get(link), client.post(link, {"new_password1": "x" * 20, "new_password2": "x" * 20})):
        assert second.status_code == 404
        assert b"This link does not work" in second.content
        assert b"it has been used already, has expired or was mistyped" in second.content
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    assert len(_actions("account.password_set")) == 1


def test_a_reset_link_expires_after_the_timeout(portal_as, adam, alice, client):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        link = _issue_link(portal_as(adam), "alice")
        traveller.shift(timedelta(days=3) - timedelta(minutes=1))
        assert client.get(link).status_code == 200
        traveller.shift(timedelta(minutes=2))
        response = client.post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 404
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
    assert not _actions("account.password_set")


def test_the_password_validators_apply_on_the_set_password_page(portal_as, adam, alice, client):
    link = _issue_link(portal_as(adam), "alice")
    weak = client.post(link, {"new_password1": "12345678", "new_password2": "12345678"})
    assert weak.status_code == 400
    assert b"This password is too common." in weak.content
    assert b"This password is entirely numeric." in weak.content
    mismatch = client.post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD + "x"})
    assert mismatch.status_code == 400
    assert b"The two password fields didn" in mismatch.content
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
    assert not _actions("account.password_set")
    # The link still works after a rejected attempt.
    assert client.post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}).status_code == 302


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/set-password/Mg/abc-123",
        "/accounts/set-password/not-base64!/abc-123",
        "/accounts/set-password/OTk5OTk5/abc-123",  # an id no account has
        "/accounts/set-password/wrI/abc-123",  # "²", a digit only to Unicode
    ],
)
def test_a_made_up_link_is_the_same_clear_page_and_reveals_nothing(client, alice, path):
    response = client.get(path)
    assert response.status_code == 404
    assert b"This link does not work" in response.content
    assert b"alice" not in response.content


def test_a_link_for_an_account_disabled_since_does_not_work(portal_as, adam, alice, client):
    admin = portal_as(adam)
    link = _issue_link(admin, "alice")
    admin.post("/accounts/users/alice/disable")
    client.logout()
    response = client.post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 404
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_no_link_is_issued_for_a_disabled_account_nor_for_oneself(portal_as, adam, alice):
    admin = portal_as(adam)
    admin.post("/accounts/users/alice/disable")
    disabled = admin.post("/accounts/users/alice/password-link")
    assert disabled.status_code == 409
    assert b"alice is disabled: enable the account first" in disabled.content
    own = admin.post("/accounts/users/adam/password-link")
    assert own.status_code == 403
    assert b"You cannot issue a set-password link for your own account" in own.content
    assert not _actions("account.password_link")


def test_trying_many_bad_links_from_one_address_is_cut_off(client, settings, alice):
    settings.LOGIN_RATE_LIMIT_PER_ADDRESS = 3
    for _ in range(3):
        assert client.get("/accounts/set-password/Mg/wrong-token").status_code == 404
    blocked = client.get("/accounts/set-password/Mg/wrong-token")
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) > 0
    assert b"Too many set-password links that do not work" in blocked.content
    # Another address is not affected, and sign-in is not: the counters are the page's own.
    assert client.get("/accounts/set-password/Mg/wrong-token", REMOTE_ADDR="192.0.2.9").status_code == 404
    assert client.post("/login", {"username": "alice", "password": PASSWORD}).status_code == 302


# --- Searching and paging ------------------------------------------------------------------


def _listed(response) -> list[str]:
    return [u.username for u in response.context["users"]]


def test_search_matches_username_name_email_and_department_case_insensitively(portal_as, adam, db):
    make_user("zoe", "employee", department="Finance", first_name="Zoë", last_name="Quinn", email="zq@corp.example")
    make_user("yann", "auditor", department="Internal Audit", email="yann@other.example")
    make_user("xavier", "employee", department="Sales", first_name="Xavier", last_name="Finch")
    client = portal_as(adam)
    assert _listed(client.get("/accounts/users", {"q": "ZOE"})) == ["zoe"]
    assert _listed(client.get("/accounts/users", {"q": "quinn"})) == ["zoe"]
    assert _listed(client.get("/accounts/users", {"q": "CORP.example"})) == ["zoe"]
    assert _listed(client.get("/accounts/users", {"q": "audit"})) == ["yann"]
    assert _listed(client.get("/accounts/users", {"q": "fin"})) == ["xavier", "zoe"]  # last name, department
    assert _listed(client.get("/accounts/users", {"q": "xavier finch"})) == ["xavier"]
    assert _listed(client.get("/accounts/users", {"q": "nobody"})) == []
    assert b"No account matches." in client.get("/accounts/users", {"q": "nobody"}).content


def test_the_role_filter_keeps_holders_of_that_role(portal_as, adam, alice, olivia, aaron):
    make_user("mia", "privacy_officer", "auditor")
    client = portal_as(adam)
    assert _listed(client.get("/accounts/users", {"role": "auditor"})) == ["aaron", "mia"]
    assert _listed(client.get("/accounts/users", {"role": "auditor", "q": "mi"})) == ["mia"]
    assert _listed(client.get("/accounts/users", {"role": "admin"})) == ["adam"]


def test_a_bad_filter_is_a_400_naming_it(portal_as, adam):
    client = portal_as(adam)
    response = client.get("/accounts/users", {"role": "emperor"})
    assert response.status_code == 400
    assert b"Select a valid choice. emperor is not one of the available choices." in response.content
    too_long = client.get("/accounts/users", {"q": "x" * 101})
    assert too_long.status_code == 400
    assert b"Ensure this value has at most 100 characters" in too_long.content


def test_accounts_are_paged_25_at_a_time_with_links_that_keep_the_query(portal_as, adam, db):
    for n in range(30):
        make_user(f"temp{n:02d}", "employee", department="Temps")
    client = portal_as(adam)
    first = client.get("/accounts/users", {"q": "temps", "role": "employee"})
    assert _listed(first) == [f"temp{n:02d}" for n in range(25)]
    assert b'href="?q=temps&amp;role=employee&amp;page=2"' in first.content
    second = client.get("/accounts/users", {"q": "temps", "role": "employee", "page": "2"})
    assert _listed(second) == [f"temp{n:02d}" for n in range(25, 30)]
    assert b'href="?q=temps&amp;role=employee&amp;page=1"' in second.content
    # A page past the end or not a number shows the last or first page, never an error.
    assert _listed(client.get("/accounts/users", {"q": "temps", "page": "99"})) == _listed(second)
    assert _listed(client.get("/accounts/users", {"q": "temps", "page": "x"})) == _listed(first)


def test_saving_roles_returns_to_the_same_search(portal_as, adam, alice):
    response = portal_as(adam).post(
        "/accounts/users?q=ali&role=employee", {"username": "alice", "roles": ["employee", "requester"]}
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/users?q=ali&role=employee"
    alice.forget_roles()
    assert alice.role_set == {"employee", "requester"}


# --- Removing the last role ----------------------------------------------------------------


def test_removing_the_last_role_asks_first_and_then_does_it(portal_as, adam, alice):
    device_enroll(employee=alice, name="Laptop", platform="macos")
    client = portal_as(adam)
    response = client.post("/accounts/users", {"username": "alice"})  # no box ticked
    assert response.status_code == 302
    assert response["Location"] == "/accounts/users/alice/remove-roles"
    alice.forget_roles()
    assert alice.role_set == {"employee"}
    assert not _actions("account.roles")

    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b"alice will hold no role and cannot use any console." in page.content

    done = client.post(response["Location"])
    assert done.status_code == 302 and done["Location"] == "/accounts/users"
    assert _messages(done) == ["alice now holds no role."]
    alice.forget_roles()
    assert alice.role_set == frozenset()
    assert not Device.objects.filter(employee=alice, revoked_at__isnull=True).exists()
    entry = AuditEntry.objects.get(action="account.roles")
    assert entry.actor == "user:adam" and entry.detail == {"old": ["employee"], "new": []}


def test_an_admin_cannot_remove_their_own_roles(portal_as, adam):
    response = portal_as(adam).post("/accounts/users/adam/remove-roles")
    assert response.status_code == 403
    assert b"You cannot change the roles or the status of your own account" in response.content
    adam.forget_roles()
    assert adam.role_set == {"admin"}
    assert not _actions("account.roles")


def test_the_console_shows_role_rules_as_messages(portal_as, adam, olivia):
    client = portal_as(adam)
    response = client.post("/accounts/users", {"username": "olivia", "roles": ["admin", "privacy_officer"]})
    assert response.status_code == 302
    assert [m for m in _messages(response) if m.startswith("The admin role cannot be combined")]
    olivia.forget_roles()
    assert olivia.role_set == {"privacy_officer"}
    assert not _actions("account.roles")


def test_of_two_submissions_of_one_link_only_the_first_sets_a_password(portal_as, adam, alice, client, monkeypatch):
    """The token is checked again under the account's lock, so a submission racing the first one fails."""
    link = _issue_link(portal_as(adam), "alice")
    client.logout()
    assert client.post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}).status_code == 302
    # The second submission passed the page's own check before the first committed.
    monkeypatch.setattr("accounts.views.user_for_password_link", lambda **kwargs: User.objects.get(username="alice"))
    late = client.post(
        link, {"new_password1": "another-long-passphrase-7", "new_password2": "another-long-passphrase-7"}
    )
    assert late.status_code == 404
    assert b"This link does not work" in late.content
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    assert len(_actions("account.password_set")) == 1
