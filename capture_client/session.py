"""Synthetic but realistic user activity, as ``capture/v1`` event dicts.

Mouse paths with clicks and scrolls, application switches with window titles
and URLs, typing (with the odd e-mail address, phone number and typo) and a
password entered in a secure field, which the server must drop.  Now and then
the user works in an application capture is not allowed on, and the server
drops that too.

The events are plain dicts, built to the protocol; the server's msgspec
structs (``collection.schema``) are the one definition that validates them.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

OTHER_APPS = ["com.apple.Terminal", "com.tinyspeck.slackmacgap", "com.spotify.client"]
SENTENCES = [
    "Refactor the retry loop so it backs off exponentially.",
    "Meeting notes: ship the beta on Thursday.",
    "Ping jane.doe@example.com about the invoice.",
    "Call me on +44 20 7946 0958 after lunch.",
    "Note to self: write tests for the parser edge cases.",
    "The deploy failed because the cache was cold.",
    "Send the report to finance@example.org by Friday.",
    "Looks good to me, merging now.",
]
TITLES = ["main.py - project", "Inbox (3) - Mail", "Pull request #42 - GitHub", "Q3 planning.docx", "Standup notes"]
URLS = [
    "https://github.com/example/project/pull/42?tab=files#diff-3",
    "https://mail.example.com/inbox?session=abc123",
    "https://docs.example.com/guide/install",
    "https://www.google.com/search?q=python+backoff",
]


@dataclass
class Session:
    """Synthetic user activity, generated for a wall-clock interval."""

    apps: list[str]
    rng: random.Random
    x: float = 640.0
    y: float = 400.0
    app: str = ""
    private: bool = False
    stray: float = 0.1
    events: list[dict] = field(default_factory=list)

    def generate(self, start: float, end: float) -> list[dict]:
        self.events = []
        t = start
        if not self.app:
            t = self._focus(t)
        while t < end:
            roll = self.rng.random()
            if roll < 0.15:
                t = self._focus(t)
            elif roll < 0.55:
                t = self._mouse_path(t)
            elif roll < 0.65:
                t = self._scroll(t)
            elif roll < 0.93:
                t = self._type(t, self.rng.choice(SENTENCES))
            else:
                t = self._password(t)
        return [e for e in self.events if e["timestamp"] <= end]

    def _add(self, t: float, kind: str, **fields) -> None:
        self.events.append({"type": kind, "timestamp": round(t, 4), "app": self.app, **fields})

    def _focus(self, t: float) -> float:
        # Now and then the user works in an application capture is not allowed on: the server drops that.
        self.app = self.rng.choice(OTHER_APPS) if self.rng.random() < self.stray else self.rng.choice(self.apps)
        browser = "firefox" in self.app or "chrome" in self.app.lower()
        self.private = browser and self.rng.random() < 0.1
        fields = {"title": self.rng.choice(TITLES)}
        if browser:
            fields["url"] = self.rng.choice(URLS)
            fields["private"] = self.private
        self._add(t, "window.focus", **fields)
        return t + self.rng.uniform(0.2, 1.0)

    def _mouse_path(self, t: float) -> float:
        tx, ty = self.rng.uniform(0, 1440), self.rng.uniform(0, 900)
        steps = self.rng.randint(15, 60)
        # An eased curve with a little jitter, sampled at about 60 Hz, like a hand.
        for i in range(1, steps + 1):
            p = i / steps
            ease = p * p * (3 - 2 * p)
            bow = math.sin(math.pi * p) * self.rng.uniform(-20, 20)
            self._add(
                t,
                "mouse.move",
                x=round(self.x + (tx - self.x) * ease + bow, 1),
                y=round(self.y + (ty - self.y) * ease, 1),
            )
            t += 1 / 60
        self.x, self.y = tx, ty
        if self.rng.random() < 0.7:
            button = "left" if self.rng.random() < 0.9 else "right"
            self._add(t, "mouse.down", x=round(tx, 1), y=round(ty, 1), button=button)
            t += self.rng.uniform(0.06, 0.15)
            self._add(t, "mouse.up", x=round(tx, 1), y=round(ty, 1), button=button)
        return t + self.rng.uniform(0.1, 0.6)

    def _scroll(self, t: float) -> float:
        for _ in range(self.rng.randint(3, 12)):
            self._add(
                t,
                "mouse.scroll",
                x=round(self.x, 1),
                y=round(self.y, 1),
                dx=0.0,
                dy=float(self.rng.choice([-3, -2, -1, 1])),
            )
            t += self.rng.uniform(0.02, 0.08)
        return t + 0.3

    def _key(self, t: float, char: str, field: dict) -> float:
        name = {" ": "space", "\n": "enter"}.get(char, char.lower())
        vk = ord(char.upper()) if char.isalnum() else ord(char) % 256
        if char.isupper():
            self._add(t, "key.down", key_name="shift", key_vk=16, field=field)
        self._add(t, "key.down", key_name=name, key_char=char, key_vk=vk, field=field)
        t += self.rng.uniform(0.04, 0.11)
        self._add(t, "key.up", key_name=name, key_char=char, key_vk=vk, field=field)
        if char.isupper():
            self._add(t + 0.01, "key.up", key_name="shift", key_vk=16, field=field)
        return t + self.rng.uniform(0.03, 0.18)

    def _type(self, t: float, text: str) -> float:
        text_field = {"role": "AXTextArea", "secure": False}
        if self.rng.random() < 0.2:  # some clients aggregate typing
            self._add(t, "key.type", text=text, field=text_field)
            return t + len(text) * 0.12
        for char in text:
            if self.rng.random() < 0.03 and char.isalpha():  # a typo, corrected
                t = self._key(t, self.rng.choice("asdfjkl"), text_field)
                self._add(t, "key.down", key_name="backspace", key_vk=8, field=text_field)
                t += 0.08
                self._add(t, "key.up", key_name="backspace", key_vk=8, field=text_field)
                t += 0.1
            t = self._key(t, char, text_field)
        return t + self.rng.uniform(0.3, 1.5)

    def _password(self, t: float) -> float:
        secure = {"role": "AXSecureTextField", "secure": True}
        for char in "Tr0ub4dor&3":
            t = self._key(t, char, secure)
        t = self._key(t, "\n", secure)
        return t + 0.5
