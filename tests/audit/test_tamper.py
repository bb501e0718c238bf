"""Tampering behind the application's back: refused by the database, found by the verifiers."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from audit import merkle, verify
from audit.guards import guards_suspended
from audit.models import AuditEntry
from audit.verification import audit_log_verify

API = "/api/v1/audit"


def _sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.fixture
def checkpointed(record, monkeypatch):
    """40 entries under a checkpoint, with tree nodes cached for blocks of 4."""
    monkeypatch.setattr("audit.tree.CACHE_LEVEL", 2)
    from audit.services import checkpoint_create

    record(40)
    return checkpoint_create()


@pytest.mark.django_db
def test_a_clean_log_verifies(checkpointed, capsys):
    report = audit_log_verify()
    assert report.ok, report.problems
    assert report.entries_checked == 40 and report.checkpoints_checked == 1
    call_command("verify_audit_log")
    assert "OK: the audit log verifies" in capsys.readouterr().out


@pytest.mark.django_db
def test_altering_an_entry_with_raw_sql_is_refused(checkpointed):
    with pytest.raises(DatabaseError), transaction.atomic():
        _sql("UPDATE audit_auditentry SET detail = %s WHERE seq = 17", ['{"i": 99}'])
    assert audit_log_verify().ok


@pytest.mark.django_db
def test_a_column_changed_with_the_trigger_disabled_is_found(checkpointed):
    with guards_suspended(connection):
        _sql("UPDATE audit_auditentry SET actor = 'user:mallory' WHERE seq = 17")
    report = audit_log_verify()
    assert not report.ok
    assert report.first_bad_seq == 17
    assert report.problems == ["entry seq 17: its actor column differs from its leaf"]
    with pytest.raises(CommandError, match="first bad entry: seq 17"):
        call_command("verify_audit_log")


@pytest.mark.django_db
def test_a_leaf_rewritten_with_the_trigger_disabled_is_found(checkpointed):
    entry = AuditEntry.objects.get(seq=23)
    forged = entry.leaf.replace('"i":23', '"i":0')
    with guards_suspended(connection):
        _sql("UPDATE audit_auditentry SET leaf = %s, detail = %s WHERE seq = 23", [forged, '{"i": 0}'])
    report = audit_log_verify()
    assert report.first_bad_seq == 23
    assert report.problems[0] == "entry seq 23: its leaf bytes do not hash to the stored leaf hash"


@pytest.mark.django_db
def test_a_leaf_rewritten_with_its_hash_is_caught_by_the_checkpoint_and_the_stored_tree(checkpointed):
    entry = AuditEntry.objects.get(seq=23)
    forged = entry.leaf.replace('"i":23', '"i":0')
    with guards_suspended(connection):
        _sql(
            "UPDATE audit_auditentry SET leaf = %s, detail = %s, leaf_hash = %s WHERE seq = 23",
            [forged, '{"i": 0}', merkle.hash_leaf(forged.encode())],
        )
    report = audit_log_verify()
    assert not report.ok
    assert "checkpoint" in report.problems[0] and "one of seq 0..39" in report.problems[0]
    # The cached subtree hashes narrow it to the 4-leaf block 20..23.
    assert any("entries seq 20..23 no longer hash" in p for p in report.problems)
    assert report.first_bad_seq == 20  # the start of the first block that no longer matches


@pytest.mark.django_db
def test_a_removed_entry_is_found(checkpointed):
    with guards_suspended(connection):
        _sql("DELETE FROM audit_auditentry WHERE seq = 5")
    report = audit_log_verify()
    assert report.first_bad_seq == 5
    assert report.problems[0] == "entry seq 5 is missing (the next stored entry is seq 6)"


@pytest.mark.django_db
def test_the_export_verifier_names_an_entry_changed_in_the_database(checkpointed, aaron, api_as, api, tmp_path):
    client = api_as(aaron)
    checkpoint = client.get(f"{API}/checkpoints/latest").json()
    (tmp_path / "cp.json").write_text(json.dumps(checkpoint))
    (tmp_path / "jwks.json").write_text(api.get("/.well-known/jwks.json").content.decode())
    # An auditor keeps an export verified against that checkpoint.
    (tmp_path / "before.jsonl").write_bytes(b"".join(client.get(f"{API}/entries?to_seq=39").streaming_content))
    entry = AuditEntry.objects.get(seq=31)
    forged = entry.leaf.replace('"i":31', '"i":3')
    with guards_suspended(connection):
        _sql("UPDATE audit_auditentry SET leaf = %s WHERE seq = 31", [forged])
    (tmp_path / "after.jsonl").write_bytes(b"".join(client.get(f"{API}/entries?to_seq=39").streaming_content))
    args = [
        "--entries",
        str(tmp_path / "after.jsonl"),
        "--checkpoint",
        str(tmp_path / "cp.json"),
        "--jwks",
        str(tmp_path / "jwks.json"),
    ]
    code, messages = verify.run(args)
    assert code == 1
    assert "do not match" in messages[-2]
    code, messages = verify.run(
        [*args, "--old-checkpoint", str(tmp_path / "cp.json"), "--old-entries", str(tmp_path / "before.jsonl")]
    )
    assert code == 1
    assert messages[-2] == "first bad entry: seq 31 (line 32): differs from the reference export"


@pytest.mark.django_db
def test_no_checkpoint_is_signed_over_a_changed_log(checkpointed, aaron, api_as):
    from audit.models import AuditNode

    with guards_suspended(connection):
        _sql("DELETE FROM audit_auditnode")
        _sql("UPDATE audit_auditentry SET leaf_hash = %s WHERE seq = 2", [b"\x00" * 32])
    assert not AuditNode.objects.exists()
    response = api_as(aaron).post(f"{API}/checkpoints")
    assert response.status_code == 409
    assert response.json()["error"] == "log_inconsistent"
