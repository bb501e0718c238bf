"""Row locks on the consent aggregates: one helper per aggregate, and one order for all of them.

Two transactions that take the same locks in opposite orders deadlock: each
holds one row and waits for the other's.  So every consent service locks
through these helpers, and always in this order, skipping what it does not
need:

1. the current notice (every published notice; normally there is exactly
   one): ``notice_lock_current`` / ``notices_lock_published``;
2. the notice being edited or published, a draft: ``notice_lock``;
3. consent states: one subject's (``consent_state_lock``), or all of them in
   primary-key order (``consent_states_lock_all``);
4. allowlist entries and retention rules: ``allowed_application_lock``,
   ``retention_rules_lock``;
5. the audit log's head row, always last: ``audit.services.audit_record``
   takes it and holds it until the transaction ends, so call
   ``audit_record`` only after taking every other lock.

A service that will need an earlier lock later takes it up front instead:
``consent_set_choices`` locks the current notice before the employee's state,
because the grant it may make needs the notice.

Outside this app, the collection upload holds one consent state while it
stores a batch (``consent_epoch_lock``); it takes no notice lock and writes
no audit entry, so it fits this order.
"""

from __future__ import annotations

from django.db.models import QuerySet

from consent.models import AllowedApplication, ConsentNotice, ConsentState, RetentionRule, Subject


def notices_lock_published() -> list[ConsentNotice]:
    """Lock every published notice, in primary-key order, and return them oldest version first."""
    published_now = ConsentNotice.objects.filter(status=ConsentNotice.Status.PUBLISHED)
    while True:
        published = list(published_now.select_for_update().order_by("pk"))
        # After waiting for a publication to commit, the rows locked are those
        # of the statement's snapshot, from before it: the notice it published
        # is missing. A new statement sees it; lock again to include it.
        if published_now.count() <= len(published):
            return sorted(published, key=lambda n: n.version or 0)


def notice_lock_current() -> ConsentNotice | None:
    """Lock the current notice and return it, or None before the first is published.

    Holding it orders a consent change against a concurrent publication: the
    change either lands before the new version supersedes, or sees the new
    version.
    """
    published = notices_lock_published()
    return published[-1] if published else None


def notice_lock(notice: ConsentNotice) -> ConsentNotice:
    """Lock one notice (a draft being edited or published) and return it fresh from the database."""
    return ConsentNotice.objects.select_for_update().get(pk=notice.pk)


def consent_state_lock(subject: Subject) -> ConsentState:
    """Lock the subject's consent state, created empty on first need, and return it."""
    ConsentState.objects.get_or_create(subject=subject)
    return ConsentState.objects.select_for_update().get(subject=subject)


def consent_epoch_lock(subject_id: int) -> tuple[int, dict] | None:
    """Lock the subject's consent state if it exists; (epoch, granted), or None if it was never set.

    The upload's hot path: one query, nothing created.
    """
    return (
        ConsentState.objects.select_for_update().filter(subject_id=subject_id).values_list("epoch", "granted").first()
    )


def consent_states_lock_all() -> QuerySet[ConsentState]:
    """Every consent state, locked in primary-key order as it is read.

    ``of=("self",)``: only the states are locked, not the subjects joined in
    for their pseudonyms; a subject row under FOR UPDATE would block every
    insert that references it (events, batches, erasure requests).
    """
    return ConsentState.objects.select_for_update(of=("self",)).select_related("subject").order_by("pk")


def allowed_application_lock(app: AllowedApplication) -> AllowedApplication:
    """Lock one allowlist entry and return it fresh from the database."""
    return AllowedApplication.objects.select_for_update().get(pk=app.pk)


def retention_rules_lock() -> dict[str, RetentionRule]:
    """Lock every retention rule, in primary-key order; returned by category."""
    return {r.category: r for r in RetentionRule.objects.select_for_update().order_by("pk")}
