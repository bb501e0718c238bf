"""Sign-in, sign-out, the role-aware home page, the accounts console and the set-password page."""

from __future__ import annotations

import hashlib
import logging
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.consoles import consoles_for
from accounts.decorators import admin_required
from accounts.forms import AccountCreateForm, AccountSearchForm
from accounts.models import Role
from accounts.selectors import disable_effects_for_admin, user_for_admin, user_for_password_link, users_for_admin
from accounts.services import (
    PasswordLink,
    password_link_issue,
    password_set_by_link,
    user_invite,
    user_set_active,
    user_set_roles,
)
from accounts.throttling import (
    CACHE_ERRORS,
    LoginBlocked,
    check_login_allowed,
    client_address,
    record_login_failure,
)
from config.errors import ApplicationError, NotFound
from config.exceptions import status_for

log = logging.getLogger(__name__)

ACCOUNTS_PER_PAGE = 25


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


# --- The accounts console (administrators) ------------------------------------


def _render_users(request):
    """The account list, searched, filtered by role and paged as the query string says."""
    search = AccountSearchForm(request.GET)
    status = 200
    if search.is_valid():
        users = users_for_admin(actor=request.user, search=search.cleaned_data["q"], role=search.cleaned_data["role"])
    else:
        users = users_for_admin(actor=request.user).none()
        status = 400
    page = Paginator(users, ACCOUNTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/admin_users.html",
        {"search": search, "page": page, "users": page.object_list, "roles": Role.choices},
        status=status,
    )


@admin_required
@require_http_methods(["GET", "POST"])
def admin_users(request):
    if request.method == "GET":
        return _render_users(request)
    user = user_for_admin(actor=request.user, username=request.POST.get("username", ""))
    roles = request.POST.getlist("roles")
    if not roles and user.role_set:
        # Taking the last role away locks the person out of every console:
        # the administrator confirms that on a page of its own first.
        return redirect("accounts:admin_user_remove_roles", username=user.username)
    try:
        user_set_roles(actor=request.user, user=user, roles=roles)
        messages.success(request, f"Roles of {user.username} saved.")
    except ApplicationError as exc:
        # The decorator and the selector have already let an administrator
        # through to an existing account, so what the service refuses here
        # (unknown or incompatible roles, their own account) is the form's
        # mistake: it goes back to the list as a message.
        messages.error(request, exc.detail)
    # The list as it was (search, role filter, page): the row's form posts to it.
    return redirect(request.get_full_path())


@admin_required
@require_http_methods(["GET", "POST"])
def admin_user_remove_roles(request, username: str):
    """Confirm, then take every role from an account."""
    user = user_for_admin(actor=request.user, username=username)
    if request.method == "POST":
        user_set_roles(actor=request.user, user=user, roles=[])
        messages.success(request, f"{user.username} now holds no role.")
        return redirect("accounts:admin_users")
    return render(request, "accounts/admin_remove_roles.html", {"account": user})


def _show_link_once(request, link: PasswordLink) -> None:
    # Kept in the session for the one page that shows it after the redirect,
    # never in a URL or a message cookie.
    links = request.session.get("password_links", {})
    links[link.username] = request.build_absolute_uri(
        reverse("accounts:set_password", kwargs={"uidb64": link.uidb64, "token": link.token})
    )
    request.session["password_links"] = links


@admin_required
@require_http_methods(["GET", "POST"])
def admin_user_create(request):
    form = AccountCreateForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                link = user_invite(actor=request.user, **form.cleaned_data)
            except ApplicationError as exc:
                field = "username" if exc.code in {"username_taken", "invalid_username"} else None
                form.add_error("roles" if exc.code in {"incompatible_roles", "unknown_role"} else field, exc.detail)
                return render(request, "accounts/admin_user_create.html", {"form": form}, status=status_for(exc))
            _show_link_once(request, link)
            messages.success(request, f"Account {link.username} created.")
            return redirect("accounts:admin_user_password_link", username=link.username)
        return render(request, "accounts/admin_user_create.html", {"form": form}, status=400)
    return render(request, "accounts/admin_user_create.html", {"form": form})


