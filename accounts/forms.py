"""Forms of the accounts console: they check shape only; the services hold the rules."""

from __future__ import annotations

from django import forms

from accounts.models import Role


class AccountCreateForm(forms.Form):
    """A new account, without a password: its holder sets one with a one-time link."""

    username = forms.RegexField(
        regex=r"^[\w.@+-]+\Z",
        max_length=150,
        error_messages={"invalid": "A username may hold only letters, digits and @ . + - _ (no spaces)."},
    )
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(max_length=254, required=False)
    department = forms.CharField(max_length=100, required=False)
    roles = forms.MultipleChoiceField(
        choices=Role.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one role."},
    )


class AccountSearchForm(forms.Form):
    """The account list's search box and role filter (GET)."""

    q = forms.CharField(max_length=100, required=False, strip=True)
    role = forms.ChoiceField(choices=[("", "Any role"), *Role.choices], required=False)
