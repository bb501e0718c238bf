"""Plain-language filters for the pages people read: one date format, categories in words.

``{% load plain %}`` then ``{{ event.created_at|when }}`` ("30 Nov 2026, 14:05 UTC"),
``{{ category|category }}`` ("Keystrokes (the characters typed)"), ``{{ category|category_short }}``
("Keystrokes"), ``{{ categories|categories }}`` ("Keystrokes, Mouse movement"),
``{{ event.kind|consent_change }}`` ("Consent given") and ``{{ count|number }}`` ("4,024").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from django import template
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from audit.actions import AuditAction
from consent.models import DataCategory, category_short_label

register = template.Library()

_LABELS = dict(DataCategory.choices)


def _as_datetime(value: object) -> datetime | date | None:
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, str) and value:
        # Consent state keeps its times as RFC 3339 text.
        return parse_datetime(value)
    return None


@register.filter
def when(value: object) -> str:
    """A moment as people read it, with its time zone: "30 Nov 2026, 14:05 UTC"; a bare date: "30 Nov 2026".

    The one date format of the employee's pages: every moment shown to a person goes through here.
    """
    moment = _as_datetime(value)
    if moment is None:
        return ""
    if not isinstance(moment, datetime):
        return f"{moment.day} {moment:%b %Y}"
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    local = timezone.localtime(moment)
    return f"{local.day} {local:%b %Y, %H:%M} {local.tzname()}"


@register.filter
def category(value: str) -> str:
    """A data category in words, with its explanation; never the code."""
    return _LABELS.get(value, value)


@register.filter
def category_short(value: str) -> str:
    """A data category's name without its explanation ("Keystrokes")."""
    return category_short_label(value)


@register.filter
def categories(values: Iterable[str] | None) -> str:
    """Several categories by their short names, joined for a sentence or a table cell."""
    return ", ".join(category_short_label(v) for v in values or [])


@register.filter
def consent_change(kind: str) -> str:
    """A consent event's kind as the audit log names it ("Consent given", "Consent ended by a new notice")."""
    # actions.py declares one consent.<kind> action per kind of consent event.
    return AuditAction.label_of(f"consent.{kind}")


@register.filter
def number(value: int | None) -> str:
    """A count with thousands separated: 4,024."""
    return f"{value or 0:,}"
