"""Demo data-access data for ``manage.py seed_demo``: rita holds one grant and waits on one keystroke request.

It goes through the services, so audit entries and the grant's key are real.
Captured data may not exist yet (the reference client uploads later): the
grant covers the week before seeding, and exports read whatever is there.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from access.models import DataRequest, Grant
from access.services import data_request_review, data_request_submit
from accounts.models import Role, User
from collection.crypto import MasterKeyUnavailable, master_key
from consent.models import AllowedApplication, DataCategory
from consent.selectors import current_notice


def _apps_for(categories: list[str]) -> list[str]:
    allowed = AllowedApplication.objects.order_by("app_id").values_list("app_id", "categories")
    return [app_id for app_id, cats in allowed if set(cats) & set(categories)]


def _key_available(stdout) -> bool:
    # A grant's pseudonym key is wrapped by the master key; without one (DEBUG off) the demo grant is skipped.
    try:
        master_key()
    except MasterKeyUnavailable as exc:
        stdout.write(f"access: {exc} Skipping the demo grant.")
        return False
    return True


def seed_access_demo(*, stdout) -> None:
    rita = User.objects.filter(username="rita").first()
    olivia = User.objects.filter(username="olivia").first()
    notice = current_notice()
    if rita is None or olivia is None or not olivia.has_role(Role.PRIVACY_OFFICER) or notice is None:
        stdout.write("access: needs requester 'rita', officer 'olivia' and a published notice; skipping.")
        return
    purpose = notice.purpose_ids[0]
    until = timezone.now().replace(minute=0, second=0, microsecond=0)
    since = until - timedelta(days=7)

    pointer = [DataCategory.MOUSE, DataCategory.CLICKS]
    has_grant = Grant.objects.filter(
        request__requester=rita, status=Grant.Status.ACTIVE, expires_at__gt=timezone.now()
    ).exists()
    if not has_grant and _apps_for(pointer) and _key_available(stdout):
        request = data_request_submit(
            requester=rita,
            categories=pointer,
            apps=_apps_for(pointer),
            since=since,
            until=until,
            purpose=purpose,
            justification="Pointer trajectories in everyday applications, to train the agent's cursor control.",
        )
        data_request_review(
            officer=olivia, request=request, approve=True, reason="Scope is proportionate to the stated purpose."
        )

    typed = [DataCategory.KEYSTROKES]
    # JSON "contains" is not portable to SQLite: the few pending requests are checked here.
    waiting = DataRequest.objects.filter(
        requester=rita, status=DataRequest.Status.PENDING, decide_by__gt=timezone.now()
    )
    if not any(DataCategory.KEYSTROKES in r.categories for r in waiting) and _apps_for(typed):
        data_request_submit(
            requester=rita,
            categories=typed,
            apps=_apps_for(typed),
            since=since,
            until=until,
            purpose=purpose,
            justification="Typed commands in the editor and terminal, to teach the agent to write shell commands.",
        )
    grants = Grant.objects.filter(request__requester=rita, status=Grant.Status.ACTIVE).count()
    pending = DataRequest.objects.filter(requester=rita, status=DataRequest.Status.PENDING).count()
    stdout.write(f"access: rita holds {grants} active grant(s) and waits on {pending} request(s).")
