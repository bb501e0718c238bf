"""What the safeguards remember of one device between its batches, kept in the Django cache.

A keystroke sequence does not stop at a batch boundary: a key pressed in a
password field may be released in the next batch, the focused field may stay
a password field, a private window stays private, and a card number or a
``password: `` label may be typed across two uploads.  The state is small,
per device, and expires after ``STATE_TTL_SECONDS`` of silence.

Fail closed: when the cache cannot be read, the state is *unknown*
(``DeviceState.unknown()``): key events with no field count as typed in a
secure field until a field or a focus change is seen (carried to the next
batch like any focus state), every application counts as in a private window
until it focuses a normal one (for this batch only: carried, it would silence
an application until its next focus), and the typed-text tail is empty, so
detection still runs within the batch.  When it cannot be
written, the next batch reads an older state or none; nothing else fails.
A cache that is down altogether never gets this far: the upload's rate
limiter reads the same cache first and refuses the batch with 503
(``collection.ratelimit``), so this path covers a cache failing mid-request.
Two batches of one device uploaded at once: the later save wins.

The tail holds the last characters as they were stored (detected data already
replaced by placeholders), so the cache holds nothing the database does not;
an erasure leaves it to expire with the TTL.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.core.cache import cache

STATE_TTL_SECONDS = 600
TAIL_CHARS = 64
MAX_OPEN_KEYS = 32
log = logging.getLogger(__name__)


@dataclass
class DeviceState:
    secure_focus: bool = False  # the focused field is a secure one
    secure_keys: set[tuple] = field(default_factory=set)  # identities of keys pressed there, not released yet
    private_apps: set[str] = field(default_factory=set)
    tails: dict[str, str] = field(default_factory=dict)  # app -> last typed characters
    known: bool = True

    @classmethod
    def unknown(cls) -> DeviceState:
        return cls(secure_focus=True, known=False)

    def as_dict(self) -> dict:
        return {
            "secure_focus": self.secure_focus,
            "secure_keys": [list(k) for k in list(self.secure_keys)[:MAX_OPEN_KEYS]],
            "private_apps": sorted(self.private_apps),
            "tails": {app: tail[-TAIL_CHARS:] for app, tail in self.tails.items() if tail},
        }

    @classmethod
    def from_dict(cls, raw: dict) -> DeviceState:
        return cls(
            secure_focus=bool(raw.get("secure_focus")),
            secure_keys={tuple(k) for k in raw.get("secure_keys", ())},
            private_apps=set(raw.get("private_apps", ())),
            tails=dict(raw.get("tails", {})),
        )


def _key(device_id: str) -> str:
    return f"collection:device-state:{device_id}"


def device_state_load(device_id: str) -> DeviceState:
    """The device's state after its last stored batch; unknown (fail closed) if the cache fails."""
    try:
        raw = cache.get(_key(device_id))
    except Exception:  # any cache backend error: Redis down, corrupt entry
        log.warning("device state unavailable for %s; failing closed", device_id, exc_info=True)
        return DeviceState.unknown()
    if not isinstance(raw, dict):
        return DeviceState()
    return DeviceState.from_dict(raw)


def device_state_save(device_id: str, state: DeviceState) -> None:
    try:
        cache.set(_key(device_id), state.as_dict(), STATE_TTL_SECONDS)
    except Exception:
        log.warning("device state not saved for %s", device_id, exc_info=True)
