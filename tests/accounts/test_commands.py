"""Operator commands: add_user and seed_demo."""

import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_add_user_creates_an_account_with_several_roles(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-enough-passphrase\n"))
    out = io.StringIO()
    call_command(
        "add_user",
        "pat",
        "--role",
        "privacy_officer",
        "--role",
        "auditor",
        "--email",
        "pat@example.com",
        "--password-stdin",
        stdout=out,
    )
    user = User.objects.get(username="pat")
    assert user.role_set == {"privacy_officer", "auditor"}
    assert user.email == "pat@example.com"
    assert user.check_password("a-long-enough-passphrase")
    assert "Created pat" in out.getvalue()


def test_add_user_without_a_password_leaves_it_unusable():
    call_command("add_user", "sam", "--role", "employee", stdout=io.StringIO())
    assert not User.objects.get(username="sam").has_usable_password()


def test_add_user_refuses_unknown_roles():
    with pytest.raises(CommandError, match="Unknown role"):
        call_command("add_user", "x", "--role", "overlord", stdout=io.StringIO())
    assert not User.objects.filter(username="x").exists()


def test_add_user_refuses_weak_passwords(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("123\n"))
    with pytest.raises(CommandError):
        call_command("add_user", "x", "--role", "employee", "--password-stdin", stdout=io.StringIO())


def test_add_user_refuses_an_empty_password_on_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(CommandError, match="no password"):
        call_command("add_user", "x", "--role", "employee", "--password-stdin", stdout=io.StringIO())


def test_seed_demo_refuses_to_run_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_demo", stdout=io.StringIO())
    assert not User.objects.exists()


def test_seed_demo_creates_the_demo_organisation_once(settings):
    settings.DEBUG = True
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    roles = {
        u.username: u.role_set for u in User.objects.filter(username__in=["alice", "olivia", "oscar", "rita", "aaron"])
    }
    assert roles == {
        "alice": {"employee"},
        "olivia": {"privacy_officer"},
        "oscar": {"privacy_officer"},
        "rita": {"requester"},
        "aaron": {"auditor"},
    }
    employees = User.objects.filter(roles__role="employee")
    assert employees.count() >= 30
    assert employees.exclude(department="").count() == employees.count()
    assert "alice" in out.getvalue() and "password" in out.getvalue()
    count = User.objects.count()
    call_command("seed_demo", stdout=io.StringIO())
    assert User.objects.count() == count


def test_add_user_refuses_admin_combined_with_auditor():
    with pytest.raises(CommandError, match="The admin role cannot be combined with auditor"):
        call_command("add_user", "x", "--role", "admin", "--role", "auditor", stdout=io.StringIO())
    assert not User.objects.filter(username="x").exists()
