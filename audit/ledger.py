"""The audit log in words: one sentence per entry, for the auditor's console.

``describe(entry)`` is the one place that turns an entry into a line a person reads
("alice's device enrolled", "export of grant 7 by rita: 12 subjects, 40,112 events").
It is keyed on the action; an action without a sentence of its own is shown by its
label and target, so a new action is never missing from the ledger, only plainer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from audit.actions import AuditAction

# The employee's pages already name the service's own jobs ("system:erasure" is the
# "Automatic erasure job"); the auditor reads the same words.
from audit.actors import actor_in_words as who
from audit.models import AuditEntry

__all__ = ["describe", "who"]


def _n(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else "?"


def _thing(target: str) -> str:
    """A target in words: "subject:sub_x" -> "sub_x", "grant:7" -> "grant 7", "user:alice" -> "alice"."""
    kind, _, name = target.partition(":")
    if not name:
        return target
    if kind in ("user", "subject"):
        return name
    return f"{kind.replace('_', ' ')} {name}"


def _device_enroll(actor: str, target: str, detail: Mapping) -> str:
    # Employees enroll their own devices: the actor is whose device it is (the target is
    # their pseudonym, which says nothing to a reader).
    platform = f" ({detail['platform']})" if detail.get("platform") else ""
    return f"{_thing(actor) if actor.startswith('subject:') else who(actor)}'s device enrolled{platform}"


def _device_revoke(actor: str, target: str, detail: Mapping) -> str:
    return f"device of {_thing(target)} revoked by {who(actor)}"


def _exported(actor: str, target: str, detail: Mapping) -> str:
    by = detail.get("requester") or who(actor)
    return (
        f"export of {_thing(target)} by {by}: {_n(detail.get('subjects'))} subjects, {_n(detail.get('events'))} events"
    )


def _published(actor: str, target: str, detail: Mapping) -> str:
    new = detail.get("new") if isinstance(detail.get("new"), Mapping) else {}
    version = new.get("version") if new else None
    what = f"notice v{version}" if version is not None else _thing(target)
    return f"{who(actor)} published {what}"


def _deleted(what: str) -> Callable[[str, str, Mapping], str]:
    def line(actor: str, target: str, detail: Mapping) -> str:
        count = detail.get("events")
        amount = f"{_n(count)} events" if count is not None else what
        return f"{who(actor)} deleted {amount} of {_thing(target)}"

    return line


def _purged(actor: str, target: str, detail: Mapping) -> str:
    category = detail.get("category") or _thing(target)
    return (
        f"{who(actor)} deleted {_n(detail.get('events'))} {category} events past "
        f"{_n(detail.get('max_age_days'))} days ({_n(detail.get('subjects'))} subjects)"
    )


def _consent(verb: str) -> Callable[[str, str, Mapping], str]:
    def line(actor: str, target: str, detail: Mapping) -> str:
        categories = detail.get("categories")
        what = f" for {', '.join(map(str, categories))}" if isinstance(categories, list) and categories else ""
        # The employee acting on their own consent is the subject itself: name it once.
        by = "" if actor == target else f" (by {who(actor)})"
        return f"consent of {_thing(target)} {verb}{what}{by}"

    return line


def _by(sentence: str) -> Callable[[str, str, Mapping], str]:
    """ "{who} <sentence> {target}": the common shape of an action someone took on something."""

    def line(actor: str, target: str, detail: Mapping) -> str:
        return f"{who(actor)} {sentence} {_thing(target)}".rstrip()

    return line


_LINES: dict[str, Callable[[str, str, Mapping], str]] = {
    AuditAction.ACCOUNT_CREATE: _by("created the account of"),
    AuditAction.ACCOUNT_ROLES: _by("changed the roles of"),
    AuditAction.ACCOUNT_ENABLE: _by("enabled the account of"),
    AuditAction.ACCOUNT_DISABLE: _by("disabled the account of"),
    AuditAction.CONSENT_GRANTED: _consent("given"),
    AuditAction.CONSENT_WITHDRAWN: _consent("withdrawn"),
    AuditAction.CONSENT_EXPIRED: _consent("expired"),
    AuditAction.CONSENT_SUPERSEDED: _consent("ended by a new notice"),
    AuditAction.NOTICE_CREATED: _by("drafted"),
    AuditAction.NOTICE_PUBLISHED: _published,
    AuditAction.DEVICE_ENROLL: _device_enroll,
    AuditAction.DEVICE_REVOKE: _device_revoke,
    AuditAction.DATASET_EXPORTED: _exported,
    AuditAction.ERASURE_CIPHERTEXT_DELETED: _deleted("the encrypted data"),
    AuditAction.ERASURE_KEY_DESTROYED: _by("destroyed the data key of"),
    AuditAction.ERASURE_REQUESTED: _by("requested erasure of"),
    AuditAction.ERASURE_COMPLETED: _by("completed the erasure of"),
    AuditAction.RETENTION_PURGED: _purged,
    AuditAction.GRANT_CREATED: _by("created"),
    AuditAction.GRANT_REVOKED: _by("revoked"),
    AuditAction.DATA_REQUEST_SUBMITTED: _by("submitted"),
    AuditAction.DATA_REQUEST_APPROVED: _by("approved"),
    AuditAction.DATA_REQUEST_REJECTED: _by("rejected"),
    AuditAction.KEY_ROTATE: _by("rotated the signing key"),
}


def describe(entry: AuditEntry) -> str:
    """One line in words for an audit entry; unknown actions read "<label>: <target>"."""
    detail = entry.detail if isinstance(entry.detail, Mapping) else {}
    line = _LINES.get(entry.action)
    if line is not None:
        try:
            text = line(entry.actor, entry.target, detail)
        except (TypeError, ValueError, AttributeError):
            # A detail of an unexpected shape (an older release's) falls back to the plain line.
            text = ""
        if text:
            return text
    label = AuditAction.label_of(entry.action)
    return f"{label}: {_thing(entry.target)}" if entry.target else label
