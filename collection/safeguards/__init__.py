"""The server-side capture rules, applied to every event of a batch.

They hold whatever the client did: each event is kept or dropped under one
reason, counted; kept events are cleaned.  Events are taken in time order
(clients do not always send them so), with what the device's earlier batches
left (``DeviceState``: focused secure field, keys held down, private windows,
the tail of typed text).  In order of precedence:

``app_excluded``            the employee excluded the application;
``app_not_allowed``         the application is not in the token or the current allowlist;
``private_window``          a private (incognito) window, and everything in that
                            application until it focuses a normal window again;
``secure_field``            a key event typed in a secure or password-like field,
                            followed through the keystroke sequence (``keys``):
                            timing alone reveals passwords, so nothing of it is kept;
``category_not_consented``  the category is not in the employee's current consent or the token;
``category_not_allowed``    the allowlist does not permit the category in that application;
``future_timestamp``        more than 5 minutes ahead of the server clock;
``before_consent``          earlier than the consent to its category;
``retention_expired``       older than the category's retention.

Key events count as ``keystrokes`` where that is permitted, else as
``keystroke_timing`` with characters, virtual key codes and every key name
that types something removed.  Kept events are cleaned (``windows``, ``text``):
URLs lose credentials, query, fragment and path tokens; titles, URLs and typed
text have personal data replaced by placeholders.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from operator import attrgetter

from collection.schema import (
    CATEGORY_OF_TYPE,
    KeyDown,
    KeyUp,
    MouseDown,
    MouseMove,
    MouseScroll,
    MouseUp,
    WindowFocus,
)

from .keys import secure_flags
from .state import DeviceState, device_state_load, device_state_save
from .text import clean
from .windows import clean_url

__all__ = [
    "DeviceState",
    "Outcome",
    "Rules",
    "apply_safeguards",
    "clean_url",
    "device_state_load",
    "device_state_save",
]

FUTURE_TOLERANCE_SECONDS = 300
_timestamp = attrgetter("timestamp")


@dataclass(frozen=True)
class Rules:
    """What may be kept for one subject, from the current policy and the token."""

    apps: dict[str, frozenset[str]]  # app -> categories permitted there (allowlist ∩ consent ∩ token)
    excluded_apps: frozenset[str]
    consented: frozenset[str]  # current consent ∩ token scope
    granted_since: dict[str, float]  # category -> Unix seconds
    retention_cutoff: dict[str, float]  # category -> oldest Unix seconds kept
    now: float
    # What the device's earlier batches left (None: a fresh state).  Carried here
    # rather than as a third argument so that callers and test hooks of
    # ``apply_safeguards(events, rules)`` keep working.
    device: DeviceState | None = None


@dataclass
class Outcome:
    # Kept events grouped by (category, application), each group in time order.
    groups: dict[tuple[str, str], list] = field(default_factory=dict)
    accepted: int = 0
    dropped: Counter = field(default_factory=Counter)
    redacted: int = 0
    state: DeviceState = field(default_factory=DeviceState)  # to save for the device's next batch


def _decide(app: str, kind: type, rules: Rules) -> tuple[str | None, str | None, float]:
    """For every event of ``kind`` in ``app``: (reason to drop, category, oldest timestamp kept).

    App reasons are final; a category reason applies only after the secure-field
    and private-window checks, which take precedence in the counts.
    """
    permitted = rules.apps.get(app)
    if permitted is None:
        return ("app_excluded" if app in rules.excluded_apps else "app_not_allowed"), None, 0.0
    if kind is KeyDown or kind is KeyUp:
        category = "keystrokes" if "keystrokes" in permitted else "keystroke_timing"
    else:
        category = CATEGORY_OF_TYPE[kind]
    if category not in permitted:
        wanted = {"keystrokes", "keystroke_timing"} if kind is KeyDown or kind is KeyUp else {category}
        reason = "category_not_allowed" if wanted & rules.consented else "category_not_consented"
        return reason, category, 0.0
    return None, category, max(rules.granted_since[category], rules.retention_cutoff.get(category, 0.0))


def apply_safeguards(events: list, rules: Rules) -> Outcome:
    """Decide for each event whether it is kept, drop the rest under their reason, and clean what is kept.

    ``rules.device`` is what the device's earlier batches left; the outcome
    carries it updated (``Outcome.state``), for the caller to save once the
    batch is stored.  The hot loop runs once per event (5,000 a batch), so what depends
    only on the application and the event type is decided once and looked up.
    """
    state = DeviceState() if rules.device is None else rules.device
    out = Outcome(state=state)
    dropped = out.dropped
    groups = out.groups
    since = rules.granted_since
    future = rules.now + FUTURE_TOLERANCE_SECONDS

    events = sorted(events, key=_timestamp)  # stable; nearly free when already in order
    secure = secure_flags(events, state)
    private_apps = state.private_apps
    assumed: set[str] = set()
    if not state.known:
        # Fail closed: whether a window was left private is unknown until it focuses a normal one.
        assumed = {e.app for e in events} - private_apps
        private_apps.update(assumed)
    decisions: dict[tuple[str, type], tuple] = {}
    to_clean: list[tuple[str, object]] = []  # key and window events, which cleaning looks at
    accepted = 0
    for index, event in enumerate(events):
        app = event.app
        kind = type(event)
        decision = decisions.get((app, kind))
        if decision is None:
            decision = decisions[(app, kind)] = _decide(app, kind, rules)
        reason, category, oldest = decision
        if kind is WindowFocus:
            # A focus change counts wherever it happens, kept or not.
            if event.private:
                private_apps.add(app)
                if category is not None:
                    dropped["private_window"] += 1
                    continue
            else:
                private_apps.discard(app)
        if category is None:
            dropped[reason] += 1
            continue
        if private_apps and app in private_apps:
            dropped["private_window"] += 1
            continue
        if secure is not None and secure[index]:
            dropped["secure_field"] += 1
            continue
        if reason is not None:
            dropped[reason] += 1
            continue
        ts = event.timestamp
        if ts > future or ts < oldest:
            if ts > future:
                dropped["future_timestamp"] += 1
            elif ts < since[category]:
                dropped["before_consent"] += 1
            else:
                dropped["retention_expired"] += 1
            continue
        group = groups.get((category, app))
        if group is None:
            group = groups[(category, app)] = []
        group.append(event)
        accepted += 1
        if kind is not MouseMove and kind is not MouseDown and kind is not MouseUp and kind is not MouseScroll:
            to_clean.append((category, event))

    if assumed:
        # The assumption holds for this batch only: saved, it would silence an
        # application until it next focuses a window, long after the cache is back.
        last_focus = {e.app: bool(e.private) for e in events if type(e) is WindowFocus}
        private_apps.difference_update(app for app in assumed if not last_focus.get(app, False))
    out.accepted = accepted
    out.redacted = clean(to_clean, state)
    return out
