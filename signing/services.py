"""Key rotation, recorded in the audit log."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from audit.actions import AuditAction
from audit.services import audit_record
from signing.keyring import Purpose, SigningKey, keyring


def signing_key_rotate(*, actor: Any, purpose: Purpose | str) -> SigningKey:
    """Rotate the key of ``purpose``; the old key stays published for verification.

    The audit entry is written before the new key becomes current, in the same
    transaction: if it cannot be written, the key does not change.
    """
    purpose = Purpose(purpose)

    def record(new_kid: str, old_kid: str) -> None:
        audit_record(
            actor=actor,
            action=AuditAction.KEY_ROTATE,
            target=f"key:{purpose.value}",
            detail={"purpose": purpose.value, "new_kid": new_kid, "previous_kid": old_kid},
        )

    with transaction.atomic():
        new, _old = keyring(purpose).rotate(before_switch=record)
    return new
