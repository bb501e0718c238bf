"""Consent receipts: Kantara CR v1.1 fields, signed with Ed25519, verified by joserfc with only the published JWKS."""

from datetime import UTC, datetime

import pytest
import time_machine
from joserfc.errors import BadSignatureError

from consent.models import ConsentReceipt
from consent.services import consent_grant, subject_for_employee
from erasure.services import consent_withdraw_with_erasure
from signing.keyring import Purpose, keyring

pytestmark = pytest.mark.django_db

KANTARA_FIELDS = {
    "version",
    "jurisdiction",
    "consentTimestamp",
    "collectionMethod",
    "consentReceiptID",
    "language",
    "piiPrincipalId",
    "piiControllers",
    "policyUrl",
    "services",
    "sensitive",
    "spiCat",
}


def test_a_grant_receipt_verifies_with_the_published_keys(api_as, alice, notice, allowlist, verify_receipt):
    with time_machine.travel(datetime(2026, 11, 2, 9, 30, tzinfo=UTC), tick=False):
        event = consent_grant(employee=alice, categories=["keystrokes", "mouse"], notice_version=1)
    receipt = api_as(alice).get(f"/api/v1/consent/me/receipts/{event.receipt.id}").json()

    token = verify_receipt(receipt["jws"])
    assert token.header == {
        "alg": "EdDSA",
        "typ": "consent-receipt+jwt",
        "kid": keyring(Purpose.RECEIPTS).current().kid,
    }
    claims = token.claims
    assert set(claims) >= KANTARA_FIELDS
    assert claims["version"] == "KI-CR-v1.1.0"
    assert claims["consentReceiptID"] == receipt["id"]
    assert claims["piiPrincipalId"] == subject_for_employee(alice).pseudonym
    assert claims["consentTimestamp"] == 1793611800
    assert claims["eventType"] == "given" and claims["noticeVersion"] == 1
    assert claims["sensitive"] is True and claims["spiCat"] == ["keystrokes"]
    assert claims["policyUrl"].endswith("/notices/v1")
    purpose = claims["services"][0]["purposes"][0]
    assert purpose["purposeCategory"] == ["agent-training"] and purpose["piiCategory"] == ["keystrokes", "mouse"]
    assert purpose["consentType"] == "EXPLICIT"
    assert claims["piiControllers"][0]["contact"] == "privacy@example.com"
    assert set(claims["piiControllers"][0]) == {
        "piiController",
        "contact",
        "address",
        "email",
        "phone",
        "piiControllerUrl",
    }
    assert "alice" not in receipt["jws"] and "alice" not in str(claims)
    assert receipt["claims"] == claims


def test_a_withdrawal_receipt_says_withdrawn(api_as, alice, notice, allowlist, verify_receipt):
    consent_grant(employee=alice, categories=["mouse"], notice_version=1)
    event, _ = consent_withdraw_with_erasure(employee=alice)
    claims = verify_receipt(event.receipt.jws).claims
    assert claims["eventType"] == "withdrawn" and claims["erasureRequested"] is True
    assert claims["sensitive"] is False and claims["spiCat"] == []


def test_a_tampered_receipt_does_not_verify(alice, notice, allowlist, verify_receipt):
    jws = consent_grant(employee=alice, categories=["mouse"], notice_version=1).receipt.jws
    header, payload, signature = jws.split(".")
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB")
    with pytest.raises((BadSignatureError, ValueError)):
        verify_receipt(f"{header}.{forged}.{signature}")


def test_receipts_still_verify_after_the_receipts_key_rotates(alice, notice, allowlist, verify_receipt):
    old = consent_grant(employee=alice, categories=["mouse"], notice_version=1).receipt
    keyring(Purpose.RECEIPTS).rotate()
    new = consent_grant(employee=alice, categories=["clicks"], notice_version=1).receipt
    assert old.kid != new.kid
    assert verify_receipt(old.jws).claims["consentReceiptID"] == str(old.id)
    assert verify_receipt(new.jws).claims["consentReceiptID"] == str(new.id)


def test_downloads_return_the_bytes_issued(api_as, portal_as, alice, notice, allowlist):
    receipt = consent_grant(employee=alice, categories=["mouse"], notice_version=1).receipt
    stored = ConsentReceipt.objects.get(pk=receipt.pk).jws
    download = portal_as(alice).get(f"/portal/receipts/{receipt.id}")
    assert download.status_code == 200 and download["Content-Type"] == "application/jwt"
    assert "attachment" in download["Content-Disposition"]
    assert download.content.decode() == stored
    assert api_as(alice).get(f"/api/v1/consent/me/receipts/{receipt.id}").json()["jws"] == stored
    assert [r["id"] for r in api_as(alice).get("/api/v1/consent/me/receipts").json()] == [str(receipt.id)]


def test_nobody_else_gets_an_employees_receipt(api_as, portal_as, alice, bob, olivia, notice, allowlist):
    receipt = consent_grant(employee=alice, categories=["mouse"], notice_version=1).receipt
    assert api_as(bob).get(f"/api/v1/consent/me/receipts/{receipt.id}").status_code == 404
    assert api_as(bob).get("/api/v1/consent/me/receipts/not-a-uuid").status_code == 404
    assert api_as(olivia).get(f"/api/v1/consent/me/receipts/{receipt.id}").status_code == 403
    assert portal_as(bob).get(f"/portal/receipts/{receipt.id}").status_code == 404
    assert portal_as(olivia).get(f"/portal/receipts/{receipt.id}").status_code == 403
