"""Deletion receipts: issued once after the erasure commits, read by the employee alone, shown and proven on the portal."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import timedelta
from unittest import mock

import pytest

from audit.models import AuditCheckpoint, AuditEntry
from audit.tasks import make_checkpoint_task
from collection.models import EventChunk, SubjectKey
from erasure.models import DeletionReceipt, ErasureRequest
from erasure.receipts import deletion_receipt_issue, deletion_receipts_issue_missing
from erasure.services import consent_withdraw_with_erasure, erasure_request_carry_out, erasure_request_create
from erasure.tasks import issue_deletion_receipt_task, process_erasures_task
from tests.collection.conftest import BROWSER, T0, TS0, batch, ev, typed, upload

API = "/api/v1/consent/me/erasure-requests"
pytestmark = pytest.mark.django_db


def claims_of(token: str) -> tuple[dict, dict]:
    """(header, claims) of a compact JWS, undecoded by any JOSE library: what the service put there."""

    def part(text: str) -> dict:
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))

    header, payload, _ = token.split(".")
    return part(header), part(payload)


@pytest.fixture
def stored(live_token, subject):
    """alice's 7 events in 4 chunks (mouse in two apps, clicks, keystrokes), and the digest of her wrapped data key."""
    events = [ev("mouse.move", 61), ev("mouse.move", 62, BROWSER), ev("mouse.down", 63), *typed("hi", 64)]
    response = upload(live_token, batch(events))
    assert response.status_code == 202, response.content
    assert EventChunk.objects.filter(subject=subject).count() == 4
    wrapped = bytes(SubjectKey.objects.get(subject=subject).wrapped_key)
    return {"data_key_id": "dk-" + hashlib.sha256(wrapped).hexdigest()[:32]}


@pytest.fixture
def erased(stored, consenting, subject, frozen, django_capture_on_commit_callbacks):
    """alice asks for everything to be erased at T0 + 180 s; the worker erases it and the receipt follows.

    The checkpoint an erasure asks for (seconds later, by the worker) is left
    out, so tests see the receipt before any checkpoint covers it.
    """
    frozen.move_to(TS0 + 180, tick=False)
    with mock.patch("erasure.services.checkpoint_after_commit"), django_capture_on_commit_callbacks(execute=True):
        request = erasure_request_create(employee=consenting)
    request.refresh_from_db()
    assert request.status == ErasureRequest.Status.DONE
    return request


def completed_entry(request: ErasureRequest) -> AuditEntry:
    return AuditEntry.objects.get(action="erasure.completed", detail__erasure_request_id=str(request.id))


def test_a_done_erasure_gives_the_employee_one_receipt_naming_what_went_and_when(erased, stored, subject, settings):
    receipt = DeletionReceipt.objects.get()
    assert receipt.request_id == erased.id
    header, claims = claims_of(receipt.jws)
    assert header == {"alg": "EdDSA", "typ": "erasure-receipt+jwt", "kid": receipt.kid}
    assert receipt.kid.startswith("erasure-")
    entry = completed_entry(erased)
    at = "2026-06-01T12:03:00Z"  # T0 + 180 s: time stands still while it is carried out
    assert claims == {
        "iss": settings.SERVICE_ORIGIN.rstrip("/"),
        "sub": subject.pseudonym,
        "iat": int(TS0 + 180),
        "jti": str(receipt.id),
        "erasure_request": str(erased.id),
        "reason": "employee_request",
        "categories": [],
        "scope": "all",
        "events": 7,
        "chunks": 4,
        "data_key_id": stored["data_key_id"],
        "data_key_destroyed_at": at,
        "ciphertext_deleted_at": at,
        "requested_at": at,
        "due_at": "2026-07-01T12:03:00Z",
        "completed_at": at,
        "deadline_met": True,
        "audit_seq": entry.seq,
        "audit_leaf_hash": hashlib.sha256(b"\x00" + entry.leaf.encode()).hexdigest(),
    }
    # The completion entry says the same, so the log itself vouches for the receipt's claims.
    assert entry.detail["data_key"] == stored["data_key_id"]
    assert entry.detail["key_destroyed_at"] == entry.detail["ciphertext_deleted_at"] == at
    assert receipt.audit_seq == entry.seq


