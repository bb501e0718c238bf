"""Deriving the current consent state from the append-only history."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from consent.models import ConsentEvent


@dataclass
class DerivedState:
    epoch: int = 0
    granted: dict[str, dict] = field(default_factory=dict)
    excluded_apps: list[str] = field(default_factory=list)
    last_event_id: str | None = None


def apply(state: DerivedState, event: ConsentEvent) -> DerivedState:
    """Fold one event into the state.

    Granting a category already held renews it under the new notice but keeps
    the time it was first granted: consent has been continuous since then.
    """
    if event.kind == ConsentEvent.Kind.GRANTED:
        for category in event.categories:
            held = state.granted.get(category)
            state.granted[category] = {
                "since": held["since"] if held else event.created_at.isoformat(),
                "notice_version": event.notice.version,
                "event_id": str(event.id),
            }
    elif event.kind in (ConsentEvent.Kind.WITHDRAWN, ConsentEvent.Kind.EXPIRED, ConsentEvent.Kind.SUPERSEDED):
        for category in event.categories:
            state.granted.pop(category, None)
    state.excluded_apps = sorted(event.excluded_apps)
    state.epoch = event.epoch
    state.last_event_id = str(event.id)
    return state


def derive(events: Iterable[ConsentEvent]) -> DerivedState:
    state = DerivedState()
    for event in events:
        apply(state, event)
    return state
