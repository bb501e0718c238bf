"""The server-side capture rules, applied to every event of a batch.

They hold whatever the client did: each event is kept or dropped under one
reason, counted; kept events are cleaned.  In order of precedence:

``app_excluded``            the employee excluded the application;
``app_not_allowed``         the application is not in the token or the current allowlist;
``private_window``          a private (incognito) window, and everything in that
                            application until it focuses a normal window again;
``secure_field``            a key event in a secure or password-like field, or in a field
                            (application and role) seen secure anywhere in this batch:
                            timing alone reveals passwords, so nothing of it is kept;
``category_not_consented``  the category is not in the employee's current consent or the token;
``category_not_allowed``    the allowlist does not permit the category in that application;
``future_timestamp``        more than 5 minutes ahead of the server clock;
``before_consent``          earlier than the consent to its category;
``retention_expired``       older than the category's retention.

Key events count as ``keystrokes`` where that is permitted, else as
``keystroke_timing`` with characters, virtual key codes and printable key
names removed.  Kept events are cleaned: URLs lose credentials, query and
fragment; titles, URLs and typed text have personal data replaced by
placeholders.  Characters typed one ``key.down`` at a time are joined per
application (backspace honoured) so that an e-mail address typed key by key
is found, and every key event inside a detected span, with its ``key.up``,
is masked.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from collection.redaction import find_pii, redact
from collection.schema import (
    CATEGORY_OF_TYPE,
    KeyDown,
    KeyType,
    KeyUp,
    MouseDown,
    MouseMove,
    MouseScroll,
    MouseUp,
    WindowFocus,
)

FUTURE_TOLERANCE_SECONDS = 300
_KEY_TYPES = frozenset({KeyDown, KeyUp, KeyType})
_PASSWORD_ROLE = re.compile(r"(?i)secure|passw|pwd|passcode|\bpin\b|credential|otp")
# Named keys that stand for a character when text is reconstructed.
_KEY_TEXT = {"space": " ", "enter": "\n", "return": "\n", "tab": "\t"}
_BACKSPACE = {"backspace", "delete"}


@dataclass(frozen=True)
class Rules:
    """What may be kept for one subject, from the current policy and the token."""

    apps: dict[str, frozenset[str]]  # app -> categories permitted there (allowlist ∩ consent ∩ token)
    excluded_apps: frozenset[str]
    consented: frozenset[str]  # current consent ∩ token scope
    granted_since: dict[str, float]  # category -> Unix seconds
    retention_cutoff: dict[str, float]  # category -> oldest Unix seconds kept
    now: float


@dataclass
class Outcome:
    # Kept events grouped by (category, application), each group in batch order.
    groups: dict[tuple[str, str], list] = field(default_factory=dict)
    accepted: int = 0
    dropped: Counter = field(default_factory=Counter)
    redacted: int = 0


def clean_url(url: str) -> str | None:
    """The URL without credentials, query or fragment, personal data replaced; None if unparsable."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return None
    netloc = (f"[{host}]" if ":" in host else host) + port
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _key_identity(event) -> tuple:
    if event.key_vk is not None:
        return ("vk", event.key_vk)
    if event.key_name:
        return ("name", event.key_name.lower())
    return ("char", (event.key_char or "").lower())


def _strip_characters(event) -> None:
    event.key_char = None
    event.key_vk = None
    if event.key_name is not None and (len(event.key_name) == 1 or event.key_name.lower() == "space"):
        event.key_name = None


def _typed_text(event) -> str | None:
    """What a key.down adds to the text, or None if it adds nothing (modifiers, arrows)."""
    if event.key_char:
        return event.key_char if event.key_char.isprintable() else _KEY_TEXT.get((event.key_name or "").lower())
    name = (event.key_name or "").lower()
    if len(name) == 1:
        return event.key_name
    return _KEY_TEXT.get(name)


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


def _key_identities(event) -> list[tuple]:
    """What names a key in a press or release; clients send some of these, not always the same ones."""
    out = []
    if event.key_vk is not None:
        out.append(("vk", event.key_vk))
    if event.key_char is not None:
        out.append(("char", event.key_char))
    if event.key_name is not None:
        out.append(("name", event.key_name))
    return out


