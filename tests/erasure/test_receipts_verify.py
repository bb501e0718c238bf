"""Deletion receipts checked offline: by joserfc with the JWKS alone, and by ``access.verify --receipt`` with the proof."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from joserfc import jws
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet

from audit.tasks import make_checkpoint_task
from erasure.models import DeletionReceipt
from signing.keyring import Purpose, keyring
from tests.erasure.test_receipts import API, claims_of, erased, stored  # noqa: F401  (fixtures)
from tests.lone_copy import ALONE_AND_OK, run_lone_copy

pytestmark = pytest.mark.django_db


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(claims: dict, *, purpose: Purpose = Purpose.ERASURE, key: Ed25519PrivateKey | None = None, **header) -> str:
    """A receipt signed like the service's, by the current key of ``purpose`` unless ``key`` is given."""
    current = keyring(purpose).current()
    protected = {"alg": "EdDSA", "typ": "erasure-receipt+jwt", "kid": current.kid, **header}
    signing_input = f"{b64url(json.dumps(protected).encode())}.{b64url(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64url((key or current.private_key).sign(signing_input.encode()))}"


@pytest.fixture
def files(erased, tmp_path, api, api_as, alice) -> dict[str, Path]:  # noqa: F811
    """The receipt, the JWKS and, after a checkpoint, the proof bundle, as the employee downloads them."""
    make_checkpoint_task.delay()
    client = api_as(alice)
    paths = {name: tmp_path / name for name in ("receipt.jwt", "jwks.json", "proof.json")}
    paths["receipt.jwt"].write_bytes(client.get(f"{API}/{erased.id}/receipt").content)
    paths["jwks.json"].write_bytes(api.get("/.well-known/jwks.json").content)
    proof = client.get(f"{API}/{erased.id}/receipt/proof?format=json")
    assert proof.status_code == 200
    paths["proof.json"].write_bytes(proof.content)
    return {"receipt": paths["receipt.jwt"], "jwks": paths["jwks.json"], "proof": paths["proof.json"]}


def verify(*argv: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "access.verify", *map(str, argv)],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content)
    return path


def test_joserfc_verifies_the_receipt_with_nothing_but_the_jwks(files):
    keys = KeySet.import_key_set(json.loads(files["jwks"].read_text()))
    token = files["receipt"].read_text()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc prefers RFC 9864's "Ed25519"; the receipts use EdDSA like the rest
        result = jws.deserialize_compact(token, keys, algorithms=["EdDSA"])
        assert result.protected["typ"] == "erasure-receipt+jwt"
        assert result.protected["kid"].startswith("erasure-")
        assert json.loads(result.payload)["audit_seq"] == DeletionReceipt.objects.get().audit_seq
        header, payload, signature = token.split(".")
        forged = b64url(json.dumps({**claims_of(token)[1], "deadline_met": False}).encode())
        with pytest.raises(BadSignatureError):
            jws.deserialize_compact(f"{header}.{forged}.{signature}", keys, algorithms=["EdDSA"])


def test_the_standalone_verifier_checks_the_receipt_and_its_inclusion(files, erased):  # noqa: F811
    receipt = DeletionReceipt.objects.get()
    result = verify("--receipt", files["receipt"], "--jwks", files["jwks"], "--proof", files["proof"])
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"receipt: the signature by {receipt.kid} verifies" in out
    assert f"audit log: entry {receipt.audit_seq} is included in the checkpoint of" in out
    assert f"Erasure request {erased.id} (employee_request)" in out
    assert "everything recorded, 7 events in 4 chunks removed" in out
    assert "deadline met" in out
    assert out.rstrip().endswith("VERIFIED: the receipt and its inclusion in the audit log.")


def test_without_the_proof_only_the_receipt_is_verified_and_it_says_so(files):
    result = verify("--receipt", files["receipt"], "--jwks", files["jwks"], "--json")
    assert result.returncode == 0
    report = json.loads(result.stdout)
    assert report["status"] == "verified" and report["inclusion"] is None
    assert "its inclusion in the audit log was not checked" in report["messages"][-1]


def resigned(files, **changes) -> str:
    """The receipt's claims changed and signed again with the real erasure key."""
    return sign({**claims_of(files["receipt"].read_text())[1], **changes})


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (
            lambda f: ".".join(
                [
                    (parts := f["receipt"].read_text().split("."))[0],
                    b64url(json.dumps({**claims_of(f["receipt"].read_text())[1], "events": 0}).encode()),
                    parts[2],
                ]
            ),
            "the receipt's signature does not verify with key",
        ),
        (
            lambda f: sign(claims_of(f["receipt"].read_text())[1], purpose=Purpose.RECEIPTS),
            "which is not an erasure key",
        ),
        (
            lambda f: sign(claims_of(f["receipt"].read_text())[1], typ="consent-receipt+jwt"),
            "the receipt's typ is 'consent-receipt+jwt', not 'erasure-receipt+jwt': it is not a deletion receipt",
        ),
        (
            lambda f: sign(claims_of(f["receipt"].read_text())[1], key=Ed25519PrivateKey.generate()),
            "the receipt's signature does not verify",
        ),
        (lambda f: resigned(f, deadline_met=False), "the receipt's deadline_met is False, but it was completed at"),
        (lambda f: resigned(f, scope="categories"), "the receipt's scope 'categories' contradicts its categories []"),
        (lambda f: resigned(f, events="7"), "the receipt's events must be an integer of 0 or more, not '7'"),
        (lambda f: resigned(f, audit_leaf_hash="0" * 64), "the proof's leaf is not the audit entry the receipt cites"),
        (lambda f: resigned(f, audit_seq=0), "the proof is for audit entry"),
    ],
)
def test_a_tampered_receipt_fails_with_a_clear_message(files, tmp_path, tamper, message):
    forged = write(tmp_path, "forged.jwt", tamper(files))
    result = verify("--receipt", forged, "--jwks", files["jwks"], "--proof", files["proof"])
    assert result.returncode == 1, result.stdout + result.stderr
    assert "DOES NOT VERIFY" in result.stderr and message in result.stderr, result.stderr


