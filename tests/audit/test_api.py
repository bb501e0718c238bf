"""The audit API: checkpoints, exports and proofs, for auditors only."""

from __future__ import annotations

import base64
import csv
import io
import json

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.test import override_settings

from audit import merkle
from audit.models import AuditCheckpoint, AuditEntry

API = "/api/v1/audit"


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_with_jwks(checkpoint: dict, jwks: dict) -> None:
    """Independent check: the published key of ``kid`` signed the RFC 8785 bytes without ``signature``."""
    jwk = next(k for k in jwks["keys"] if k["kid"] == checkpoint["kid"])
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    body = {k: v for k, v in checkpoint.items() if k != "signature"}
    Ed25519PublicKey.from_public_bytes(_b64url(jwk["x"])).verify(_b64url(checkpoint["signature"]), rfc8785.dumps(body))


def _content(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.django_db
@override_settings(SERVICE_ORIGIN="https://audit.example.test")
def test_an_auditor_makes_a_signed_checkpoint_verifiable_with_the_jwks(aaron, api_as, api, record):
    record(5)  # plus the entry for creating aaron
    response = api_as(aaron).post(f"{API}/checkpoints")
    assert response.status_code == 201
    checkpoint = response.json()
    assert set(checkpoint) == {"origin", "size", "root_hash", "timestamp", "kid", "signature"}
    assert checkpoint["origin"] == "https://audit.example.test"
    assert checkpoint["size"] == AuditEntry.objects.count() == 6
    leaves = [e.leaf.encode() for e in AuditEntry.objects.order_by("seq")]
    assert checkpoint["root_hash"] == merkle.root_from_leaf_hashes([merkle.hash_leaf(x) for x in leaves]).hex()
    assert checkpoint["kid"].startswith("audit-")
    assert checkpoint["timestamp"].endswith("Z")
    jwks = api.get("/.well-known/jwks.json").json()
    verify_with_jwks(checkpoint, jwks)
    # joserfc reads the same key set.
    from joserfc.jwk import KeySet

    assert KeySet.import_key_set(jwks).get_by_kid(checkpoint["kid"])
    latest = api_as(aaron).get(f"{API}/checkpoints/latest")
    assert latest.status_code == 200
    assert latest.json() == checkpoint


@pytest.mark.django_db
def test_latest_checkpoint_is_404_before_the_first(aaron, api_as):
    response = api_as(aaron).get(f"{API}/checkpoints/latest")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@pytest.mark.django_db
def test_checkpoints_are_listed_largest_first(aaron, api_as, record):
    client = api_as(aaron)
    client.post(f"{API}/checkpoints")
    record(2)
    client.post(f"{API}/checkpoints")
    listed = client.get(f"{API}/checkpoints").json()
    assert [c["size"] for c in listed] == [3, 1]
    assert client.get(f"{API}/checkpoints?limit=0").status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["alice", "olivia", "rita", "adam"])
def test_nobody_but_auditors_reads_the_log(persona, request, api_as, record):
    user = request.getfixturevalue(persona)
    client = api_as(user)
    for url in [
        "/entries",
        "/checkpoints/latest",
        "/checkpoints",
        "/proofs/inclusion?seq=0",
        "/proofs/consistency?first=0",
    ]:
        response = client.get(f"{API}{url}")
        assert response.status_code == 403, url
        assert response.json()["error"] == "permission_denied"
    assert client.post(f"{API}/checkpoints").status_code == 403
    assert AuditCheckpoint.objects.count() == 0


@pytest.mark.django_db
def test_anonymous_requests_are_refused(api):
    response = api.get(f"{API}/entries")
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


@pytest.mark.django_db
def test_nobody_can_change_the_log_through_the_api(aaron, adam, api_as, record):
    record(1)
    # The auditor reaches the endpoint and finds no method that writes; the
    # admin is refused before the method is even considered.
    for user, expected in ((aaron, 405), (adam, 403)):
        client = api_as(user)
        for method in ("put", "patch", "delete"):
            assert getattr(client, method)(f"{API}/entries").status_code == expected, (user, method)
        assert client.post(f"{API}/entries", {}, format="json").status_code == expected
    assert AuditEntry.objects.count() == 3


@pytest.mark.django_db
def test_jsonl_export_is_the_exact_leaf_bytes(aaron, api_as, record):
    record(3, detail={"text": "line\nbreak \u2028 é"})
    response = api_as(aaron).get(f"{API}/entries?format=jsonl")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/jsonl"
    assert response.streaming
    body = _content(response)
    expected = b"".join(e.leaf.encode() + b"\n" for e in AuditEntry.objects.order_by("seq"))
    assert body == expected
    assert response["X-Audit-Log-Size"] == "4"