def apply_safeguards(events: list, rules: Rules) -> Outcome:
    """Decide for each event whether it is kept, drop the rest under their reason, and clean what is kept.

    The hot loop runs once per event (5,000 a batch), so what depends only on
    the application and the event type is decided once and looked up.
    """
    out = Outcome()
    dropped = out.dropped
    groups = out.groups
    since = rules.granted_since
    future = rules.now + FUTURE_TOLERANCE_SECONDS

    secure_fields: set[tuple[str, str]] = set()
    roles_seen: dict[str, bool] = {}
    for e in events:
        if type(e) in _KEY_TYPES and e.field is not None:
            role = e.field.role
            password_like = roles_seen.get(role)
            if password_like is None:
                password_like = roles_seen[role] = bool(_PASSWORD_ROLE.search(role))
            if e.field.secure or password_like:
                secure_fields.add((e.app, role))

    secure_keys_down: set[tuple[str, tuple]] = set()
    private_apps: set[str] = set()
    decisions: dict[tuple[str, type], tuple] = {}
    to_clean: list[tuple[str, object]] = []  # key and window events, which cleaning looks at
    accepted = 0
    for event in events:
        app = event.app
        kind = type(event)
        decision = decisions.get((app, kind))
        if decision is None:
            decision = decisions[(app, kind)] = _decide(app, kind, rules)
        reason, category, oldest = decision
        if category is None:
            dropped[reason] += 1
            continue
        if kind is WindowFocus:
            if event.private:
                private_apps.add(app)
                dropped["private_window"] += 1
                continue
            private_apps.discard(app)
        elif private_apps and app in private_apps:
            dropped["private_window"] += 1
            continue
        if secure_fields and kind in _KEY_TYPES:
            if event.field is not None and (app, event.field.role) in secure_fields:
                dropped["secure_field"] += 1
                if kind is KeyDown:
                    secure_keys_down.update((app, identity) for identity in _key_identities(event))
                continue
            if event.field is None and kind is KeyUp and secure_keys_down:
                # The release of a key pressed in a secure field, sent without
                # its field: its timing reveals the password as much as the press.
                identities = {(app, identity) for identity in _key_identities(event)}
                if identities & secure_keys_down:
                    secure_keys_down.difference_update(identities)
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

    out.accepted = accepted
    out.redacted = _clean(to_clean)
    return out


def _clean(kept: list[tuple[str, object]]) -> int:
    """Strip, clean and redact the kept events in place; return how many events redaction changed."""
    changed: set[int] = set()
    # Per app: the reconstructed text, which events own each character, and
    # events whose characters were erased, waiting to join the next character.
    texts: dict[str, list[str]] = defaultdict(list)
    owners: dict[str, list[list[int]]] = defaultdict(list)
    erased: dict[str, list[int]] = defaultdict(list)
    open_downs: dict[tuple, list[int]] = defaultdict(list)
    up_of_down: dict[int, int] = {}

    for position, (category, event) in enumerate(kept):
        kind = type(event)
        if kind is KeyDown or kind is KeyUp:
            if category == "keystroke_timing":
                _strip_characters(event)
                continue
            app = event.app
            if kind is KeyUp:
                waiting = open_downs.get((app, _key_identity(event)))
                if waiting:
                    up_of_down[waiting.pop()] = position
                continue
            open_downs[(app, _key_identity(event))].append(position)
            if (event.key_name or "").lower() in _BACKSPACE:
                if owners[app]:
                    texts[app].pop()
                    erased[app].extend(owners[app].pop())
                erased[app].append(position)
                continue
            typed = _typed_text(event)
            if typed is None:
                continue
            texts[app].append(typed)
            owners[app].append([*erased[app], position] if erased[app] else [position])
            erased[app].clear()
        elif kind is KeyType:
            text, count = redact(event.text)
            if count:
                event.text = text
                changed.add(position)
        elif kind is WindowFocus:
            if event.url is not None:
                cleaned = clean_url(event.url)
                if cleaned is not None:
                    cleaned, count = redact(cleaned)
                    if count:
                        changed.add(position)
                event.url = cleaned
            if event.title:
                title, count = redact(event.title)
                if count:
                    event.title = title
                    changed.add(position)

    for app, pieces in texts.items():
        # Join the pieces and remember where each starts, so spans map back to key events.
        starts, offset = [], 0
        for piece in pieces:
            starts.append(offset)
            offset += len(piece)
        spans = find_pii("".join(pieces))
        if not spans:
            continue
        app_owners = owners[app]
        index = 0
        for span in spans:
            first = True
            while index < len(pieces) and starts[index] + len(pieces[index]) <= span.start:
                index += 1
            piece = index
            while piece < len(pieces) and starts[piece] < span.end:
                for position in app_owners[piece]:
                    _mask(kept[position][1], f"[{span.kind}]" if first else None)
                    first = False
                    changed.add(position)
                    up = up_of_down.get(position)
                    if up is not None:
                        _mask(kept[up][1], None)
                        changed.add(up)
                piece += 1
    return len(changed)


def _mask(event, placeholder: str | None) -> None:
    event.key_char = placeholder
    event.key_vk = None
    event.key_name = None