@never_cache
@admin_required
@require_http_methods(["GET", "POST"])
def admin_user_password_link(request, username: str):
    """Issue a set-password link (POST); show a just-issued one, once (GET)."""
    user = user_for_admin(actor=request.user, username=username)
    if request.method == "POST":
        _show_link_once(request, password_link_issue(actor=request.user, user=user))
        messages.success(request, f"A new set-password link for {user.username} was issued.")
        return redirect("accounts:admin_user_password_link", username=user.username)
    links = request.session.get("password_links", {})
    link = links.pop(user.username, None)
    if link is not None:
        request.session["password_links"] = links
    return render(
        request,
        "accounts/admin_password_link.html",
        {"account": user, "link": link, "valid_days": round(settings.PASSWORD_RESET_TIMEOUT / 86400, 1)},
    )


@admin_required
@require_http_methods(["GET", "POST"])
def admin_user_disable(request, username: str):
    """Confirm (GET, stating what stops) and disable (POST) an account."""
    user = user_for_admin(actor=request.user, username=username)
    effects = disable_effects_for_admin(actor=request.user, user=user)
    if request.method == "POST":
        user_set_active(actor=request.user, user=user, active=False)
        messages.success(
            request,
            f"{user.username} is disabled: signed out, {effects.active_devices} capture device(s) revoked, "
            f"{effects.api_tokens} API token(s) deleted.",
        )
        return redirect("accounts:admin_users")
    return render(request, "accounts/admin_disable.html", {"account": user, "effects": effects})


@admin_required
@require_http_methods(["POST"])
def admin_user_enable(request, username: str):
    user = user_for_admin(actor=request.user, username=username)
    user_set_active(actor=request.user, user=user, active=True)
    messages.success(request, f"{user.username} is enabled and may sign in again.")
    return redirect("accounts:admin_users")


# --- Set-password links (public, token-based) ---------------------------------
# A link's token is an HMAC nobody guesses, yet a client trying many links is
# still cut off, like a sign-in guesser: invalid links count per client
# address under the sign-in limits (LOGIN_RATE_LIMIT_PER_ADDRESS per
# LOGIN_RATE_LIMIT_WINDOW_SECONDS), in counters of their own, so they never
# lock anybody's sign-in.  If the cache is down the page still works.


def _bad_link_key(request) -> str:
    window = int(time.time()) // settings.LOGIN_RATE_LIMIT_WINDOW_SECONDS
    address = hashlib.sha256(client_address(request).encode()).hexdigest()[:32]
    return f"set-password-fail:{address}:{window}"


def _bad_links_exceeded(request) -> bool:
    try:
        count = cache.get(_bad_link_key(request), 0)
    except CACHE_ERRORS:
        log.warning("set-password rate limit not checked, the cache is unavailable", exc_info=True)
        return False
    return count >= settings.LOGIN_RATE_LIMIT_PER_ADDRESS


def _count_bad_link(request) -> None:
    key = _bad_link_key(request)
    try:
        if not cache.add(key, 1, timeout=settings.LOGIN_RATE_LIMIT_WINDOW_SECONDS):
            cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=settings.LOGIN_RATE_LIMIT_WINDOW_SECONDS)
    except CACHE_ERRORS:
        log.warning("invalid set-password link not counted, the cache is unavailable", exc_info=True)


def _invalid_link(request):
    _count_bad_link(request)
    return render(request, "accounts/set_password.html", {"validlink": False}, status=404)


@never_cache
@require_http_methods(["GET", "POST"])
def set_password(request, uidb64: str, token: str):
    """The page a one-time link opens: its holder chooses a password, then signs in with it."""
    if _bad_links_exceeded(request):
        window = settings.LOGIN_RATE_LIMIT_WINDOW_SECONDS
        retry_after = window - int(time.time()) % window
        response = render(
            request, "accounts/set_password.html", {"blocked": True, "minutes": max(1, round(retry_after / 60))}
        )
        response.status_code = 429
        response["Retry-After"] = str(retry_after)
        return response
    user = user_for_password_link(uidb64=uidb64, token=token)
    if user is None:
        return _invalid_link(request)
    form = SetPasswordForm(user, request.POST or None)
    if request.method == "POST":
        if not form.is_valid():
            return render(
                request, "accounts/set_password.html", {"validlink": True, "form": form, "account": user}, status=400
            )
        try:
            password_set_by_link(uidb64=uidb64, token=token, password=form.cleaned_data["new_password1"])
        except NotFound:
            # Used by another submission between the check above and now.
            return _invalid_link(request)
        messages.success(request, "Your password is set. Sign in with it.")
        return redirect("accounts:login")
    return render(request, "accounts/set_password.html", {"validlink": True, "form": form, "account": user})
