"""Key rotation, recorded in the audit log."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from audit.services import audit_record
from signing.keyring import Purpose, SigningKey, keyring


def signing_key_rotate(*, actor: Any, purpose: Purpose | str) -> SigningKey:
    """Rotate the key of ``purpose``; the old key stays published for verification."""
    purpose = Purpose(purpose)
    new, old = keyring(purpose).rotate()
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="key.rotate",
            target=f"key:{purpose.value}",
            detail={"purpose": purpose.value, "new_kid": new.kid, "previous_kid": old.kid},
        )
    return new
