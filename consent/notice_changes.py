"""What a draft notice changes against the published one, and what publishing it would do.

Officers see this before they publish: each text field as a line diff, the
categories added and dropped, how many employees lose consent to a dropped
category, and where the retention the draft would state (the retention rules
as they are now) differs from what the current notice told employees.
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from consent.models import ConsentNotice, ConsentState, category_short_label

# The notice's text fields as officers know them, in the editor's order.
TEXT_FIELDS = [
    ("title", "Title"),
    ("summary", "Plain-language summary"),
    ("purposes", "Purposes"),
    ("access", "Who may access the data"),
    ("rights", "Rights"),
    ("contact", "Contact"),
]


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "same", "added" or "removed"
    text: str


@dataclass(frozen=True)
class FieldChange:
    label: str
    lines: list[DiffLine]


@dataclass(frozen=True)
class RetentionChange:
    category: str
    stated: int | None  # what the current notice told employees (None: not covered)
    now: int | None  # what the rules say now, and the draft would state (None: no rule)


@dataclass(frozen=True)
class NoticeChanges:
    against_version: int | None
    fields: list[FieldChange]
    added: list[str]
    dropped: list[str]
    # {category label: employees whose consent to it ends when the draft is published}
    consent_ends: dict[str, int]
    # Where the retention rules now differ from what the current notice states.
    retention: list[RetentionChange] = field(default_factory=list)
    # Categories of the draft without a retention rule: publishing is refused until set.
    retention_missing: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.fields or self.added or self.dropped or self.retention)


def _text(notice: ConsentNotice | dict[str, Any] | None, name: str) -> str:
    if notice is None:
        return ""
    value = notice.get(name, "") if isinstance(notice, dict) else getattr(notice, name)
    if name == "purposes":
        return "\n".join(f"{p.get('id', '')}: {p.get('description', '')}" for p in value or [])
    return str(value or "")


def _diff(old: str, new: str) -> list[DiffLine]:
    kinds = {" ": "same", "+": "added", "-": "removed"}
    return [
        DiffLine(kinds[line[0]], line[2:])
        for line in difflib.ndiff(old.splitlines(), new.splitlines())
        if line[0] in kinds
    ]


def consent_holders_by_category() -> Counter[str]:
    """How many employees hold consent to each category now (counts only)."""
    holders: Counter[str] = Counter()
    for granted in ConsentState.objects.values_list("granted", flat=True):
        holders.update(list(granted or {}))
    return holders


def retention_drift(current: ConsentNotice | None, rules: dict[str, int]) -> list[RetentionChange]:
    """Categories whose retention rule no longer matches what the published notice told employees."""
    if current is None:
        return []
    stated = current.retention_days or {}
    return [
        RetentionChange(category_short_label(c), stated.get(c), rules.get(c))
        for c in sorted(set(current.categories))
        if stated.get(c) != rules.get(c)
    ]


def notice_changes(
    draft: ConsentNotice | dict[str, Any], current: ConsentNotice | None, rules: dict[str, int]
) -> NoticeChanges:
    """What publishing ``draft`` changes against ``current`` (the published notice), with the rules now."""
    fields = []
    for name, label in TEXT_FIELDS:
        old, new = _text(current, name), _text(draft, name)
        if old != new:
            fields.append(FieldChange(label, _diff(old, new)))
    draft_categories = set(draft.get("categories", []) if isinstance(draft, dict) else draft.categories)
    current_categories = set(current.categories) if current is not None else set()
    added = sorted(draft_categories - current_categories)
    dropped = sorted(current_categories - draft_categories)
    holders = consent_holders_by_category() if dropped else Counter()
    stated = (current.retention_days or {}) if current is not None else {}
    retention = [
        RetentionChange(category_short_label(c), stated.get(c), rules.get(c))
        for c in sorted(draft_categories)
        if c in stated and stated.get(c) != rules.get(c)
    ]
    return NoticeChanges(
        against_version=current.version if current is not None else None,
        fields=fields,
        added=[category_short_label(c) for c in added],
        dropped=[category_short_label(c) for c in dropped],
        consent_ends={category_short_label(c): holders.get(c, 0) for c in dropped},
        retention=retention,
        retention_missing=[category_short_label(c) for c in sorted(draft_categories) if c not in rules],
    )
