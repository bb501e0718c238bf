"""Per-grant pseudonyms: how a subject, and a run of their events, is named in a grant's datasets.

Each grant has its own random 256-bit key (stored wrapped by the master key,
with the grant id as associated data).  A subject's name in the grant's
exports is HMAC-SHA256 under that key of the subject's stored pseudonym, so
it is the same in every export of one grant and unrelated across grants.
When the grant ends its key is destroyed; from then on nobody, operators
included, can link the grant's datasets to people or to each other.

An *episode* is a run of one subject's events in one application with no gap
longer than ``EPISODE_GAP_SECONDS``; its id is derived the same way from the
subject, the application and the run's first timestamp, so it too is stable
within a grant and unlinkable across grants.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

from collection import crypto

EPISODE_GAP_SECONDS = 300.0
# 128 bits: collisions are out of reach for any dataset size.
_ID_HEX = 32


def _aad(grant_id: uuid.UUID | str) -> bytes:
    return f"dataset-grant-key/v1|{grant_id}".encode()


def new_wrapped_grant_key(grant_id: uuid.UUID | str) -> bytes:
    return crypto.new_wrapped_key(_aad(grant_id))


class GrantPseudonyms:
    """Names in one grant's datasets; build with the wrapped key of an active grant."""

    def __init__(self, *, grant_id: uuid.UUID | str, wrapped_key: bytes | memoryview | None):
        if wrapped_key is None:
            raise ValueError(f"the key of grant {grant_id} has been destroyed: its pseudonyms are gone for good")
        self._key = crypto.unwrap_key(wrapped_key, _aad(grant_id))

    def _derive(self, *parts: str) -> str:
        message = "\x1f".join(parts).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:_ID_HEX]

    def subject(self, stored_pseudonym: str) -> str:
        return self._derive("subject", stored_pseudonym)

    def episode(self, stored_pseudonym: str, app: str, first_timestamp: float) -> str:
        return self._derive("episode", stored_pseudonym, app, repr(float(first_timestamp)))
