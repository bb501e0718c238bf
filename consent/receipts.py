"""Consent receipts: Kantara Consent Receipt v1.1 documents signed as JWS (Ed25519).

A receipt is issued for every grant and withdrawal, in the same transaction
as the consent event.  The payload uses the Kantara CR v1.1 field names and
adds ``noticeVersion`` and ``eventType``; the JWS header names the receipts
key, published in ``/.well-known/jwks.json``, so any JOSE library can verify
a receipt with that document alone.
"""

from __future__ import annotations

import uuid
from typing import Any

import jwt
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from consent.models import ConsentEvent, ConsentReceipt, DataCategory
from signing.keyring import Purpose, keyring

RECEIPT_VERSION = "KI-CR-v1.1.0"
RECEIPT_TYPE = "consent-receipt+jwt"
# Characters typed can carry passwords, health or financial details: the
# category is declared sensitive personal information in every receipt.
SENSITIVE_CATEGORIES = frozenset({DataCategory.KEYSTROKES})

EVENT_TYPES = {ConsentEvent.Kind.GRANTED: "given", ConsentEvent.Kind.WITHDRAWN: "withdrawn"}
COLLECTION_METHODS = {
    ConsentEvent.Channel.PORTAL: "Employee privacy portal",
    ConsentEvent.Channel.API: "Employee privacy API",
    ConsentEvent.Channel.SYSTEM: "System",
}


def issues_receipt(event: ConsentEvent) -> bool:
    return event.kind in EVENT_TYPES


def receipt_payload(*, receipt_id: uuid.UUID, event: ConsentEvent) -> dict[str, Any]:
    notice = event.notice
    origin = settings.SERVICE_ORIGIN.rstrip("/")
    categories = list(event.categories)
    sensitive = sorted(set(categories) & SENSITIVE_CATEGORIES)
    retention = ", ".join(f"{c}: {notice.retention_days.get(c, '?')} days" for c in categories)
    purposes = [
        {
            "purpose": purpose.get("description", purpose["id"]),
            "purposeCategory": [purpose["id"]],
            "consentType": "EXPLICIT",
            "piiCategory": categories,
            "primaryPurpose": index == 0,
            "termination": f"Until withdrawn; data kept at most {retention}." if retention else "Until withdrawn.",
            "thirdPartyDisclosure": False,
        }
        for index, purpose in enumerate(notice.purposes)
    ]
    return {
        "version": RECEIPT_VERSION,
        "jurisdiction": settings.CONSENT_JURISDICTION,
        "consentTimestamp": int(event.created_at.timestamp()),
        "collectionMethod": COLLECTION_METHODS.get(event.channel, event.channel),
        "consentReceiptID": str(receipt_id),
        "language": "en",
        "piiPrincipalId": event.subject.pseudonym,
        "piiControllers": [
            {
                "piiController": settings.CONSENT_CONTROLLER_NAME,
                "contact": notice.contact,
                "address": settings.CONSENT_CONTROLLER_ADDRESS,
                "email": notice.contact if "@" in notice.contact else "",
                "phone": settings.CONSENT_CONTROLLER_PHONE,
                "piiControllerUrl": origin,
            }
        ],
        "policyUrl": origin + reverse("consent:notice", kwargs={"version": notice.version}),
        "services": [{"service": "Computer-use capture for agent training", "purposes": purposes}],
        "sensitive": bool(sensitive),
        "spiCat": sensitive,
        "noticeVersion": notice.version,
        "eventType": EVENT_TYPES[event.kind],
        "eventId": str(event.id),
        "consentEpoch": event.epoch,
        "erasureRequested": event.erasure_requested,
        "iss": origin,
        "sub": event.subject.pseudonym,
        "iat": int(timezone.now().timestamp()),
        "jti": str(receipt_id),
    }


def receipt_issue(event: ConsentEvent) -> ConsentReceipt:
    """Sign and store the receipt for ``event``; call inside the event's transaction."""
    key = keyring(Purpose.RECEIPTS).current()
    receipt_id = uuid.uuid4()
    token = jwt.encode(
        receipt_payload(receipt_id=receipt_id, event=event),
        key.private_key,
        algorithm="EdDSA",
        headers={"kid": key.kid, "typ": RECEIPT_TYPE},
    )
    return ConsentReceipt.objects.create(
        id=receipt_id, event=event, subject=event.subject, kid=key.kid, jws=token, issued_at=timezone.now()
    )


def receipt_claims(receipt: ConsentReceipt) -> dict[str, Any]:
    """The payload of a stored receipt, for display. Not a verification: clients verify with the JWKS."""
    return jwt.decode(receipt.jws, options={"verify_signature": False})
