"""Sign-in, sign-out, the role-aware home page and the accounts console."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.consoles import consoles_for
from accounts.decorators import admin_required
from accounts.models import Role
from accounts.selectors import user_for_admin, users_for_admin
from accounts.services import user_set_roles
from accounts.throttling import LoginBlocked, check_login_allowed, client_address, record_login_failure
from config.errors import ApplicationError


class RateLimitedAuthenticationForm(AuthenticationForm):
    """Django's sign-in form, under the same limits as the API (``accounts.throttling``).

    The one form anyone signs in with: the Django admin sends people here too.
    """

    blocked = False

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        address = client_address(self.request)
        try:
            check_login_allowed(username, address)
        except LoginBlocked as exc:
            self.blocked = True
            minutes = max(1, round(exc.retry_after / 60))
            raise ValidationError(
                f"Too many failed sign-in attempts. Try again in about {minutes} minute(s).", code="rate_limited"
            ) from None
        try:
            return super().clean()
        except ValidationError as exc:
            if exc.code == "invalid_login":
                record_login_failure(username, address)
            raise


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = RateLimitedAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 429 if form.blocked else 400
        return response


def logout_view(request):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    logout(request)
    messages.info(request, "You are signed out.")
    return redirect("accounts:login")


@login_required
def home(request):
    """Send a user with one console straight there; show a choice to users with several."""
    consoles = consoles_for(request.user)
    if len(consoles) == 1:
        return redirect(consoles[0]["url"])
    return render(request, "accounts/home.html", {"consoles": consoles})


@admin_required
@require_http_methods(["GET", "POST"])
def admin_users(request):
    if request.method == "POST":
        user = user_for_admin(actor=request.user, username=request.POST.get("username", ""))
        try:
            user_set_roles(actor=request.user, user=user, roles=request.POST.getlist("roles"))
            messages.success(request, f"Roles of {user.username} saved.")
        except ApplicationError as exc:
            # The decorator and the selector have already let an administrator
            # through to an existing account, so what the service refuses here
            # (unknown or incompatible roles, their own account) is the form's
            # mistake: it goes back to the page.
            messages.error(request, exc.detail)
        return redirect("accounts:admin_users")
    users = users_for_admin(actor=request.user)
    return render(request, "accounts/admin_users.html", {"users": users, "roles": Role.choices})
