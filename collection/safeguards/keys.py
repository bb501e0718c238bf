"""Key events: secure fields followed through the keystroke sequence, and what timing alone may keep.

A client may mark a password field on some events of a key press only, send
the release under another application, or stop sending ``field`` (in the next
batch, say).  So "secure" belongs to the keystroke sequence of the device, not
to one event:

- a field is secure when flagged so, when its role names a secret (in any
  case, inside identifiers: ``PassField``, ``pincode``, ``PIN``, ``otp``), or
  when its (application, role) was seen secure anywhere in the batch;
- a key event without ``field`` is in the focused field, which stays secure
  until a ``window.focus`` or a key event naming a non-secure field;
- a press and its release (matched by key, in any application) are both
  dropped when either one is secure; keys pressed in a secure field and not
  yet released are remembered for the next batch.
"""

from __future__ import annotations

import re

from collection.schema import KeyDown, KeyType, KeyUp, WindowFocus

from .state import MAX_OPEN_KEYS, DeviceState

# `pin` but not `typing`, `shipping`, `mapping`; over-matching only drops key events.
SECURE_ROLE = re.compile(
    r"(?i)secure|pass|pwd|pin(?!g)|secret|otp|cvv|cvc|credential|token|2fa|mfa"
    r"|kennwort|contrase|senha|has[łl]o|l[öo]senord|wachtwoord"
)
_KEY_TYPES = (KeyDown, KeyUp, KeyType)

# Key names that type nothing: the only ones timing-only consent keeps.
_NON_PRINTING = frozenset(
    (
        "shift shiftleft shiftright control ctrl controlleft controlright alt altleft altright altgr option"
        " meta metaleft metaright cmd command super win os fn capslock numlock"
        " enter return numpadenter tab backspace delete escape esc insert home end pageup pagedown"
        " arrowleft arrowright arrowup arrowdown left right up down " + " ".join(f"f{n}" for n in range(1, 25))
    ).split()  # noqa: SIM905
)


def key_identities(event) -> set[tuple]:
    """What names a key in a press or release; clients send some of these, not always the same ones."""
    out = set()
    if event.key_vk is not None:
        out.add(("vk", event.key_vk))
    if event.key_char is not None:
        out.add(("char", event.key_char.lower()))
    if event.key_name is not None:
        out.add(("name", event.key_name.lower()))
    return out


def secure_flags(events: list, state: DeviceState) -> list[bool] | None:
    """For ``events`` (in time order): which are key events typed in a secure field; None if none is.

    Updates ``state`` (focused field, keys still held down in a secure field).
    """
    roles_seen: dict[str, bool] = {}
    secure_fields: set[tuple[str, str]] = set()
    for e in events:
        if type(e) in _KEY_TYPES and e.field is not None:
            role = e.field.role
            named = roles_seen.get(role)
            if named is None:
                named = roles_seen[role] = bool(SECURE_ROLE.search(role))
            if e.field.secure or named:
                secure_fields.add((e.app, role))
    if not secure_fields and not state.secure_focus and not state.secure_keys:
        return None

    flags = [False] * len(events)
    focus_secure = state.secure_focus
    carried = state.secure_keys
    open_presses: dict[tuple, list[int]] = {}
    released: set[int] = set()
    downs: list[int] = []
    for i, e in enumerate(events):
        kind = type(e)
        if kind is WindowFocus:
            focus_secure = False
            continue
        if kind is not KeyDown and kind is not KeyUp and kind is not KeyType:
            continue
        if e.field is not None:
            focus_secure = (e.app, e.field.role) in secure_fields
        flags[i] = focus_secure
        if kind is KeyDown:
            downs.append(i)
            for identity in key_identities(e):
                open_presses.setdefault(identity, []).append(i)
        elif kind is KeyUp:
            identities = key_identities(e)
            down = None
            for identity in identities:
                stack = open_presses.get(identity)
                while stack and stack[-1] in released:
                    stack.pop()
                if stack:
                    down = stack.pop()
                    break
            if down is not None:
                released.add(down)
                if flags[down] or flags[i]:
                    flags[down] = flags[i] = True
            elif identities & carried:
                # Released here, pressed in a secure field in an earlier batch.
                flags[i] = True
                carried = carried - identities
    still_down = set(carried)
    for i in downs:
        if flags[i] and i not in released:
            still_down |= key_identities(events[i])
    state.secure_focus = focus_secure
    state.secure_keys = set(list(still_down)[:MAX_OPEN_KEYS])
    return flags


def strip_characters(event) -> None:
    """Timing-only consent: keep when a key moved, not which; only non-printing key names stay."""
    event.key_char = None
    event.key_vk = None
    if event.key_name is not None and event.key_name.lower() not in _NON_PRINTING:
        event.key_name = None
