"""Envelope encryption of captured events.

Each subject has a random 256-bit data key.  It is stored only wrapped
(AES-256-GCM) by the master key from configuration, with the subject's
pseudonym as associated data so a wrapped key cannot be moved to another
subject.  Event chunks are AES-256-GCM ciphertext under the data key, with
the subject pseudonym, batch id, category and application id as associated
data: a chunk copied to another subject, batch or category fails to decrypt.

The master key comes from ``MASTER_KEY`` (or ``MASTER_KEY_FILE`` via
``env_secret``) or from the file ``MASTER_KEY_FILE``; with
``MASTER_KEY_AUTOCREATE`` (on in DEBUG) a missing file is created with a
random key.  Without a master key nothing can be stored: ingestion fails
closed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import threading
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

NONCE_BYTES = 12
KEY_BYTES = 32


class MasterKeyUnavailable(Exception):
    """The master key is not configured or cannot be read."""


_master_cache: dict[str, bytes] = {}
_master_lock = threading.Lock()


def _decode_master(text: str, origin: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise MasterKeyUnavailable(f"The master key in {origin} is not base64.") from None
    if len(raw) != KEY_BYTES:
        raise MasterKeyUnavailable(f"The master key in {origin} must be {KEY_BYTES} bytes, not {len(raw)}.")
    return raw


def master_key() -> bytes:
    """The 32-byte master key, read once per process and location."""
    configured = settings.MASTER_KEY
    if configured:
        return _decode_master(configured, "MASTER_KEY")
    path = Path(settings.MASTER_KEY_FILE)
    cached = _master_cache.get(str(path))
    if cached is not None:
        return cached
    with _master_lock:
        if not path.exists():
            if not settings.MASTER_KEY_AUTOCREATE:
                raise MasterKeyUnavailable(f"No master key: set MASTER_KEY or create {path}.")
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process created it first
                pass
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write(base64.b64encode(os.urandom(KEY_BYTES)).decode() + "\n")
        try:
            key = _decode_master(path.read_text(), str(path))
        except OSError as exc:
            raise MasterKeyUnavailable(f"The master key file {path} cannot be read: {exc}") from None
        _master_cache[str(path)] = key
        return key


def _subject_aad(pseudonym: str) -> bytes:
    return f"capture-data-key/v1|{pseudonym}".encode()


def chunk_aad(*, pseudonym: str, batch_id: str, category: str, app_id: str) -> bytes:
    return f"capture-chunk/v1|{pseudonym}|{batch_id}|{category}|{app_id}".encode()


def new_wrapped_key(aad: bytes) -> bytes:
    """A fresh random 256-bit key, returned wrapped by the master key: nonce ‖ AES-GCM(master, key, aad).

    ``aad`` names what the key belongs to, so a wrapped key moved to another owner fails to unwrap.
    """
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(master_key()).encrypt(nonce, AESGCM.generate_key(bit_length=256), aad)


def wrapped_key_id(wrapped: bytes | memoryview) -> str:
    """A public name for a data key: a digest of its wrapped (encrypted) form, never of the key.

    The same name ``erasure.receipts.data_key_id`` gives (receipts cite it).
    """
    return "dk-" + hashlib.sha256(bytes(wrapped)).hexdigest()[:32]


def unwrap_key(wrapped: bytes | memoryview, aad: bytes) -> bytes:
    wrapped = bytes(wrapped)
    return AESGCM(master_key()).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], aad)


def new_wrapped_data_key(pseudonym: str) -> bytes:
    """A fresh data key for a subject, returned wrapped."""
    return new_wrapped_key(_subject_aad(pseudonym))


def unwrap_data_key(wrapped: bytes | memoryview, pseudonym: str) -> bytes:
    return unwrap_key(wrapped, _subject_aad(pseudonym))


def encrypt_chunk(data_key: bytes, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes]:
    """(nonce, ciphertext). Random 96-bit nonces: far below the 2^32 messages per key limit."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce, AESGCM(data_key).encrypt(nonce, plaintext, aad)


def decrypt_chunk(data_key: bytes, nonce: bytes | memoryview, ciphertext: bytes | memoryview, aad: bytes) -> bytes:
    return AESGCM(data_key).decrypt(bytes(nonce), bytes(ciphertext), aad)
