"""Who may act in the data-access services."""

from __future__ import annotations

from accounts.guards import require_role
from accounts.models import Role, User


def require_requester(actor: User) -> None:
    require_role(actor, Role.REQUESTER, code="not_a_requester", message="Only requesters ask for datasets.")


def require_officer(actor: User) -> None:
    require_role(
        actor,
        Role.PRIVACY_OFFICER,
        code="not_an_officer",
        message="Only privacy officers decide data requests and manage grants.",
    )
