"""The capture-client protocol over HTTP: enrol a device, fetch and renew tokens, upload batches.

It reacts to the server the way the protocol asks: ``403 consent_changed``
→ fetch a new token and resend; ``consent_withdrawn`` / ``consent_required``
→ stop capturing and check again later; ``401`` → new token; ``429`` → wait
``Retry-After``; 5xx and connection errors → exponential backoff with jitter,
resending the same ``batch_id`` so nothing is stored twice.
"""

from __future__ import annotations

import gzip
import json
import logging
import math
import os
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from capture_client.session import Session

log = logging.getLogger("capture-client")

SCHEMA = "capture/v1"
# The server's limit per upload (collection.schema.MAX_EVENTS on the other side of the wire).
MAX_EVENTS_PER_BATCH = 5000
RENEW_BEFORE_SECONDS = 60
MAX_BACKOFF_SECONDS = 60.0


class StopCapture(Exception):
    """Consent is not (or no longer) active: capture must pause."""


class FatalError(Exception):
    """The server refused in a way retrying cannot fix."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: dict


class CaptureClient:
    """One employee's agent: a device, its current token and policy, and a synthetic session to upload."""

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
        device_secret: str | None = None,
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
        # A secret made in the portal is the device: the client never enrolls
        # another one, and a refused secret is fatal (it was revoked there).
        self.paired = device_secret is not None
        self.device_secret: str | None = device_secret
        if device_secret is None and state_file is not None and state_file.exists():
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
        if self.paired:
            raise FatalError("This client runs with a device secret from the portal and does not enroll devices.")
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
        if response.status == 401 and self.paired:
            raise FatalError(
                "The device secret was refused: the device was revoked, or the secret is mistyped. "
                "Enroll the device again on the portal's capture devices page and save the new secret."
            )
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
        body = {"batch_id": str(uuid.uuid4()), "schema": SCHEMA, "events": events}
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
                events = self.session.generate(min(window_start, now - max(interval, 1.0)), now)[:MAX_EVENTS_PER_BATCH]
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
