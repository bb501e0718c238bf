"""The ``capture/v1`` upload format as msgspec structs.

Decoding is validation: unknown fields and unknown event types are errors
(``forbid_unknown_fields``, a tagged union on ``type``), numbers are bounded
(which also refuses NaN, infinities and absurd magnitudes), strings have
maximum lengths, and a batch holds at most 5,000 events.  A failure names
the event index and the field (``$.events[12].x``).
"""

from __future__ import annotations

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
_chunk_encoder = msgspec.msgpack.Encoder()
_chunk_decoder = msgspec.msgpack.Decoder(list[Event])
_PATH = re.compile(r"`\$((?:\.\w+|\[\d+\])*)`")
_QUOTED_VALUE = re.compile(r" '[^']*'")
_UNKNOWN = re.compile(r"(?:unknown|missing required) field `([^`]*)`")


class BatchInvalid(Exception):
    def __init__(self, message: str, event_index: int | None, field: str | None):
        super().__init__(message)
        self.message = message
        self.event_index = event_index
        self.field = field


def decode_batch(body: bytes) -> UploadBatch:
    """Parse and validate an upload body, or raise ``BatchInvalid`` saying where."""
    try:
        return _batch_decoder.decode(body)
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


def encode_events(events: list) -> bytes:
    return _chunk_encoder.encode(events)


def decode_events(data: bytes) -> list:
    return _chunk_decoder.decode(data)


def event_to_builtins(event) -> dict:
    return msgspec.to_builtins(event)
