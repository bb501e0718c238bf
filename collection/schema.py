"""The ``capture/v1`` upload format as msgspec structs.

Decoding is validation: unknown fields and unknown event types are errors
(``forbid_unknown_fields``, a tagged union on ``type``), numbers are bounded
(which also refuses NaN, infinities and absurd magnitudes), strings have
maximum lengths, and a batch holds at most 5,000 events.  A failure names
the event index and the field (``$.events[12].x``).

Two things msgspec lets through are refused here as well: an object that
repeats a key (msgspec keeps the last value silently, so what the client
meant is ambiguous) and nesting deep enough to exhaust the recursion limit
(msgspec skips the values before a tag field recursively).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Annotated, Literal

import msgspec

SCHEMA = "capture/v1"
MAX_EVENTS = 5000
MAX_BODY_BYTES = 2 * 1024 * 1024

# Unix seconds between 2000-01-01 and 2100-01-01: anything else is a client bug.
Timestamp = Annotated[float, msgspec.Meta(ge=946684800.0, le=4102444800.0, description="Unix seconds.")]
Coordinate = Annotated[float, msgspec.Meta(ge=-1_000_000.0, le=1_000_000.0)]
Delta = Annotated[float, msgspec.Meta(ge=-100_000.0, le=100_000.0)]
AppId = Annotated[str, msgspec.Meta(min_length=1, max_length=200, description="Bundle id or executable name.")]
Button = Literal["left", "right", "middle", "back", "forward", "other"]


class Base(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, tag_field="type"):
    pass


class InputField(msgspec.Struct, forbid_unknown_fields=True):
    role: Annotated[str, msgspec.Meta(max_length=64)]
    secure: bool


# Each field is declared once, on the untagged base its event types share;
# only the tagged classes below are events.  Field order is the order of the
# encoded events (stored chunks, exports), so a base's fields come first.


class _Event(Base):
    timestamp: Timestamp
    app: AppId


class _Pointer(_Event):
    x: Coordinate
    y: Coordinate


class _Press(_Pointer):
    button: Button


class _Key(_Event):
    key_name: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    key_char: Annotated[str, msgspec.Meta(max_length=16)] | None = None
    key_vk: Annotated[int, msgspec.Meta(ge=0, le=65535)] | None = None
    field: InputField | None = None


class MouseMove(_Pointer, tag="mouse.move"):
    pass


class MouseDown(_Press, tag="mouse.down"):
    pass


class MouseUp(_Press, tag="mouse.up"):
    pass


class MouseScroll(_Pointer, tag="mouse.scroll"):
    dx: Delta
    dy: Delta


class KeyDown(_Key, tag="key.down"):
    pass


class KeyUp(_Key, tag="key.up"):
    pass


class KeyType(_Event, tag="key.type"):
    text: Annotated[str, msgspec.Meta(max_length=4096)]
    field: InputField | None = None


class WindowFocus(_Event, tag="window.focus"):
    title: Annotated[str, msgspec.Meta(max_length=1024)] | None = None
    url: Annotated[str, msgspec.Meta(max_length=4096)] | None = None
    private: bool | None = None


Event = MouseMove | MouseDown | MouseUp | MouseScroll | KeyDown | KeyUp | KeyType | WindowFocus


class UploadBatch(msgspec.Struct, forbid_unknown_fields=True):
    batch_id: uuid.UUID
    schema: Literal["capture/v1"]  # SCHEMA, spelled out because type checkers only take literals here
    # At most MAX_EVENTS; checked after decoding so that too many is a 413, not a 400.
    events: list[Event]


CATEGORY_OF_TYPE = {
    MouseMove: "mouse",
    MouseDown: "clicks",
    MouseUp: "clicks",
    MouseScroll: "clicks",
    KeyType: "keystrokes",
    WindowFocus: "app_focus",
    # KeyDown and KeyUp are "keystrokes", or "keystroke_timing" alone (decided per app).
}

_batch_decoder = msgspec.json.Decoder(UploadBatch)
# For the repeated-key check only (see ``_may_repeat_a_key``).
_json_encoder = msgspec.json.Encoder()
_plain_decoder = msgspec.json.Decoder()
# Compiled searches: on a 160 kB body, about twice as fast as ``in`` on bytes.
_ESCAPED_COLON = re.compile(rb"\\u003[aA]")
_NULL = re.compile(rb"null")
_chunk_encoder = msgspec.msgpack.Encoder()
_chunk_decoder = msgspec.msgpack.Decoder(list[Event])
_PATH = re.compile(r"`\$((?:\.\w+|\[\d+\])*)`")
_QUOTED_VALUE = re.compile(r" '[^']*'")
_UNKNOWN = re.compile(r"(?:unknown|missing required) field `([^`]*)`")


class BatchInvalid(Exception):
    def __init__(self, message: str, event_index: int | None, field: str | None, *, code: str = "invalid_batch"):
        super().__init__(message)
        self.message = message
        self.event_index = event_index
        self.field = field
        self.code = code


class _Pairs(list):
    """A JSON object as its (key, value) pairs in order, repeats kept."""


def _may_repeat_a_key(body: bytes, batch: UploadBatch) -> bool:
    """False when no object in ``body`` repeats a key; True when one may (``_first_repeated_key`` decides).

    On the hot path, so nothing runs per event in Python.  Every ``:`` in
    JSON text is either the separator after a key or a character inside a
    string.  Re-encoding what msgspec decoded keeps one value per key and
    writes each string's colons as they were read, so a repeated key leaves
    it with fewer colons than the body (the repeat's separator, and any
    colon in the value it overwrote) and nothing leaves it with more, except
    a colon written as the escape ``\\u003a``: such a body (rare) always
    gets the exact check.  Equal counts therefore prove that no key repeats.

    A mismatch without a repeat only costs time: the structs do not encode a
    field left at its default (``None``), so an explicit ``null`` loses its
    separator too.  A body with ``null`` anywhere is therefore re-encoded
    from an untyped decode, which keeps every key (about three times the
    cost), rather than sent to the exact check, ten times slower still.
    """
    if _ESCAPED_COLON.search(body):
        return True
    colons = body.count(b":")
    if not _NULL.search(body):
        return _json_encoder.encode(batch).count(b":") != colons
    return _json_encoder.encode(_plain_decoder.decode(body)).count(b":") != colons


def _first_repeated_key(body: bytes) -> tuple[int | None, str] | None:
    """The first repeated key as (event index or None, key), or None; slow, for rare bodies only."""
    try:
        top = json.loads(body, object_pairs_hook=_Pairs)
    except ValueError:  # msgspec read it as JSON, so the stdlib should too; if not, it passes as msgspec read it
        return None
    key = _repeated_key(top, skip="events")
    if key is not None:
        return None, key
    events = [value for name, value in top if name == "events"]
    for index, event in enumerate(events[-1] if events else []):
        key = _repeated_key(event)
        if key is not None:
            return index, key
    return None


def _repeated_key(node: object, *, skip: str | None = None) -> str | None:
    """A key repeated in ``node`` or an object within it, except under the key ``skip``."""
    if isinstance(node, _Pairs):
        seen: set[str] = set()
        for key, _ in node:
            if key in seen:
                return key
            seen.add(key)
        children = [value for key, value in node if key != skip]
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        key = _repeated_key(child)
        if key is not None:
            return key
    return None


def decode_batch(body: bytes) -> UploadBatch:
    """Parse and validate an upload body, or raise ``BatchInvalid`` saying where."""
    try:
        batch = _batch_decoder.decode(body)
    except msgspec.ValidationError as exc:
        message = str(exc)
        index, field = None, None
        match = _PATH.search(message)
        if match:
            parts = re.findall(r"\.(\w+)|\[(\d+)\]", match.group(1))
            names = [name for name, _ in parts if name]
            if len(parts) >= 2 and parts[0][0] == "events" and parts[1][1]:
                index = int(parts[1][1])
                names = names[1:]
            field = names[-1] if names else None
        unknown = _UNKNOWN.search(message)
        if unknown:
            field = unknown.group(1)
        # Never echo a submitted value: it may be typed text, and error details are logged.
        message = _QUOTED_VALUE.sub("", message)
        raise BatchInvalid(message, index, field) from None
    except msgspec.DecodeError as exc:
        raise BatchInvalid(f"The body is not valid JSON: {exc}", None, None) from None
    except UnicodeDecodeError:
        raise BatchInvalid("The body is not valid UTF-8.", None, None) from None
    except RecursionError:
        # The format nests four levels deep; msgspec only gets this far while
        # skipping a deeply nested value, e.g. one placed before an event's "type".
        raise BatchInvalid(
            "The body nests arrays or objects too deeply; capture/v1 nests at most 4 levels.",
            None,
            None,
            code="too_deep",
        ) from None
    # Only a body that decoded is checked: it is valid JSON in the shape of
    # the format, so every key is a field name of the format.
    where = _first_repeated_key(body) if _may_repeat_a_key(body, batch) else None
    if where is not None:
        index, key = where
        place = f" in event {index}" if index is not None else ""
        raise BatchInvalid(
            f'The key "{key}" appears more than once in one object{place}; a JSON object must not repeat a key.',
            index,
            key,
            code="duplicate_key",
        )
    return batch


def encode_events(events: list) -> bytes:
    return _chunk_encoder.encode(events)


def decode_events(data: bytes) -> list:
    return _chunk_decoder.decode(data)


def event_to_builtins(event) -> dict:
    return msgspec.to_builtins(event)
