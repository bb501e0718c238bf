"""Ed25519 signing keys, one ring per purpose, kept as files.

Layout under ``settings.SIGNING_KEY_DIR``::

    <purpose>/<kid>.pem     PKCS#8 private key, mode 0600
    <purpose>/ring.json     {"current": kid, "keys": {kid: {"created_at", "retired_at"}}}

Purposes: ``collection`` signs capture tokens, ``receipts`` signs consent
receipts, ``audit`` signs checkpoints, ``datasets`` signs export manifests, ``erasure`` signs
deletion receipts.  All public keys that may still verify
something are published together in ``/.well-known/jwks.json``; each ``kid``
names its purpose.  A ring is created on first use.  Rotation makes a new
current key and retires the old one, which stays published: collection keys
for ``SIGNING_KEY_RETIRED_TTL_SECONDS`` (longer than any token lives), receipt,
audit, dataset and erasure keys for good, because the documents they signed are kept.

Other processes (web workers, Celery) notice a rotation by the ring file's
modification time.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings


class Purpose(StrEnum):
    COLLECTION = "collection"
    RECEIPTS = "receipts"
    AUDIT = "audit"
    DATASETS = "datasets"
    ERASURE = "erasure"


def b64url(data: bytes) -> str:
    """Unpadded base64url (RFC 7515 §2), as JOSE writes keys and signatures."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """The inverse of ``b64url``; raises ``binascii.Error`` on malformed input."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class SigningKey:
    kid: str
    purpose: Purpose
    private_key: Ed25519PrivateKey
    created_at: datetime
    retired_at: datetime | None

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    def public_bytes(self) -> bytes:
        return self.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def public_jwk(self) -> dict[str, str]:
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": b64url(self.public_bytes()),
            "kid": self.kid,
            "use": "sig",
            "alg": "EdDSA",
        }

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data)

    def is_published(self, now: datetime) -> bool:
        if self.retired_at is None or self.purpose != Purpose.COLLECTION:
            return True
        return now < self.retired_at + timedelta(seconds=settings.SIGNING_KEY_RETIRED_TTL_SECONDS)


def _thumbprint(public_raw: bytes) -> str:
    # RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order.
    canonical = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": b64url(public_raw)}, separators=(",", ":"), sort_keys=True
    )
    return b64url(hashlib.sha256(canonical.encode()).digest())


class KeyRing:
    """The keys of one purpose. Use ``keyring(purpose)`` rather than constructing one."""

    def __init__(self, root: Path, purpose: Purpose):
        self.purpose = purpose
        self.folder = root / purpose.value
        self.ring_file = self.folder / "ring.json"
        self._loaded_mtime: int | None = None
        self._keys: dict[str, SigningKey] = {}
        self._current: str | None = None
        self._lock = threading.Lock()

    # -- reading -------------------------------------------------------------
    def _refresh(self) -> None:
        try:
            mtime = self.ring_file.stat().st_mtime_ns
        except FileNotFoundError:
            self._create_first_key()
            mtime = self.ring_file.stat().st_mtime_ns
        if mtime == self._loaded_mtime:
            return
        with self._lock:
            ring = json.loads(self.ring_file.read_text())
            keys = {}
            for kid, meta in ring["keys"].items():
                pem = (self.folder / f"{kid}.pem").read_bytes()
                private_key = serialization.load_pem_private_key(pem, password=None)
                if not isinstance(private_key, Ed25519PrivateKey):
                    raise ValueError(f"{kid}.pem is not an Ed25519 key")
                keys[kid] = SigningKey(
                    kid=kid,
                    purpose=self.purpose,
                    private_key=private_key,
                    created_at=datetime.fromisoformat(meta["created_at"]),
                    retired_at=datetime.fromisoformat(meta["retired_at"]) if meta.get("retired_at") else None,
                )
            self._keys, self._current, self._loaded_mtime = keys, ring["current"], mtime

    def current(self) -> SigningKey:
        self._refresh()
        assert self._current is not None
        return self._keys[self._current]

    def all(self) -> list[SigningKey]:
        self._refresh()
        return sorted(self._keys.values(), key=lambda k: k.created_at, reverse=True)

    def get(self, kid: str) -> SigningKey | None:
        self._refresh()
        return self._keys.get(kid)

    # -- writing -------------------------------------------------------------
    @contextmanager
    def _locked(self):
        """An exclusive lock across processes, so two of them never rotate or create at once."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.folder / ".lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def _write_key(self, now: datetime) -> str:
        private_key = Ed25519PrivateKey.generate()
        raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        kid = f"{self.purpose.value}-{_thumbprint(raw)[:16]}"
        pem = private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(self.folder / f"{kid}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        return kid

    def _write_ring(self, ring: dict) -> None:
        temporary = self.ring_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(ring, indent=2, sort_keys=True))
        os.replace(temporary, self.ring_file)

    def _create_first_key(self) -> None:
        with self._locked():
            if self.ring_file.exists():  # another process won the race
                return
            now = datetime.now(UTC)
            kid = self._write_key(now)
            self._write_ring({"current": kid, "keys": {kid: {"created_at": now.isoformat(), "retired_at": None}}})

    def rotate(self, before_switch: Callable[[str, str], None] | None = None) -> tuple[SigningKey, SigningKey]:
        """Make a new current key; the previous one is retired but stays published. Returns (new, old).

        ``before_switch(new_kid, old_kid)`` runs once the new key is written but
        before it becomes current; if it raises, the new key is discarded and
        nothing changes.
        """
        self._refresh()
        with self._locked():
            ring = json.loads(self.ring_file.read_text())
            now = datetime.now(UTC)
            old_kid = ring["current"]
            new_kid = self._write_key(now)
            try:
                if before_switch is not None:
                    before_switch(new_kid, old_kid)
                ring["keys"][old_kid]["retired_at"] = now.isoformat()
                ring["keys"][new_kid] = {"created_at": now.isoformat(), "retired_at": None}
                ring["current"] = new_kid
                self._write_ring(ring)
            except BaseException:
                (self.folder / f"{new_kid}.pem").unlink(missing_ok=True)
                raise
        self._loaded_mtime = None
        self._refresh()
        return self._keys[new_kid], self._keys[old_kid]


_rings: dict[tuple[str, Purpose], KeyRing] = {}
_rings_lock = threading.Lock()


def keyring(purpose: Purpose | str) -> KeyRing:
    purpose = Purpose(purpose)
    root = Path(settings.SIGNING_KEY_DIR)
    with _rings_lock:
        ring = _rings.get((str(root), purpose))
        if ring is None:
            ring = _rings[(str(root), purpose)] = KeyRing(root, purpose)
    return ring


def find_public_key(kid: str) -> SigningKey | None:
    """The published key with this ``kid``, of any purpose, or None."""
    purpose_name = kid.split("-", 1)[0]
    if purpose_name not in Purpose._value2member_map_:
        return None
    key = keyring(purpose_name).get(kid)
    if key is None or not key.is_published(datetime.now(UTC)):
        return None
    return key


def jwks() -> dict[str, list[dict[str, str]]]:
    """The RFC 7517 key set: every key that may still verify something."""
    now = datetime.now(UTC)
    keys = [key.public_jwk() for purpose in Purpose for key in keyring(purpose).all() if key.is_published(now)]
    return {"keys": keys}