def test_a_receipt_whose_claims_disagree_with_the_logged_entry_fails(files, tmp_path):
    # Signed by the real key and citing the real entry, but claiming more was deleted than the log says.
    forged = write(tmp_path, "forged.jwt", resigned(files, events=99))
    result = verify("--receipt", forged, "--jwks", files["jwks"], "--proof", files["proof"])
    assert result.returncode == 1
    assert "the audit entry's detail.events is 7, the receipt says 99" in result.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: {**b, "proof": ["0" * 64, *b["proof"][1:]]}, "does not lead to the checkpoint's root hash"),
        (lambda b: {**b, "leaf": b["leaf"].replace('"events":7', '"events":9')}, "the proof's leaf is not the audit"),
        (
            lambda b: {**b, "checkpoint": {**b["checkpoint"], "root_hash": "f" * 64}},
            "the checkpoint's signature does not verify",
        ),
        (lambda b: {**b, "tree_size": b["tree_size"] + 1}, "the proof is for a tree of"),
        (lambda b: {**b, "proof": [*b["proof"], "0" * 64]}, "the inclusion proof is longer than the tree is high"),
    ],
)
def test_a_tampered_proof_fails_with_a_clear_message(files, tmp_path, change, message):
    bundle = json.loads(files["proof"].read_text())
    assert bundle["proof"], "the log holds more than one entry"
    forged = write(tmp_path, "proof.json", json.dumps(change(bundle)))
    result = verify("--receipt", files["receipt"], "--jwks", files["jwks"], "--proof", forged)
    assert result.returncode == 1, result.stdout + result.stderr
    assert message in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--receipt", "{receipt}", "--export", "x.jsonl"), "--receipt checks a deletion receipt"),
        (("--proof", "{proof}"), "--proof goes with --receipt"),
        ((), "the following arguments are required: --export, --manifest (or --receipt)"),
        (("--receipt", "missing.jwt"), "cannot read the receipt missing.jwt"),
        (("--receipt", "{receipt}", "--proof", "{jwks}"), "the proof lacks leaf_index"),
    ],
)
def test_unusable_input_exits_2(files, argv, message):
    paths = {name: str(path) for name, path in files.items()}
    result = verify(*(a.format(**paths) for a in argv), "--jwks", files["jwks"])
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr


def test_a_completion_recorded_before_receipts_existed_gets_a_receipt_that_verifies(
    stored,  # noqa: F811
    consenting,
    tmp_path,
    api,
    api_as,
):
    from erasure.services import erasure_request_complete, erasure_request_create
    from erasure.tasks import process_erasures_task

    request = erasure_request_create(employee=consenting)
    # As the code before receipts recorded it: counts only, no data key, no deletion time.
    erasure_request_complete(request=request, actor="system:erasure", outcome={"chunks": 4, "events": 7, "batches": 1})
    process_erasures_task.delay()  # the sweep issues the missing receipt
    receipt = DeletionReceipt.objects.get(request=request)
    _, claims = claims_of(receipt.jws)
    assert claims["ciphertext_deleted_at"] == claims["completed_at"]
    assert claims["data_key_id"] is None and claims["data_key_destroyed_at"] is None
    make_checkpoint_task.delay()
    paths = {name: tmp_path / name for name in ("r.jwt", "jwks.json", "proof.json")}
    paths["r.jwt"].write_text(receipt.jws)
    paths["jwks.json"].write_bytes(api.get("/.well-known/jwks.json").content)
    paths["proof.json"].write_bytes(api_as(consenting).get(f"{API}/{request.id}/receipt/proof?format=json").content)
    result = verify("--receipt", paths["r.jwt"], "--jwks", paths["jwks.json"], "--proof", paths["proof.json"])
    assert result.returncode == 0, result.stderr


def test_receipt_mode_runs_from_a_copy_with_only_the_standard_library_and_cryptography(files, tmp_path):
    # Isolated, from a folder holding nothing but a copy of the module: only stdlib and cryptography load.
    argv = ["--receipt", files["receipt"], "--jwks", files["jwks"], "--proof", files["proof"]]
    result = run_lone_copy(Path(settings.BASE_DIR) / "access" / "verify.py", tmp_path / "alone", argv)
    assert result.stdout.strip().endswith(ALONE_AND_OK), result.stdout + result.stderr
