"""Withdrawals propagate: the holder of a grant learns who left its datasets, and acknowledges it.

For each export of a grant, the subjects it held who have since withdrawn
(their current consent no longer covers every category and application of
theirs the export held, for its purpose) or asked for erasure (of everything,
or of a category the export held) are listed by
their pseudonym *in that grant's terms*, so the holder can delete them from
downstream copies.  Acknowledging the list is an audit entry.  Once the
grant has ended its key is gone and nothing can be listed: the holder must
delete the grant's datasets altogether.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from access.membership import members_now, readable_storage
from access.models import Export, ExportSubject, Grant, PropagationAck
from access.pseudonyms import GrantPseudonyms
from access.services.grants import grant_usable
from accounts.models import User
from audit.actions import AuditAction
from audit.services import audit_record
from audit.targets import grant_target
from audit.timestamps import rfc3339
from config.errors import NotFound
from consent.models import ConsentState
from erasure.models import ErasureRequest


@dataclass(frozen=True)
class Departure:
    subject: str  # the pseudonym in the grant's datasets
    since: datetime  # when the change that removed them happened
    reason: str  # "withdrawn" or "erasure_requested"


@dataclass
class ExportDepartures:
    export: Export
    departures: list[Departure] = field(default_factory=list)


@dataclass
class Withdrawals:
    grant: Grant
    exports: list[ExportDepartures]
    acknowledged_until: datetime | None

    @property
    def unacknowledged(self) -> int:
        return len(
            {
                d.subject
                for e in self.exports
                for d in e.departures
                if self.acknowledged_until is None or d.since > self.acknowledged_until
            }
        )


def _held_grant(actor: User, grant: Grant) -> Grant:
    grant = Grant.objects.select_related("request__notice").get(pk=grant.pk)
    if grant.request.requester_id != actor.pk:
        raise NotFound("not_found", "No such grant.")
    grant_usable(grant=grant, now=timezone.now())
    return grant


def _first_erasure_of(
    requests: list[tuple[datetime, list[str]]], *, held: set[tuple], after: datetime
) -> datetime | None:
    """When the first erasure request made since ``after`` that covers data the export held was made, if any.

    A request with no categories erases everything; one naming categories
    erases only those, so it concerns the export only if the export held one.
    """
    held_categories = {pair[0] for pair in held}
    for requested_at, categories in requests:
        if requested_at >= after and (not categories or held_categories & set(categories)):
            return requested_at
    return None


def withdrawals_for_holder(*, actor: User, grant: Grant) -> Withdrawals:
    """Who left each of the grant's exports since it was made, in the grant's pseudonyms."""
    grant = _held_grant(actor, grant)
    with readable_storage():
        pseudonyms = GrantPseudonyms(grant_id=grant.id, wrapped_key=grant.wrapped_key)
    covered = {m.subject_id: m.pairs for m in members_now(grant.request)}
    exports = list(grant.exports.order_by("created_at"))
    rows = ExportSubject.objects.filter(export__in=exports).select_related("subject")
    # Every request, not only each subject's first: one made before an export (of other categories,
    # say) must not hide a later one that erases what the export held.
    erasures: dict[int, list[tuple[datetime, list[str]]]] = {}
    for subject_id, requested_at, categories in (
        ErasureRequest.objects.filter(subject_id__in=rows.values("subject_id"))
        .order_by("requested_at")
        .values_list("subject_id", "requested_at", "categories")
    ):
        erasures.setdefault(subject_id, []).append((requested_at, categories))
    changed = dict(
        ConsentState.objects.filter(subject_id__in=rows.values("subject_id")).values_list(
            "subject_id", "last_event__created_at"
        )
    )
    by_export = {e.pk: ExportDepartures(export=e) for e in exports}
    for row in rows:
        export = by_export[row.export_id].export
        held = {tuple(pair) for pair in row.pairs}
        erased_at = _first_erasure_of(erasures.get(row.subject_id, []), held=held, after=export.created_at)
        if erased_at is not None and erased_at >= export.created_at:
            since, reason = erased_at, "erasure_requested"
        elif not held <= covered.get(row.subject_id, frozenset()):
            since, reason = max(changed.get(row.subject_id) or export.created_at, export.created_at), "withdrawn"
        else:
            continue
        by_export[row.export_id].departures.append(
            Departure(subject=pseudonyms.subject(row.subject.pseudonym), since=since, reason=reason)
        )
    for entry in by_export.values():
        entry.departures.sort(key=lambda d: d.subject)
    last = grant.acks.order_by("-covers_until").first()
    return Withdrawals(
        grant=grant, exports=list(by_export.values()), acknowledged_until=last.covers_until if last else None
    )


def withdrawals_acknowledge(*, actor: User, grant: Grant) -> PropagationAck:
    """The holder confirms that everyone listed now has been deleted from downstream copies."""
    now = timezone.now()
    with transaction.atomic():
        Grant.objects.select_for_update().get(pk=grant.pk)
        listed = withdrawals_for_holder(actor=actor, grant=grant)
        subjects = {d.subject for e in listed.exports for d in e.departures}
        ack = PropagationAck.objects.create(
            grant=grant, acknowledged_at=now, covers_until=now, pseudonyms=len(subjects)
        )
        audit_record(
            actor=actor,
            action=AuditAction.WITHDRAWALS_ACKNOWLEDGED,
            target=grant_target(grant.id),
            detail={"ack": ack.pk, "pseudonyms": len(subjects), "covers_until": rfc3339(now)},
        )
    return ack