@pytest.mark.django_db
def test_filters_select_entries(aaron, api_as, record):
    record(3)
    record(2, actor="user:oscar", action="allowlist.change", target="app:slack")
    client = api_as(aaron)

    def seqs(query: str) -> list[int]:
        response = client.get(f"{API}/entries?{query}")
        assert response.status_code == 200, response.content
        return [json.loads(line)["seq"] for line in _content(response).splitlines()]

    assert seqs("actor=user:oscar") == [4, 5]
    assert seqs("action=notice.publish") == [1, 2, 3]
    assert seqs("target=app:slack&action=allowlist.change") == [4, 5]
    assert seqs("from_seq=2&to_seq=4") == [2, 3, 4]
    assert seqs("from_seq=6") == []
    first_ts = AuditEntry.objects.get(seq=2).ts
    assert seqs(f"since={first_ts.isoformat().replace('+00:00', 'Z')}&to_seq=3") == [2, 3]
    assert seqs(f"until={first_ts.isoformat().replace('+00:00', 'Z')}") == [0, 1]


@pytest.mark.django_db
def test_csv_export_has_one_row_per_entry(aaron, api_as, record):
    record(2, target='=HYPERLINK("x")')
    response = api_as(aaron).get(f"{API}/entries?format=csv&from_seq=1")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(_content(response).decode())))
    assert rows[0] == ["seq", "ts", "actor", "action", "target", "detail", "leaf_hash"]
    assert [r[0] for r in rows[1:]] == ["1", "2"]
    entry = AuditEntry.objects.get(seq=1)
    assert rows[1][4] == '\'=HYPERLINK("x")'  # not run as a formula
    assert rows[1][5] == '{"i":0}'
    assert rows[1][6] == bytes(entry.leaf_hash).hex()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("colour=red", "unknown_parameter"),
        ("format=xml", "invalid"),
        ("from_seq=99", "from_seq_out_of_range"),
        ("from_seq=-1", "invalid"),
        ("from_seq=abc", "invalid"),
        ("from_seq=3&to_seq=1", "invalid_range"),
        ("to_seq=99999999999999999999999", "invalid"),
        ("since=yesterday", "invalid"),
        ("since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", "invalid_range"),
        ("actor=a&actor=b", "repeated_parameter"),
    ],
)
def test_bad_export_queries_get_clear_errors(aaron, api_as, record, query, code):
    record(2)
    response = api_as(aaron).get(f"{API}/entries?{query}")
    assert response.status_code == 400
    assert response.json()["error"] == code
    assert response.json()["detail"]


@pytest.mark.django_db
def test_inclusion_proofs_verify_against_a_checkpoint(aaron, api_as, record):
    record(20)
    client = api_as(aaron)
    checkpoint = client.post(f"{API}/checkpoints").json()
    for seq in (0, 7, 20):
        proof = client.get(f"{API}/proofs/inclusion?seq={seq}&size={checkpoint['size']}").json()
        assert proof["leaf_index"] == seq
        assert proof["tree_size"] == 21
        assert proof["root_hash"] == checkpoint["root_hash"]
        assert proof["leaf"] == AuditEntry.objects.get(seq=seq).leaf
        leaf_hash = merkle.hash_leaf(proof["leaf"].encode())
        assert proof["leaf_hash"] == leaf_hash.hex()
        merkle.verify_inclusion(
            seq, 21, leaf_hash, [bytes.fromhex(h) for h in proof["proof"]], bytes.fromhex(checkpoint["root_hash"])
        )


@pytest.mark.django_db
def test_consistency_proofs_link_two_checkpoints(aaron, api_as, record):
    client = api_as(aaron)
    record(4)
    old = client.post(f"{API}/checkpoints").json()
    record(9)
    new = client.post(f"{API}/checkpoints").json()
    proof = client.get(f"{API}/proofs/consistency?first={old['size']}&second={new['size']}").json()
    assert (proof["first"], proof["second"]) == (5, 14)
    assert proof["first_root_hash"] == old["root_hash"]
    assert proof["second_root_hash"] == new["root_hash"]
    merkle.verify_consistency(
        5,
        14,
        [bytes.fromhex(h) for h in proof["proof"]],
        bytes.fromhex(old["root_hash"]),
        bytes.fromhex(new["root_hash"]),
    )
    same = client.get(f"{API}/proofs/consistency?first=14&second=14").json()
    assert same["proof"] == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("inclusion?seq=3&size=99", "size_out_of_range"),
        ("inclusion?seq=5&size=5", "seq_out_of_range"),
        ("inclusion?seq=0&size=0", "invalid_size"),
        ("inclusion?size=2", "invalid"),
        ("inclusion?seq=1&extra=1", "unknown_parameter"),
        ("consistency?first=2&second=99", "size_out_of_range"),
        ("consistency?first=5&second=3", "invalid_range"),
        ("consistency?first=-1&second=3", "invalid_size"),
        ("consistency?first=x", "invalid"),
        ("consistency?first=1&second=99999999999999999999999", "invalid"),
    ],
)
def test_proofs_for_sizes_that_do_not_exist_are_clear_errors(aaron, api_as, record, url, code):
    record(5)
    response = api_as(aaron).get(f"{API}/proofs/{url}")
    assert response.status_code == 400, response.content
    assert response.json()["error"] == code
