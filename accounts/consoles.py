"""Which console each role works in, for the home page and the navigation bar.

Apps register their console's URL name here; a role whose console is not
installed simply has no link.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from accounts.models import Role


@dataclass(frozen=True)
class Console:
    role: str
    title: str
    url_name: str
    description: str


CONSOLES = [
    Console(
        Role.EMPLOYEE, "My privacy", "consent:portal", "What is collected about you, your choices, devices and data."
    ),
    Console(
        Role.PRIVACY_OFFICER,
        "Privacy office",
        "consent:officer_home",
        "Notices, allowlist, retention, requests and consent rates.",
    ),
    Console(Role.REQUESTER, "Data requests", "requests:home", "Ask for datasets and download approved grants."),
    Console(Role.AUDITOR, "Audit log", "audit:console", "Browse, export and verify the audit log."),
    Console(Role.ADMIN, "Accounts", "accounts:admin_users", "Manage accounts and the roles they hold."),
]


def consoles_for(user) -> list[dict[str, str]]:
    if not getattr(user, "is_authenticated", False):
        return []
    out = []
    for console in CONSOLES:
        if not user.has_role(console.role):
            continue
        try:
            url = reverse(console.url_name)
        except NoReverseMatch:
            continue
        out.append({"role": console.role, "title": console.title, "url": url, "description": console.description})
    return out
