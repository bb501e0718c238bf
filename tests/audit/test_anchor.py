"""Verification needs an anchor: a checkpoint, ideally one the auditor holds."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from audit import merkle
from audit.guards import guards_suspended
from audit.models import AuditCheckpoint, AuditEntry
from audit.services import checkpoint_create

API = "/api/v1/audit"


def _sql(*statements: str, params=()) -> None:
    with guards_suspended(connection), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement, params)


def _verify(*args: str) -> str:
    call_command("verify_audit_log", *args)
    return ""


def _refused(*args: str) -> CommandError:
    with pytest.raises(CommandError) as caught:
        call_command("verify_audit_log", *args)
    return caught.value


def _held_checkpoint(client, path) -> dict:
    """What an auditor keeps: the latest checkpoint as the API serves it."""
    document = client.get(f"{API}/checkpoints/latest").json()
    path.write_text(json.dumps(document))
    return document


_WIPE_CHECKPOINTS = (
    "DELETE FROM audit_auditcheckpoint",
    "DELETE FROM audit_auditnode",
    "DELETE FROM audit_audittreestate",
)


@pytest.mark.django_db
def test_a_non_empty_log_without_any_checkpoint_is_not_called_verified(record, capsys):
    record(3)
    error = _refused()
    assert str(error) == (
        "the audit log does NOT verify: no checkpoint: cannot vouch for entries 0..2; no signed checkpoint "
        "covers them (sign one, or verify against a checkpoint you hold)"
    )
    assert "OK" not in capsys.readouterr().out


@pytest.mark.django_db
def test_deleting_every_checkpoint_is_noticed(record):
    record(3)
    checkpoint_create()
    _verify()
    _sql(*_WIPE_CHECKPOINTS)
    assert "no checkpoint: cannot vouch for entries 0..2" in str(_refused())


@pytest.mark.django_db
def test_an_emptied_log_with_its_checkpoints_left_is_named_wiped(record):
    record(4)
    checkpoint = checkpoint_create()
    _sql("DELETE FROM audit_auditentry", "UPDATE audit_audithead SET size = 0")
    error = _refused()
    assert str(error) == (
        f"the audit log does NOT verify; first bad entry: seq 0: wiped: the log is empty but checkpoint "
        f"{checkpoint.pk} covers 4 entries"
    )


@pytest.mark.django_db
def test_entries_past_the_last_checkpoint_are_reported_as_not_yet_covered(record, capsys):
    record(3)
    checkpoint_create()
    record(2)
    _verify()
    out = capsys.readouterr().out
    assert "entries 3..4 are not yet covered by a checkpoint" in out
    assert "OK: the audit log verifies (entries 0..2 vouched for)" in out


@pytest.fixture
def held(record, aaron, api_as, tmp_path):
    """Ten entries under a checkpoint the auditor downloaded and kept in ``cp.json``."""
    record(10)
    checkpoint_create()
    client = api_as(aaron)
    document = _held_checkpoint(client, tmp_path / "cp.json")
    return {"path": str(tmp_path / "cp.json"), "document": document, "size": document["size"]}


@pytest.mark.django_db
def test_a_log_that_extends_the_held_checkpoint_verifies_against_it(held, record, capsys):
    record(2)
    _verify("--trusted-checkpoint", held["path"])
    out = capsys.readouterr().out
    assert f"against the trusted checkpoint of size {held['size']}" in out
    assert "OK: the audit log verifies" in out


@pytest.mark.django_db
def test_a_wiped_log_and_checkpoints_pass_alone_but_not_against_the_held_checkpoint(held, capsys):
    _sql("DELETE FROM audit_auditentry", "UPDATE audit_audithead SET size = 0", *_WIPE_CHECKPOINTS)
    _verify()  # nothing left in the database says anything was ever there
    assert "OK: the audit log is empty" in capsys.readouterr().out
    error = _refused("--trusted-checkpoint", held["path"])
    assert f"wiped: the log is empty but the trusted checkpoint (size {held['size']}," in str(error)
    assert error.returncode == 1


@pytest.mark.django_db
def test_a_deleted_tail_is_named_against_the_held_checkpoint(held):
    size = held["size"]
    _sql("DELETE FROM audit_auditentry WHERE seq >= 6", "UPDATE audit_audithead SET size = 6", *_WIPE_CHECKPOINTS)
    checkpoint_create()  # the forger signs a fresh checkpoint over what is left
    _verify()
    error = _refused("--trusted-checkpoint", held["path"])
    assert f"deleted tail: the log has 6 entries but the trusted checkpoint (size {size}," in str(error)
    assert f"entries 6..{size - 1} were removed" in str(error)


@pytest.mark.django_db
def test_a_rewritten_history_with_fresh_checkpoints_is_named_against_the_held_checkpoint(held):
    entry = AuditEntry.objects.get(target="notice:4")
    forged = entry.leaf.replace('"i":4', '"i":40')
    _sql(*_WIPE_CHECKPOINTS)
    _sql(
        "UPDATE audit_auditentry SET leaf = %s, detail = %s, leaf_hash = %s WHERE seq = %s",
        params=[forged, '{"i": 40}', merkle.hash_leaf(forged.encode()), entry.seq],
    )
    checkpoint_create()
    _verify()  # the database alone has been made consistent again
    error = _refused("--trusted-checkpoint", held["path"])
    assert f"rewritten history: the stored entries 0..{held['size'] - 1} do not hash to the root of" in str(error)
    assert f"the first changed entry is one of seq 0..{held['size'] - 1}" in str(error)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: {**d, "size": d["size"] + 1}, "the signature does not verify"),
        (lambda d: {**d, "kid": "audit-unknown"}, "signed with 'audit-unknown', which is not an audit key"),
        (lambda d: {**d, "origin": "https://elsewhere.example"}, "is from 'https://elsewhere.example'"),
        (lambda d: {k: v for k, v in d.items() if k != "signature"}, "lacks signature"),
    ],
)
def test_an_unusable_held_checkpoint_is_refused_with_exit_status_2(held, tmp_path, change, message):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(change(held["document"])))
    error = _refused("--trusted-checkpoint", str(bad))
    assert message in str(error)
    assert error.returncode == 2


@pytest.mark.django_db
def test_a_held_checkpoint_signed_with_another_purposes_key_is_refused(held, tmp_path):
    import rfc8785

    from signing.keyring import Purpose, b64url, keyring

    key = keyring(Purpose.DATASETS).current()
    body = {k: v for k, v in held["document"].items() if k != "signature"} | {"kid": key.kid}
    (tmp_path / "other.json").write_text(json.dumps({**body, "signature": b64url(key.sign(rfc8785.dumps(body)))}))
    error = _refused("--trusted-checkpoint", str(tmp_path / "other.json"))
    assert str(error) == f"the trusted checkpoint is signed with {key.kid!r}, which is not an audit key"
    assert error.returncode == 2


@pytest.mark.django_db
def test_a_held_checkpoint_that_is_not_json_is_refused(held, tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    error = _refused("--trusted-checkpoint", str(tmp_path / "bad.json"))
    assert str(error).endswith("bad.json is not valid JSON") and error.returncode == 2


# --- the console --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_console_does_not_call_a_log_without_checkpoint_verified(aaron, portal_as, record):
    record(3)
    page = portal_as(aaron).get(reverse("audit:console"))
    assert b"Does NOT verify" in page.content
    assert b"no checkpoint: cannot vouch for entries 0..3" in page.content  # + the auditor's sign-in entry


@pytest.mark.django_db
def test_the_console_verifies_against_a_pasted_checkpoint_and_names_a_rewrite(held, aaron, portal_as):
    client = portal_as(aaron)
    pasted = json.dumps(held["document"])
    page = client.post(reverse("audit:console"), {"action": "verify_trusted", "checkpoint": pasted}, follow=True)
    assert f"The stored log extends your checkpoint (size {held['size']})".encode() in page.content
    entry = AuditEntry.objects.get(target="notice:2")
    forged = entry.leaf.replace('"i":2', '"i":20')
    _sql(*_WIPE_CHECKPOINTS)
    _sql(
        "UPDATE audit_auditentry SET leaf = %s, detail = %s, leaf_hash = %s WHERE seq = %s",
        params=[forged, '{"i": 20}', merkle.hash_leaf(forged.encode()), entry.seq],
    )
    checkpoint_create()
    with open(held["path"], "rb") as upload:
        page = client.post(
            reverse("audit:console"), {"action": "verify_trusted", "checkpoint_file": upload}, follow=True
        )
    assert f"does NOT match your checkpoint (size {held['size']})".encode() in page.content
    assert b"rewritten history: the stored entries 0.." in page.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("pasted", "message"),
    [
        ("", b"Checkpoint refused: paste or upload a checkpoint"),
        ("{nope", b"Checkpoint refused: the checkpoint is not valid JSON"),
        ('{"size": 1}', b"Checkpoint refused: the trusted checkpoint lacks"),
        ("x" * 20000, b"Checkpoint refused: the pasted text is too large to be a checkpoint"),
    ],
)
def test_the_console_refuses_an_unusable_checkpoint_and_keeps_nothing(aaron, portal_as, record, pasted, message):
    record(1)
    client = portal_as(aaron)
    page = client.post(reverse("audit:console"), {"action": "verify_trusted", "checkpoint": pasted}, follow=True)
    assert page.status_code == 200
    assert message in page.content
    assert "audit:console:trusted-verification" not in client.session
    assert not AuditCheckpoint.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["alice", "olivia", "rita", "adam"])
def test_other_roles_cannot_verify_against_a_checkpoint(persona, request, portal_as, held):
    client = portal_as(request.getfixturevalue(persona))
    response = client.post(reverse("audit:console"), {"action": "verify_trusted", "checkpoint": "{}"})
    assert response.status_code == 403
