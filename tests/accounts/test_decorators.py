"""The portal's role decorators: sign in first, then hold the role."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import RequestFactory

from accounts.decorators import admin_required, auditor_required, employee_required, officer_required, role_required
from accounts.models import Role

pytestmark = pytest.mark.django_db


def _page(request):
    return HttpResponse("the page")


def _get(user):
    request = RequestFactory().get("/somewhere")
    request.user = user
    return request


@pytest.mark.parametrize(
    ("decorator", "persona"),
    [
        (employee_required, "alice"),
        (officer_required, "olivia"),
        (auditor_required, "aaron"),
        (admin_required, "adam"),
    ],
)
def test_each_console_decorator_lets_its_role_in_and_keeps_others_out(decorator, persona, request, rita):
    view = decorator(_page)
    assert view(_get(request.getfixturevalue(persona))).content == b"the page"
    with pytest.raises(PermissionDenied):
        view(_get(rita))


def test_role_required_accepts_any_of_several_roles(alice, aaron, adam):
    view = role_required(Role.EMPLOYEE, Role.AUDITOR)(_page)
    assert view(_get(alice)).status_code == 200
    assert view(_get(aaron)).status_code == 200
    with pytest.raises(PermissionDenied):
        view(_get(adam))


def test_anonymous_visitors_are_sent_to_sign_in():
    response = employee_required(_page)(_get(AnonymousUser()))
    assert response.status_code == 302
    assert response["Location"] == "/login?next=/somewhere"
