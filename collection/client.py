"""Reference capture client, written as an agent on an employee's machine would be.

Only the standard library (urllib, json, gzip): it signs in, enrolls a
device, exchanges the device secret for collection tokens and renews them
before they expire, and uploads synthetic but realistic sessions: mouse
paths with clicks and scrolls, application switches with window titles and
URLs, typing (with the odd e-mail address, phone number and typo) and a
password entered in a secure field, which the server must drop.

It reacts to the server the way the protocol asks: ``403 consent_changed``
→ fetch a new token and resend; ``consent_withdrawn`` / ``consent_required``
→ stop capturing and check again later; ``401`` → new token; ``429`` → wait
``Retry-After``; 5xx and connection errors → exponential backoff with jitter,
resending the same ``batch_id`` so nothing is stored twice.

    python -m collection.client --url http://127.0.0.1:8000 --username alice --password ... --minutes 5
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import math
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

log = logging.getLogger("capture-client")

RENEW_BEFORE_SECONDS = 60
MAX_BACKOFF_SECONDS = 60.0
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


class StopCapture(Exception):
    """Consent is not (or no longer) active: capture must pause."""


class FatalError(Exception):
    """The server refused in a way retrying cannot fix."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: dict


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


class CaptureClient:
    def __init__(
        self,
        base_url: str,
        *,
        username: str,
        password: str,
        device_name: str = "",
        platform: str = "linux",
        gzip_bodies: bool = True,
        seed: int | None = None,
        timeout: float = 30.0,
        state_file: Path | None = None,
    ):
        if not base_url.startswith(("http://", "https://")):
            raise FatalError("The server URL must start with http:// or https://.")
        self.base = base_url.rstrip("/")
        self.username = username
        self.password = password
        self.device_name = device_name or f"{username}'s simulated workstation"
        self.platform = platform
        self.gzip_bodies = gzip_bodies
        self.timeout = timeout
        self.rng = random.Random(seed)
        self.state_file = state_file
        self.device_secret: str | None = None
        if state_file is not None and state_file.exists():
            self.device_secret = json.loads(state_file.read_text()).get("device_secret")
        self.token: str | None = None
        self.token_expires = 0.0
        self.policy: dict = {"categories": [], "apps": []}
        self.session: Session | None = None
        self.stats = {"batches": 0, "accepted": 0, "dropped": 0, "redacted": 0, "retries": 0}

    # -- HTTP -------------------------------------------------------------------
    def _call(
        self, method: str, path: str, *, body: dict | None = None, auth: str | None = None, compress: bool = False
    ) -> Response:
        data = None
        headers = {"Accept": "application/json", "User-Agent": "capture-reference-client/1"}
        if body is not None:
            data = json.dumps(body, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
            if compress:
                data = gzip.compress(data, compresslevel=5)
                headers["Content-Encoding"] = "gzip"
        if auth:
            headers["Authorization"] = auth
        return self._send(method, path, data, headers)

    def _send(self, method: str, path: str, data: bytes | None, headers: dict[str, str]) -> Response:
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310 - URL from the operator
                raw = answer.read()
                return Response(answer.status, dict(answer.headers), json.loads(raw) if raw else {})
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                parsed = json.loads(raw) if raw else {}
            except ValueError:
                parsed = {"error": "non_json", "detail": raw[:200].decode(errors="replace")}
            return Response(error.code, dict(error.headers), parsed)

    def _with_backoff(self, action, *, what: str, attempts: int = 8):
        """Run ``action``; on 5xx or connection errors wait 1, 2, 4, ... s (with jitter) and try again."""
        for attempt in range(attempts):
            try:
                response = action()
            except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
                reason = str(getattr(error, "reason", error))
            else:
                if response.status < 500:
                    return response
                reason = f"HTTP {response.status} {response.body.get('error', '')}"
            delay = min(MAX_BACKOFF_SECONDS, 2**attempt) * self.rng.uniform(0.5, 1.0)
            self.stats["retries"] += 1
            log.warning("%s: %s; retrying in %.1f s", what, reason, delay)
            time.sleep(delay)
        raise FatalError(f"{what}: giving up after {attempts} attempts")

    # -- Protocol ---------------------------------------------------------------
    def enroll(self) -> None:
        signed_in = self._with_backoff(
            lambda: self._call(
                "POST", "/api/v1/auth/token", body={"username": self.username, "password": self.password}
            ),
            what="sign-in",
        )
        if signed_in.status != 201:
            raise FatalError(f"sign-in as {self.username} failed: {signed_in.status} {signed_in.body}")
        api_token = signed_in.body["token"]
        enrolled = self._with_backoff(
            lambda: self._call(
                "POST",
                "/api/v1/collection/devices",
                body={"name": self.device_name, "platform": self.platform},
                auth=f"Token {api_token}",
            ),
            what="enroll",
        )
        if enrolled.status != 201:
            raise FatalError(f"enrolling a device for {self.username} failed: {enrolled.status} {enrolled.body}")
        self.device_secret = enrolled.body["device_secret"]
        log.info("%s: enrolled device %s", self.username, enrolled.body["device_id"])
        if self.state_file is not None:
            # Keep the secret like a real agent would: readable by this user only.
            self.state_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.state_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump({"device_id": enrolled.body["device_id"], "device_secret": self.device_secret}, handle)

    def fetch_token(self) -> None:
        response = self._with_backoff(
            lambda: self._call("POST", "/api/v1/collection/tokens", auth=f"Device {self.device_secret}"), what="token"
        )
        if response.status == 403:
            self.token = None
            raise StopCapture(response.body.get("detail", "no active consent"))
        if response.status == 401 and self.state_file is not None:
            log.info("%s: the saved device was revoked; enrolling a new one", self.username)
            self.enroll()
            return self.fetch_token()
        if response.status != 201:
            raise FatalError(f"token refused: {response.status} {response.body}")
        self.token = response.body["token"]
        self.token_expires = datetime.fromisoformat(response.body["expires_at"].replace("Z", "+00:00")).timestamp()
        if response.body["policy"] != self.policy:
            self.policy = response.body["policy"]
            self.session = Session(apps=self.policy["apps"], rng=self.rng)
            log.info("%s: capturing %s on %s", self.username, self.policy["categories"], self.policy["apps"])

    def ensure_token(self) -> None:
        # Renew ahead of expiry so an upload never races the deadline.
        if self.token is None or time.time() > self.token_expires - RENEW_BEFORE_SECONDS:
            self.fetch_token()

    def upload(self, events: list[dict]) -> dict:
        """Upload one batch, resending the same batch_id until the server has answered for it."""
        body = {"batch_id": str(uuid.uuid4()), "schema": "capture/v1", "events": events}
        for _ in range(10):
            self.ensure_token()
            response = self._with_backoff(
                lambda: self._call(
                    "POST",
                    "/api/v1/collection/batches",
                    body=body,
                    auth=f"Bearer {self.token}",
                    compress=self.gzip_bodies,
                ),
                what="upload",
            )
            error = response.body.get("error")
            if response.status in (200, 202):
                self._count(response.body)
                return response.body
            if response.status == 401 or error == "consent_changed":
                self.token = None  # fetch a fresh one and resend
                continue
            if error == "consent_withdrawn":
                self.token = None
                raise StopCapture("consent withdrawn")
            if response.status == 429:
                wait = float(response.headers.get("Retry-After", "1"))
                log.info("%s: rate limited, waiting %.0f s", self.username, wait)
                time.sleep(wait)
                continue
            raise FatalError(f"upload refused: {response.status} {response.body}")
        raise FatalError("upload kept failing")

    def _count(self, answer: dict) -> None:
        self.stats["batches"] += 1
        self.stats["accepted"] += answer["accepted"]
        self.stats["dropped"] += sum(answer["dropped"].values())
        self.stats["redacted"] += answer["redacted"]
        log.info(
            "%s: batch %s accepted %d, dropped %s, redacted %d",
            self.username,
            answer["batch_id"][:8],
            answer["accepted"],
            answer["dropped"] or "{}",
            answer["redacted"],
        )

    def _pause(self, seconds: float, stop: threading.Event) -> None:
        stop.wait(seconds)

    def run(
        self,
        *,
        seconds: float | None,
        batches: int | None = None,
        interval: float = 5.0,
        consent_poll: float = 30.0,
        stop: threading.Event | None = None,
    ) -> dict:
        """Capture and upload every ``interval`` seconds until ``seconds`` or ``batches`` run out."""
        stop = stop or threading.Event()
        deadline = time.time() + seconds if seconds is not None else math.inf
        if self.device_secret is None:
            self.enroll()
        window_start = time.time() - interval
        while not stop.is_set() and time.time() < deadline and (batches is None or self.stats["batches"] < batches):
            try:
                self.ensure_token()
                now = time.time()
                assert self.session is not None
                # At least `interval` seconds of activity per batch, however fast the loop turns.
                events = self.session.generate(min(window_start, now - max(interval, 1.0)), now)[:5000]
                window_start = now
                if events:
                    self.upload(events)
            except StopCapture as reason:
                log.info("%s: not capturing (%s); checking again in %.0f s", self.username, reason, consent_poll)
                self._pause(consent_poll, stop)
                window_start = time.time()
                continue
            if batches is None or self.stats["batches"] < batches:
                self._pause(interval, stop)
        return self.stats


def wait_for_server(url: str, seconds: float) -> None:
    deadline = time.time() + seconds
    while True:
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/.well-known/jwks.json", timeout=5):  # noqa: S310
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.time() > deadline:
                raise FatalError(f"{url} did not come up within {seconds:.0f} s") from None
            time.sleep(1)


def add_arguments(parser: argparse.ArgumentParser, *, default_password: str | None = None) -> None:
    """The client's options; shared by ``python -m collection.client`` and ``manage.py simulate_capture``."""
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--username", action="append", required=True, help="repeat to simulate several employees")
    parser.add_argument("--password", default=default_password, help="the same for every --username")
    duration = parser.add_mutually_exclusive_group()
    duration.add_argument("--minutes", type=float, default=1.0)
    duration.add_argument("--continuous", action="store_true")
    parser.add_argument("--batches", type=int, help="stop after this many uploads per employee")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between uploads")
    parser.add_argument("--wait", type=float, default=0.0, help="wait this long for the server to come up")
    parser.add_argument("--no-gzip", action="store_true")
    parser.add_argument("--state-dir", type=Path, help="keep each employee's device secret here and reuse it")
    parser.add_argument("--seed", type=int)


def main(argv: list[str] | None = None, *, default_password: str | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser, default_password=default_password)
    args = parser.parse_args(argv)
    if not args.password:
        parser.error("--password is required")
    return simulate_employees(args)


def simulate_employees(args: argparse.Namespace) -> int:
    """Simulate every ``--username`` at once, one thread each; 0 when all of them ran to the end."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s capture %(message)s")
    if args.wait:
        wait_for_server(args.url, args.wait)
    seconds = None if args.continuous else args.minutes * 60
    results: dict[str, dict | str] = {}

    def simulate(username: str, index: int) -> None:
        client = CaptureClient(
            args.url,
            username=username,
            password=args.password,
            gzip_bodies=not args.no_gzip,
            seed=None if args.seed is None else args.seed + index,
            state_file=args.state_dir / f"{username}.json" if args.state_dir else None,
        )
        try:
            results[username] = client.run(seconds=seconds, batches=args.batches, interval=args.interval)
        except FatalError as error:
            log.error("%s: %s", username, error)
            results[username] = str(error)

    threads = [threading.Thread(target=simulate, args=(u, i), daemon=True) for i, u in enumerate(args.username)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for username, result in results.items():
        log.info("%s: %s", username, result)
    return 0 if all(isinstance(r, dict) for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
