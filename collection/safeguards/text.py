"""Typed text: reconstructed per application, searched for personal data, masked where found.

``key.type`` texts and the characters of ``key.down`` events (backspace
honoured) make one text per application, in time order.  The last
``TAIL_CHARS`` characters typed by the device in that application in earlier
batches are put in front, so that a ``password: `` label in one batch and the
password in the next, or a card number typed over two batches, are found.
Only what is in the current batch is masked: what was stored before stays as
it was (it held nothing detectable on its own, and stored chunks are not
rewritten).  Every key event inside a detected span is masked, with its
release, and so is every key event of that application between the first and
last of them (shift presses reveal capitals).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict

from collection.redaction import find_pii
from collection.schema import KeyDown, KeyType, KeyUp, WindowFocus

from .keys import strip_characters
from .state import TAIL_CHARS, DeviceState
from .windows import clean_focus

# Named keys that stand for a character when text is reconstructed.
_KEY_TEXT = {"space": " ", "enter": "\n", "return": "\n", "tab": "\t"}
_BACKSPACE = {"backspace", "delete"}


def _key_identity(event) -> tuple:
    if event.key_vk is not None:
        return ("vk", event.key_vk)
    if event.key_name:
        return ("name", event.key_name.lower())
    return ("char", (event.key_char or "").lower())


def _typed_text(event) -> str | None:
    """What a key.down adds to the text, or None if it adds nothing (modifiers, arrows)."""
    if event.key_char:
        return event.key_char if event.key_char.isprintable() else _KEY_TEXT.get((event.key_name or "").lower())
    name = (event.key_name or "").lower()
    if len(name) == 1:
        return event.key_name
    return _KEY_TEXT.get(name)


def _mask(event, placeholder: str | None) -> None:
    event.key_char = placeholder
    event.key_vk = None
    event.key_name = None


def clean(kept: list[tuple[str, object]], state: DeviceState) -> int:
    """Strip, clean and redact the kept events (in time order) in place; return how many redaction changed.

    Leaves in ``state.tails`` the last characters typed per application.
    """
    changed: set[int] = set()
    # Per app: the pieces of text, the positions of the events that own each
    # piece, and events whose characters were erased, waiting to join the next piece.
    texts: dict[str, list[str]] = {}
    owners: dict[str, list[list[int]]] = {}
    erased: dict[str, list[int]] = defaultdict(list)
    key_positions: dict[str, list[int]] = defaultdict(list)
    open_downs: dict[tuple, list[int]] = defaultdict(list)
    up_of_down: dict[int, int] = {}

    def start(app: str) -> None:
        tail = state.tails.get(app, "")
        texts[app] = list(tail)
        owners[app] = [[] for _ in tail]

    for position, (category, event) in enumerate(kept):
        kind = type(event)
        if kind is KeyDown or kind is KeyUp:
            if category == "keystroke_timing":
                strip_characters(event)
                continue
            app = event.app
            key_positions[app].append(position)
            if kind is KeyUp:
                waiting = open_downs.get((app, _key_identity(event)))
                if waiting:
                    up_of_down[waiting.pop()] = position
                continue
            open_downs[(app, _key_identity(event))].append(position)
            if app not in texts:
                start(app)
            if (event.key_name or "").lower() in _BACKSPACE:
                pieces = texts[app]
                if pieces:
                    if len(pieces[-1]) > 1:  # the end of a key.type text
                        pieces[-1] = pieces[-1][:-1]
                    else:
                        pieces.pop()
                        erased[app].extend(owners[app].pop())
                erased[app].append(position)
                continue
            typed = _typed_text(event)
            if typed is None:
                continue
        elif kind is KeyType:
            app = event.app
            if app not in texts:
                start(app)
            typed = event.text
            if not typed:
                continue
        else:
            if kind is WindowFocus and clean_focus(event):
                changed.add(position)
            continue
        texts[app].append(typed)
        owners[app].append([*erased[app], position] if erased[app] else [position])
        erased[app].clear()

    for app, pieces in texts.items():
        joined = "".join(pieces)
        spans = find_pii(joined)
        if spans:
            _mask_spans(kept, pieces, owners[app], spans, up_of_down, key_positions[app], changed)
            # The tail waits in the cache: it holds what was stored, placeholders included.
            joined = _replaced(joined, spans)
        state.tails[app] = joined[-TAIL_CHARS:]
    return len(changed)


def _replaced(text: str, spans) -> str:
    out, position = [], 0
    for span in spans:
        out += [text[position : span.start], f"[{span.kind}]"]
        position = span.end
    out.append(text[position:])
    return "".join(out)


def _mask_spans(kept, pieces, owners, spans, up_of_down, key_positions, changed) -> None:
    starts, offset = [], 0
    for piece in pieces:
        starts.append(offset)
        offset += len(piece)
    cuts: dict[int, list[tuple[int, int, str]]] = defaultdict(list)  # key.type position -> (lo, hi, kind)
    masked_keys: set[int] = set()
    ranges: list[tuple[int, int]] = []
    index = 0
    for span in spans:
        first = True
        span_keys: list[int] = []
        while index < len(pieces) and starts[index] + len(pieces[index]) <= span.start:
            index += 1
        piece = index
        while piece < len(pieces) and starts[piece] < span.end:
            for position in owners[piece]:  # none for the tail: stored before, left as it was
                event = kept[position][1]
                if type(event) is KeyType:
                    lo = max(span.start - starts[piece], 0)
                    hi = min(span.end - starts[piece], len(pieces[piece]))
                    cuts[position].append((lo, hi, span.kind))
                else:
                    _mask(event, f"[{span.kind}]" if first else None)
                    span_keys.append(position)
                    up = up_of_down.get(position)
                    if up is not None:
                        _mask(kept[up][1], None)
                        span_keys.append(up)
                        changed.add(up)
                first = False
                changed.add(position)
            piece += 1
        if span_keys:
            masked_keys.update(span_keys)
            ranges.append((min(span_keys), max(span_keys)))
    for position, parts in cuts.items():
        event = kept[position][1]
        text = event.text
        for lo, hi, kind in sorted(parts, reverse=True):
            text = text[:lo] + f"[{kind}]" + text[hi:]
        event.text = text
    # Modifiers and other keys pressed inside a span (shift reveals capitals).
    for low, high in ranges:
        for position in key_positions[bisect_left(key_positions, low) : bisect_right(key_positions, high)]:
            event = kept[position][1]
            if position not in masked_keys and (event.key_char or event.key_vk is not None or event.key_name):
                _mask(event, None)
                changed.add(position)
