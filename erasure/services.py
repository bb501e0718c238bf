"""Erasure use cases: a request is made, carried out and completed here; retention deadlines are enforced here.

A request comes from the employee (``erasure_request_create``) or from a
withdrawal with erasure (``consent_withdraw_with_erasure``, one transaction
with the withdrawal).  A worker starts on it as soon as it commits; the due
time is the deadline, not the start, and the periodic sweep
(``erasure_requests_process``) catches any request that message missed.

The database says what is pending: a request is claimed with
``select_for_update(skip_locked=True)`` and marked done in the same
transaction as the deletion, so a task delivered twice, or two workers at
once, erase once.  The deletion itself is ``collection.services.storage``'s
(``subject_key_destroy``, ``subject_ciphertext_delete``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.actions import AuditAction
from audit.services import audit_record, checkpoint_after_commit
from audit.targets import subject_target
from audit.timestamps import rfc3339
from collection.models import EventChunk
from collection.services import erasure_cutoff_for, erasure_cutoff_record, subject_ciphertext_delete
from config.errors import InvalidInput
from consent.locks import consent_state_lock
from consent.models import ConsentEvent, RetentionRule, Subject, category_short_label
from consent.selectors import consent_state_for_subject
from consent.services import consent_withdraw, subject_for_employee
from consent.services.guards import clean_categories, require_employee
from erasure.models import ErasureRequest
from erasure.receipts import deletion_receipts_issue_missing

ACTOR = "system:erasure"
RETENTION_ACTOR = "system:retention"
WATCHDOG_ACTOR = "system:erasure-watchdog"

# Error-level lines an operator's alerting picks up; they name the request id only, never the person.
watchdog_log = logging.getLogger("erasure.watchdog")


# --- Making a request -----------------------------------------------------------------


def _erasure_request_open(
    *,
    subject: Subject,
    categories: list[str],
    reason: str,
    channel: str,
    event: ConsentEvent | None = None,
    request_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> ErasureRequest:
    """Record a request with its deadline and its audit entry; a worker starts on it once it commits."""
    now = now or timezone.now()
    request = ErasureRequest.objects.create(
        id=request_id or uuid.uuid4(),
        subject=subject,
        categories=sorted(categories),
        reason=reason,
        event=event,
        requested_at=now,
        due_at=now + timedelta(days=settings.ERASURE_DUE_DAYS),
    )
    audit_record(
        # The employee asks under their pseudonym, directly or by withdrawing with erasure.
        actor=subject_target(subject.pseudonym),
        action=AuditAction.ERASURE_REQUESTED,
        target=subject_target(subject.pseudonym),
        detail={
            "erasure_request_id": str(request.id),
            "categories": request.categories,
            "reason": request.reason,
            "due_at": request.due_at.isoformat(),
            "channel": channel,
            # The withdrawal that asked for it, if one did.
            "event_id": str(event.id) if event is not None else None,
        },
    )
    # Imported here: the tasks module imports this one.
    from erasure.tasks import erase_subject_task

    # robust: a broker outage must not turn a committed request into an error;
    # the periodic sweep carries it out instead.
    transaction.on_commit(lambda: erase_subject_task.delay(str(request.pk)), robust=True)
    return request


def erasure_request_ask(
    *, employee: User, categories: Iterable[str] | None = None, channel: str = ConsentEvent.Channel.PORTAL
) -> tuple[ErasureRequest, bool]:
    """The employee asks for what was captured of them so far (all of it, or some categories) to be erased.

    Returns ``(request, created)``.  Asking again while a pending request
    already covers what is asked (one for everything, or one naming every
    category asked for) answers with that request and writes nothing: a double
    click or a retried call is not a second request.  Naming a category the
    employee never agreed to and holds no data in is refused
    (``400 never_collected``, naming it): there is nothing to erase.

    Consent may stay: capture goes on, and what is recorded after the request
    is kept.  So the request is cut at the moment it commits, under the
    employee's consent state, which every upload holds while it stores: a
    batch stored before is the request's (erased by the job), and a batch
    stored after drops the events captured before the cutoff
    (``erased_by_request``).  Erasing every category also shreds the data key
    here and now: what was stored is unreadable at once, and the next upload
    stores under a fresh key, which the job leaves alone.
    """
    require_employee(employee)
    wanted = clean_categories(categories) if categories is not None else []
    with transaction.atomic():
        subject = subject_for_employee(employee)
        # Lock order (consent.locks): the consent state, then the data key, the audit head last.
        # It also serialises two requests of one employee, so the second sees the first.
        consent_state_lock(subject)
        if wanted:
            never = _never_collected(subject, wanted)
            if never:
                raise InvalidInput(
                    "never_collected",
                    "You never agreed to capture of, and hold no data in: "
                    f"{', '.join(category_short_label(c) for c in never)}. There is nothing of it to erase.",
                )
        pending = _pending_covering(subject, wanted)
        if pending is not None:
            return pending, False
        now = timezone.now()
        request_id = uuid.uuid4()
        # The request's own entry first, then the cutoff (and, for everything, the key shredded).
        request = _erasure_request_open(
            subject=subject,
            categories=wanted,
            reason=ErasureRequest.Reason.EMPLOYEE_REQUEST,
            channel=channel,
            request_id=request_id,
            now=now,
        )
        erasure_cutoff_record(
            subject=subject,
            erasure_request_id=request_id,
            categories=wanted,
            before=now,
            keep_recording=True,
            actor=ACTOR,
            reason=ErasureRequest.Reason.EMPLOYEE_REQUEST,
        )
        return request, True


def erasure_request_create(
    *, employee: User, categories: Iterable[str] | None = None, channel: str = ConsentEvent.Channel.PORTAL
) -> ErasureRequest:
    """The employee asks for erasure; the pending request that already covers it when there is one."""
    return erasure_request_ask(employee=employee, categories=categories, channel=channel)[0]


def _never_collected(subject: Subject, categories: list[str]) -> list[str]:
    """Those of ``categories`` the subject never consented to and has no stored data in."""
    consented: set[str] = set()
    # Granting events name their categories in a JSON list; a subject has a handful, read in Python
    # because SQLite cannot query inside JSON lists.
    for granted in ConsentEvent.objects.filter(subject=subject, kind=ConsentEvent.Kind.GRANTED).values_list(
        "categories", flat=True
    ):
        consented.update(granted)
    stored = set(
        EventChunk.objects.filter(subject=subject, category__in=categories)
        .values_list("category", flat=True)
        .distinct()
    )
    return [c for c in categories if c not in consented and c not in stored]


def _pending_covering(subject: Subject, categories: list[str]) -> ErasureRequest | None:
    """A pending request of the subject that erases at least ``categories`` (everything when empty)."""
    for pending in ErasureRequest.objects.filter(subject=subject, status=ErasureRequest.Status.PENDING).order_by(
        "requested_at"
    ):
        if not pending.categories or (categories and set(categories) <= set(pending.categories)):
            return pending
    return None


def consent_withdraw_with_erasure(
    *, employee: User, categories: Iterable[str] | None = None, channel: str = ConsentEvent.Channel.PORTAL
) -> tuple[ConsentEvent, ErasureRequest]:
    """Withdraw ``categories`` (all held ones when None) and ask for their data to be erased, atomically.

    The withdrawal is recorded by ``consent_withdraw`` (its event and receipt
    say erasure was requested); the request is linked to that event.  Neither
    is recorded without the other.
    """
    with transaction.atomic():
        event = consent_withdraw(employee=employee, categories=categories, erasure_requested=True, channel=channel)
        # The employee's consent state is still locked by the withdrawal.
        nothing_left = not consent_state_for_subject(subject=event.subject).granted
        request = _erasure_request_open(
            subject=event.subject,
            # Withdrawing everything erases everything, including categories withdrawn earlier.
            categories=[] if nothing_left else event.categories,
            reason=ErasureRequest.Reason.WITHDRAWAL,
            channel=channel,
            event=event,
        )
    return event, request


# --- Carrying a request out -----------------------------------------------------------


def _claim(request_id: uuid.UUID | str, *, skip_locked: bool) -> ErasureRequest | None:
    return (
        ErasureRequest.objects.select_for_update(skip_locked=skip_locked)
        .select_related("subject")
        .filter(pk=request_id, status=ErasureRequest.Status.PENDING)
        .first()
    )


def erasure_request_carry_out(*, request_id: uuid.UUID | str) -> bool:
    """Erase what one pending request names. Returns False when it is done already or being done elsewhere.

    Step one, if the request did not do it when it was made: record its
    cutoff and, for every category, destroy the data key; that commits
    first, so the data is unreadable at once.  Step two: delete the
    ciphertext the cutoff covers and mark the request done, together.  Some
    categories: their chunks are deleted (the key stays for the rest).

    Safe to run again after a crash between the steps (the cutoff records the
    key destroyed, so the receipt still names it and no second key entry is
    written) and concurrently (the request row is claimed with
    ``skip_locked``; completion re-checks it is pending under its lock).
    """
    with transaction.atomic():
        request = _claim(request_id, skip_locked=True)
        if request is None:
            return False
        cutoff = erasure_cutoff_for(request.pk)
        if cutoff is None:
            cutoff = erasure_cutoff_record(
                subject=request.subject,
                erasure_request_id=request.pk,
                categories=request.categories,
                before=request.requested_at,
                keep_recording=False,
                actor=ACTOR,
                reason=request.reason,
            )
    with transaction.atomic():
        request = _claim(request_id, skip_locked=False)
        if request is None:  # another worker finished it in between
            return False
        outcome = subject_ciphertext_delete(
            subject=request.subject,
            actor=ACTOR,
            reason=request.reason,
            categories=request.categories or None,
            cutoff=cutoff,
        )
        outcome["ciphertext_deleted_at"] = rfc3339(timezone.now())
        shredded: dict[str, Any] = {}
        if not request.categories:
            # Named (by a digest of its wrapped form) when it went, for the deletion receipt.
            shredded = {
                "keys_destroyed": 1 if cutoff.data_key else 0,
                "data_key": cutoff.data_key or None,
                "key_destroyed_at": rfc3339(cutoff.key_destroyed_at) if cutoff.key_destroyed_at else None,
            }
        erasure_request_complete(request=request, actor=ACTOR, outcome={**shredded, **outcome})
    return True


def erasure_requests_process(*, limit: int = 100) -> int:
    """Carry out pending requests, earliest deadline first. Returns how many were done."""
    pending = ErasureRequest.objects.filter(status=ErasureRequest.Status.PENDING).order_by("due_at")
    ids = list(pending.values_list("pk", flat=True)[:limit])
    done = sum(erasure_request_carry_out(request_id=request_id) for request_id in ids)
    # Receipts whose step after commit was lost (a broker outage, a crash) are issued here.
    deletion_receipts_issue_missing(limit=limit)
    return done


def erasure_request_complete(*, request: ErasureRequest, actor: Any, outcome: dict[str, Any]) -> ErasureRequest:
    """Mark a request done once its data is unreadable and deleted; called by whoever erased it.

    Once that commits, the employee's deletion receipt is issued (``erasure.receipts``).
    """
    from erasure.tasks import issue_deletion_receipt_task  # the tasks module imports this one

    with transaction.atomic():
        request.status = ErasureRequest.Status.DONE
        request.completed_at = timezone.now()
        request.save(update_fields=["status", "completed_at"])
        audit_record(
            actor=actor,
            action=AuditAction.ERASURE_COMPLETED,
            target=subject_target(request.subject.pseudonym),
            detail={
                "erasure_request_id": str(request.id),
                "categories": request.categories,
                "reason": request.reason,
                "due_at": request.due_at.isoformat(),
                "overdue": request.completed_at > request.due_at,
                **outcome,
            },
        )
        checkpoint_after_commit()  # the proof of erasure is under a checkpoint seconds after it commits
    # The receipt cites this entry's seq, which exists once the completion commits.
    transaction.on_commit(lambda: issue_deletion_receipt_task.delay(str(request.pk)), robust=True)
    return request


# --- Retention ----------------------------------------------------------------------------


def retention_enforce(*, now: datetime | None = None, batch_size: int | None = None) -> dict[str, int]:
    """Delete captured events older than their category's maximum age. Returns events deleted per category.

    A chunk goes as soon as its *oldest* event (``first_ts``) is past the
    limit, so nothing is kept past it; the newest events in a chunk that
    straddles the cutoff are deleted early, by at most the span of the upload
    batch they came in (the officer console's retention section says so).
    The data key is not involved: the subject's other data stays readable.

    Deletes in batches of ``RETENTION_BATCH_CHUNKS`` chunks, one transaction
    and one ``collection.retention.purged`` audit entry each, so no
    transaction holds millions of rows and a crash loses at most one batch's
    work (the next run resumes: what is due is read from the database).
    Each batch holds its rule's row lock, so two runs at once never count a
    chunk twice.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.RETENTION_BATCH_CHUNKS
    deleted: dict[str, int] = {}
    for rule in RetentionRule.objects.order_by("category"):
        cutoff = now - timedelta(days=rule.max_age_days)
        expired = EventChunk.objects.filter(category=rule.category, first_ts__lt=cutoff)
        while True:
            with transaction.atomic():
                # One run at a time per category: the rule's row lock (before the audit log, the
                # consent.locks order) makes a second run wait and then see these chunks gone,
                # so none is counted twice; cheaper than locking thousands of chunk rows.
                list(RetentionRule.objects.select_for_update().filter(pk=rule.pk).values_list("pk", flat=True))
                rows = list(expired.order_by("pk").values_list("pk", "count", "subject_id")[:batch_size])
                if not rows:
                    break
                # The batch is every expired chunk up to the last key read (ordered by key): a range,
                # not a list of thousands of ids for the database to parse.
                chunks = expired.filter(pk__lte=rows[-1][0]).delete()[0]
                events = sum(count for _, count, _ in rows)
                audit_record(
                    actor=RETENTION_ACTOR,
                    action=AuditAction.RETENTION_PURGED,
                    target=f"retention:{rule.category}",
                    detail={
                        "category": rule.category,
                        "max_age_days": rule.max_age_days,
                        "cutoff": cutoff.isoformat(),
                        # Which events the cutoff applies to: a chunk goes once its oldest is past it.
                        "by": "first_ts",
                        "chunks": chunks,
                        "events": events,
                        "subjects": len({subject for _, _, subject in rows}),
                    },
                )
            deleted[rule.category] = deleted.get(rule.category, 0) + events
            if len(rows) < batch_size:
                break
    return deleted


# --- The watchdog ---------------------------------------------------------------------------

DUE_SOON = "due_within_hour"
OVERDUE = "overdue"


def erasure_overdue_flag(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Flag pending requests that are overdue, or due within ``ERASURE_DUE_SOON_MINUTES``. Returns counts per state.

    Each request is flagged once per state ("due within the hour", then
    "overdue"): an ``erasure.overdue`` audit entry and an error-level log line
    naming the request id (never the person or their pseudonym), and the time
    on the request row (``due_soon_flagged_at``, ``overdue_flagged_at``), so
    the every-minute beat never repeats itself.  A request first seen already
    overdue is flagged overdue only.  Rows are claimed with ``skip_locked``:
    two runs at once flag each request once.
    """
    now = now or timezone.now()
    soon = now + timedelta(minutes=settings.ERASURE_DUE_SOON_MINUTES)
    pending = ErasureRequest.objects.filter(status=ErasureRequest.Status.PENDING, overdue_flagged_at__isnull=True)
    flagged = {DUE_SOON: 0, OVERDUE: 0}
    logged: list[tuple[str, ErasureRequest]] = []
    with transaction.atomic():
        due = (
            # The windows of the officer console and /metrics: overdue once past due_at, due soon before.
            pending.filter(due_at__lt=soon)
            .exclude(due_at__gte=now, due_soon_flagged_at__isnull=False)
            # Only the request rows: a subject row locked elsewhere must not hide its request.
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("subject")
            .order_by("due_at")[:limit]
        )
        for request in due:
            state = OVERDUE if request.due_at < now else DUE_SOON
            if state == OVERDUE:
                request.overdue_flagged_at = now
            else:
                request.due_soon_flagged_at = now
            request.save(update_fields=["overdue_flagged_at", "due_soon_flagged_at"])
            audit_record(
                actor=WATCHDOG_ACTOR,
                action=AuditAction.ERASURE_OVERDUE,
                target=subject_target(request.subject.pseudonym),
                detail={
                    "erasure_request_id": str(request.id),
                    "state": state,
                    "due_at": request.due_at.isoformat(),
                    "requested_at": request.requested_at.isoformat(),
                    "reason": request.reason,
                },
            )
            flagged[state] += 1
            logged.append((state, request))
    # Logged once the flags are committed, so a rolled-back run does not cry wolf.
    for state, request in logged:
        watchdog_log.error(
            "erasure request %s is %s (due %s, requested %s)",
            request.id,
            "overdue" if state == OVERDUE else "due within the hour",
            request.due_at.isoformat(),
            request.requested_at.isoformat(),
        )
    return flagged