def test_the_receipt_step_is_idempotent_however_often_it_runs(erased):
    first = DeletionReceipt.objects.get()
    assert deletion_receipt_issue(request_id=erased.id) == first
    assert issue_deletion_receipt_task.delay(str(erased.id)).get() is True
    assert deletion_receipts_issue_missing() == 0
    assert process_erasures_task.delay().get() == 0
    assert DeletionReceipt.objects.count() == 1
    assert DeletionReceipt.objects.get().jws == first.jws


def test_a_pending_request_gets_no_receipt(stored, consenting):
    request = erasure_request_create(employee=consenting)  # its task never ran: no commit in this test
    assert deletion_receipt_issue(request_id=request.id) is None
    assert issue_deletion_receipt_task.delay(str(request.id)).get() is False
    assert not DeletionReceipt.objects.exists()


def test_the_sweep_issues_a_receipt_whose_step_after_commit_was_lost(stored, consenting):
    request = erasure_request_create(employee=consenting)
    assert erasure_request_carry_out(request_id=request.id) is True  # on_commit never fires here: the step is lost
    assert not DeletionReceipt.objects.exists()
    assert process_erasures_task.delay().get() == 0  # nothing pending, but the receipt is missing
    receipt = DeletionReceipt.objects.get()
    assert receipt.request_id == request.id and receipt.audit_seq == completed_entry(request).seq


