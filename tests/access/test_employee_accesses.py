"""The employee's "who accessed data about you": the exports that included them, each with a verifiable proof.

Exports are listed in plain words on the portal and under
``/api/v1/access/me/exports``; each one's audit entry has an RFC 6962
inclusion proof against a signed checkpoint, checked here with
``audit.merkle`` and the JWKS alone.  System erasure steps are not accesses:
they are listed with the employee's erasure requests.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import timedelta

import pytest
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from access.employee import exports_for_employee
from access.models import Export
from audit import merkle
from audit.actions import AuditAction
from audit.models import AuditCheckpoint, AuditEntry
from audit.services import audit_record, checkpoint_create
from config.errors import NotPermitted
from consent.services import consent_withdraw, subject_for_employee
from erasure.services import consent_withdraw_with_erasure
from tests.access.conftest import UNTIL

API = "/api/v1/access/me/exports"
pytestmark = pytest.mark.django_db


def export_now(api_as, rita, grant_id: str) -> Export:
    """Download a whole dataset under the grant as its holder; returns the export row."""
    response = api_as(rita).get(f"/api/v1/access/grants/{grant_id}/export")
    assert response.status_code == 200
    b"".join(response.streaming_content)
    return Export.objects.get(pk=response["X-Export-Id"])


@pytest.fixture
def two_exports(granted, captured, api_as, rita, frozen):
    """Everyone was in the first export; emp0 withdrew before the second, an hour later."""
    first = export_now(api_as, rita, granted["id"])
    consent_withdraw(employee=captured[0])
    frozen.move_to(UNTIL + timedelta(hours=1), tick=False)
    second = export_now(api_as, rita, granted["id"])
    assert (first.subjects, second.subjects) == (6, 5)
    return first, second


def listing(export: Export, grant_id: str) -> dict:
    return {
        "export": str(export.id),
        "exported_at": export.created_at.isoformat().replace("+00:00", "Z"),
        "requester": "rita",
        "purpose": {"id": "agent-training", "description": "Train AI agents that operate computers."},
        "grant": grant_id,
        "categories": ["clicks", "mouse"],
        "audit_seq": export.audit_seq,
    }


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_checkpoint(checkpoint: dict, jwks: dict) -> None:
    """The published key of ``kid`` signed the RFC 8785 bytes of the checkpoint without ``signature``."""
    jwk = next(k for k in jwks["keys"] if k["kid"] == checkpoint["kid"])
    assert (jwk["kty"], jwk["crv"]) == ("OKP", "Ed25519")
    body = {k: v for k, v in checkpoint.items() if k != "signature"}
    Ed25519PublicKey.from_public_bytes(_b64url(jwk["x"])).verify(_b64url(checkpoint["signature"]), rfc8785.dumps(body))


def verify_proof(proof: dict) -> None:
    leaf_hash = bytes.fromhex(proof["leaf_hash"])
    assert merkle.hash_leaf(proof["leaf"].encode("utf-8")) == leaf_hash
    assert proof["tree_size"] == proof["checkpoint"]["size"]
    merkle.verify_inclusion(
        proof["leaf_index"],
        proof["tree_size"],
        leaf_hash,
        [bytes.fromhex(h) for h in proof["proof"]],
        bytes.fromhex(proof["checkpoint"]["root_hash"]),
    )


# --- The list --------------------------------------------------------------------------------------------


def test_an_employee_sees_the_exports_that_included_them_newest_first(two_exports, granted, captured, api_as):
    first, second = two_exports
    stayed, withdrew = captured[1], captured[0]
    assert api_as(stayed).get(API).json() == [listing(second, granted["id"]), listing(first, granted["id"])]
    # emp0 withdrew before the second export: only the first one included them.
    assert api_as(withdrew).get(API).json() == [listing(first, granted["id"])]
    entry = AuditEntry.objects.get(seq=first.audit_seq)
    assert entry.action == "dataset.exported" and entry.detail["export"] == str(first.id)


def test_an_employee_whose_data_was_in_no_export_sees_none(two_exports, api_as, alice, bob, notice):
    assert api_as(alice).get(API).json() == []
    assert api_as(bob).get(API).json() == []


@pytest.mark.parametrize("who", ["rita", "olivia", "aaron", "adam"])
def test_only_employees_have_exports_of_their_own(two_exports, api_as, request, who):
    first, _ = two_exports
    client = api_as(request.getfixturevalue(who))
    for path in (API, f"{API}/{first.id}/proof"):
        response = client.get(path)
        assert response.status_code == 403 and response.json()["error"] == "permission_denied"


def test_the_selector_answers_only_the_employee_themself(two_exports, rita):
    with pytest.raises(NotPermitted):
        exports_for_employee(employee=rita)


# --- The proof -------------------------------------------------------------------------------------------


def test_another_employee_gets_not_found_for_the_proof(two_exports, captured, api_as, alice):
    _, second = two_exports
    for who, export_id in ((captured[0], second.id), (alice, second.id), (captured[1], uuid.uuid4())):
        response = api_as(who).get(f"{API}/{export_id}/proof")
        assert response.status_code == 404 and response.json()["error"] == "not_found"
    assert api_as(captured[1]).get(f"{API}/{second.id}/proof").status_code == 200


def test_the_proof_verifies_against_a_checkpoint_signed_with_a_published_key(two_exports, captured, api_as, api):
    first, _ = two_exports
    proof = api_as(captured[0]).get(f"{API}/{first.id}/proof").json()
    assert proof["export"] == str(first.id) and proof["leaf_index"] == first.audit_seq
    verify_checkpoint(proof["checkpoint"], api.get("/.well-known/jwks.json").json())
    verify_proof(proof)
    leaf = json.loads(proof["leaf"])
    assert (leaf["seq"], leaf["action"], leaf["actor"]) == (first.audit_seq, "dataset.exported", "user:rita")
    assert leaf["target"] == f"grant:{first.grant_id}" and leaf["detail"]["export"] == str(first.id)
    assert leaf["detail"]["purpose"] == "agent-training" and leaf["detail"]["requester"] == "rita"
    assert proof["checkpoint"] == AuditCheckpoint.objects.order_by("-size", "-id").first().document()


def test_a_tampered_proof_or_checkpoint_does_not_verify(two_exports, captured, api_as, api):
    first, _ = two_exports
    proof = api_as(captured[0]).get(f"{API}/{first.id}/proof").json()
    assert proof["proof"], "a log of this size has an audit path"
    bad_path = {**proof, "proof": ["00" * 32, *proof["proof"][1:]]}
    with pytest.raises(merkle.ProofError):
        verify_proof(bad_path)
    with pytest.raises(AssertionError):
        verify_proof({**proof, "leaf": proof["leaf"].replace("rita", "rito")})
    moved = {**proof["checkpoint"], "size": proof["checkpoint"]["size"] + 1}
    with pytest.raises(InvalidSignature):
        verify_checkpoint(moved, api.get("/.well-known/jwks.json").json())


def test_an_entry_newer_than_the_last_checkpoint_gets_a_new_checkpoint_first(granted, captured, api_as, rita, frozen):
    before = checkpoint_create()
    export = export_now(api_as, rita, granted["id"])
    assert export.audit_seq >= before.size  # the export is not in the last checkpoint
    proof = api_as(captured[0]).get(f"{API}/{export.id}/proof").json()
    assert AuditCheckpoint.objects.count() == 2
    latest = AuditCheckpoint.objects.order_by("-size", "-id").first()
    assert latest.size > export.audit_seq and proof["checkpoint"] == latest.document()
    verify_proof(proof)
    # Covered now: asking again signs nothing new.
    assert api_as(captured[1]).get(f"{API}/{export.id}/proof").json()["checkpoint"] == latest.document()
    assert AuditCheckpoint.objects.count() == 2


def test_a_checkpoint_that_covers_the_entry_is_used_as_it_is(two_exports, captured, api_as, olivia):
    first, _ = two_exports
    covering = checkpoint_create()
    audit_record(actor=olivia, action=AuditAction.RETENTION_CHANGED, target="retention:mouse", detail={})
    proof = api_as(captured[0]).get(f"{API}/{first.id}/proof").json()
    assert proof["checkpoint"] == covering.document() and AuditCheckpoint.objects.count() == 1
    verify_proof(proof)


# --- The portal ------------------------------------------------------------------------------------------


def section(page: str, name: str) -> str:
    start = page.index(f'<section class="card" id="{name}">')
    return page[start : page.index("</section>", start)]


def test_the_portal_lists_the_exports_in_plain_words_with_a_link_to_the_proof(
    two_exports, granted, captured, portal_as
):
    first, second = two_exports
    client = portal_as(captured[0])
    accesses = section(client.get("/portal").content.decode(), "accesses")
    assert (
        "rita exported a dataset for Train AI agents that operate computers"
        f" under grant <code>{granted['id']}</code> on 1 Jun 2026, 14:00 UTC (Clicks and scrolling, Mouse movement)."
    ) in accesses
    proof_url = f"/api/v1/access/me/exports/{first.id}/proof?format=json"
    assert f'href="{proof_url}"' in accesses and str(second.id) not in accesses
    assert "cannot be removed or changed unnoticed" in accesses
    assert "Nobody has accessed data about you" not in accesses
    # The link works with the portal's session and answers JSON.
    proof = client.get(proof_url)
    assert proof["Content-Type"].startswith("application/json")
    verify_proof(proof.json())


def test_erasure_steps_are_not_accesses_and_are_shown_with_the_erasure_request(
    two_exports, captured, api_as, portal_as, aaron, django_capture_on_commit_callbacks
):
    employee = captured[1]
    pseudonym = subject_for_employee(employee).pseudonym
    audit_record(actor=aaron, action=AuditAction.DATA_SUMMARY_VIEW, target=f"subject:{pseudonym}", detail={"events": 4})
    with django_capture_on_commit_callbacks(execute=True):
        consent_withdraw_with_erasure(employee=employee)
    steps = set(
        AuditEntry.objects.filter(target=f"subject:{pseudonym}", actor="system:erasure").values_list(
            "action", flat=True
        )
    )
    assert steps == {"collection.erase.key_destroyed", "collection.erase.ciphertext_deleted", "erasure.completed"}

    accesses = api_as(employee).get("/api/v1/consent/me/accesses").json()
    assert [(a["actor"], a["action"]) for a in accesses] == [("user:aaron", "collection.summary_view")]

    page = portal_as(employee).get("/portal").content.decode()
    shown = section(page, "accesses")
    assert "Own data summary viewed" in shown and "collection.summary_view" not in shown and "aaron" in shown
    for label in ("Data key destroyed", "Encrypted data deleted", "Erasure completed"):
        assert label not in shown
        assert label in section(page, "erasure")
    assert "rita exported a dataset" in shown  # the exports stay listed after erasure
