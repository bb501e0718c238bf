"""The account factory makes accounts the way the product does."""

import pytest

from accounts.factories import UserFactory
from accounts.models import User
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_it_creates_an_account_through_the_service_with_its_audit_entry():
    user = UserFactory(username="zed", roles=["admin", "employee"], department="IT")
    stored = User.objects.get(username="zed")
    assert stored.role_set == {"admin", "employee"}
    assert stored.is_staff is True
    assert stored.email == "zed@example.com"
    assert stored.check_password("factory-made-password")
    assert user.pk == stored.pk
    entry = AuditEntry.objects.get(action="account.create", target="user:zed")
    assert entry.actor == "system:factory"
    assert entry.detail == {"roles": ["admin", "employee"], "department": "IT"}


def test_traits_name_the_personas_roles():
    officer = UserFactory(officer=True)
    assert officer.role_set == {"privacy_officer"}
    assert officer.department == "Privacy Office"
    assert UserFactory().role_set == {"employee"}
    assert UserFactory(auditor=True).role_set == {"auditor"}


def test_without_a_password_the_account_cannot_sign_in():
    assert not UserFactory(password=None).has_usable_password()


def test_build_makes_an_unsaved_account():
    user = UserFactory.build(username="ghost")
    assert user.pk is None
    assert user.role_set == frozenset()
    assert not User.objects.filter(username="ghost").exists()