def test_erasing_some_categories_names_them_and_no_destroyed_key(
    stored, consenting, subject, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _, request = consent_withdraw_with_erasure(employee=consenting, categories=["keystrokes"])
    _, claims = claims_of(DeletionReceipt.objects.get(request=request).jws)
    assert (claims["scope"], claims["categories"], claims["reason"]) == ("categories", ["keystrokes"], "withdrawal")
    assert (claims["events"], claims["chunks"]) == (4, 1)
    assert claims["data_key_id"] is None and claims["data_key_destroyed_at"] is None
    assert SubjectKey.objects.filter(subject=subject).exists()


def test_a_late_erasure_says_the_deadline_was_missed(stored, consenting, frozen, portal_as):
    request = erasure_request_create(employee=consenting)
    frozen.move_to(T0 + timedelta(days=40), tick=False)
    erasure_request_carry_out(request_id=request.id)
    deletion_receipt_issue(request_id=request.id)
    _, claims = claims_of(DeletionReceipt.objects.get().jws)
    assert claims["deadline_met"] is False and claims["completed_at"] == "2026-07-11T12:00:00Z"
    page = portal_as(consenting).get("/portal").content.decode()
    assert "the deadline was missed" in page and "the deadline was met" not in page


# --- API ---------------------------------------------------------------------------------


def test_the_employee_downloads_their_receipt_exactly_as_issued(erased, api_as, alice):
    response = api_as(alice).get(f"{API}/{erased.id}/receipt")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/jwt"
    assert response["Content-Disposition"] == f'attachment; filename="deletion-receipt-{erased.id}.jwt"'
    assert response.content.decode() == DeletionReceipt.objects.get().jws


def test_someone_elses_receipt_is_not_found(erased, api_as, bob):
    for path in (f"{API}/{erased.id}/receipt", f"{API}/{erased.id}/receipt/proof", f"{API}/{uuid.uuid4()}/receipt"):
        response = api_as(bob).get(path)
        assert response.status_code == 404, path
        assert response.json()["error"] == "not_found"


def test_only_employees_read_receipts(erased, api_as, api, olivia):
    response = api_as(olivia).get(f"{API}/{erased.id}/receipt")
    assert response.status_code == 403 and response.json()["error"] == "permission_denied"
    assert api.get(f"{API}/{erased.id}/receipt").status_code in (401, 403)


def test_a_pending_requests_receipt_is_not_issued_yet(stored, consenting, api_as):
    request = erasure_request_create(employee=consenting)
    response = api_as(consenting).get(f"{API}/{request.id}/receipt")
    assert response.status_code == 404
    assert response.json()["error"] == "receipt_not_issued"
    assert not DeletionReceipt.objects.exists()


def test_the_proof_waits_for_a_checkpoint_then_proves_the_entry(erased, api_as, alice):
    receipt = DeletionReceipt.objects.get()
    response = api_as(alice).get(f"{API}/{erased.id}/receipt/proof")
    assert response.status_code == 409
    assert response.json()["error"] == "not_checkpointed"
    assert "will be provable once the next checkpoint is made" in response.json()["detail"]
    assert not AuditCheckpoint.objects.exists(), "reading a proof signs nothing"
    make_checkpoint_task.delay()
    checkpoint = AuditCheckpoint.objects.get()
    response = api_as(alice).get(f"{API}/{erased.id}/receipt/proof")
    assert response.status_code == 200
    bundle = response.json()
    assert bundle["erasure_request"] == str(erased.id) and bundle["receipt"] == str(receipt.id)
    assert bundle["leaf_index"] == receipt.audit_seq and bundle["tree_size"] == checkpoint.size
    assert bundle["leaf"] == completed_entry(erased).leaf
    assert bundle["checkpoint"] == checkpoint.document()
    from audit import merkle

    merkle.verify_inclusion(
        bundle["leaf_index"],
        bundle["tree_size"],
        bytes.fromhex(bundle["leaf_hash"]),
        [bytes.fromhex(h) for h in bundle["proof"]],
        bytes.fromhex(checkpoint.root_hash),
    )


# --- portal ------------------------------------------------------------------------------


def test_the_portal_shows_the_receipt_in_plain_words_and_its_proof_once_checkpointed(erased, stored, portal_as, alice):
    receipt = DeletionReceipt.objects.get()
    page = portal_as(alice).get("/portal").content.decode()
    assert f'id="receipt-{erased.id}"' in page
    assert "Everything recorded about you was erased: 7 recorded events in 4 stored chunks." in page
    assert (
        f"The key that encrypted your data (<code>{stored['data_key_id']}</code>) was destroyed on 1 Jun 2026, 12:03 UTC"
        in page
    )
    assert "It was due by 1 Jul 2026, 12:03 UTC and done on 1 Jun 2026, 12:03 UTC" in page
    assert "the deadline was met" in page
    assert f"The audit log records the erasure as entry {receipt.audit_seq}." in page
    assert "It will be provable once the next checkpoint is made." in page
    assert f'href="{API}/{erased.id}/receipt"' in page
    assert "/receipt/proof" not in page  # nothing to prove against yet

    make_checkpoint_task.delay()
    checkpoint = AuditCheckpoint.objects.get()
    page = portal_as(alice).get("/portal").content.decode()
    assert "will be provable" not in page
    assert f"included in the signed checkpoint of {checkpoint.size} entries" in page
    assert checkpoint.root_hash in page
    assert f'href="{API}/{erased.id}/receipt/proof?format=json"' in page


def test_the_portal_shows_nobody_elses_receipt(erased, portal_as, bob, notice):
    page = portal_as(bob).get("/portal").content.decode()
    assert str(erased.id) not in page and "Deletion receipt" not in page


def test_the_database_refuses_a_second_receipt_for_a_request(erased):
    from django.db import IntegrityError, transaction

    first = DeletionReceipt.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        DeletionReceipt.objects.create(
            request=erased, kid=first.kid, jws=first.jws, audit_seq=first.audit_seq, issued_at=first.issued_at
        )
    assert DeletionReceipt.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_workers_issuing_at_once_store_one_receipt(consenting, monkeypatch):
    import threading

    from django.db import connections

    # Hold back the step after commit, so the workers below are the ones that issue.
    monkeypatch.setattr("erasure.tasks.issue_deletion_receipt_task.delay", lambda request_id: None)
    request = erasure_request_create(employee=consenting)
    request.refresh_from_db()
    assert request.status == ErasureRequest.Status.DONE and not DeletionReceipt.objects.exists()
    start, issued, errors = threading.Barrier(4), [], []

    def worker() -> None:
        try:
            start.wait(timeout=30)
            issued.append(deletion_receipt_issue(request_id=request.id).pk)
        except Exception as exc:  # reported below: a thread's exception is otherwise lost
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert DeletionReceipt.objects.count() == 1
    assert issued == [DeletionReceipt.objects.get().pk] * 4
