"""The standalone verifier on real exports: good logs pass, every kind of tampering is named."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from audit import verify

API = "/api/v1/audit"


@pytest.fixture
def log(tmp_path, aaron, api_as, api, record):
    """A log of 30 entries with a checkpoint at 11 and at 31; files as an auditor downloads them."""
    client = api_as(aaron)
    record(10)
    old = client.post(f"{API}/checkpoints").json()
    old_export = b"".join(client.get(f"{API}/entries?format=jsonl").streaming_content)
    record(20)
    new = client.post(f"{API}/checkpoints").json()
    files = {
        "old": tmp_path / "old.json",
        "cp": tmp_path / "cp.json",
        "jwks": tmp_path / "jwks.json",
        "entries": tmp_path / "export.jsonl",
        "old_entries": tmp_path / "old.jsonl",
        "proof": tmp_path / "proof.json",
    }
    files["old"].write_text(json.dumps(old))
    files["cp"].write_text(json.dumps(new))
    files["jwks"].write_text(api.get("/.well-known/jwks.json").content.decode())
    files["entries"].write_bytes(b"".join(client.get(f"{API}/entries?format=jsonl").streaming_content))
    files["old_entries"].write_bytes(old_export)
    files["proof"].write_text(
        json.dumps(client.get(f"{API}/proofs/consistency?first={old['size']}&second={new['size']}").json())
    )
    return files


def run(files, *extra: str, entries: Path | None = None, checkpoint: Path | None = None):
    argv = ["--checkpoint", str(checkpoint or files["cp"]), "--jwks", str(files["jwks"])]
    if entries is not False:
        argv += ["--entries", str(entries or files["entries"])]
    return verify.run([*argv, *extra])


def lines_of(files) -> list[bytes]:
    return files["entries"].read_bytes().splitlines(keepends=True)


def write(tmp_path, lines: list[bytes]) -> Path:
    path = tmp_path / "tampered.jsonl"
    path.write_bytes(b"".join(lines))
    return path


def test_an_untouched_export_verifies(log):
    code, messages = run(log, "--old-checkpoint", str(log["old"]))
    assert code == 0, messages
    assert messages[-1] == "OK"
    assert "entries 0..10 match" in " ".join(messages)


def test_the_command_line_exits_zero_and_names_the_checks(log, capsys):
    assert (
        verify.main(["--entries", str(log["entries"]), "--checkpoint", str(log["cp"]), "--jwks", str(log["jwks"])]) == 0
    )
    assert "OK" in capsys.readouterr().out


def test_a_changed_entry_is_named(log, tmp_path):
    lines = lines_of(log)
    lines[17] = lines[17].replace(b'"notice:6"', b'"notice:66"')
    assert lines[17] != lines_of(log)[17]
    code, messages = run(
        log,
        "--old-checkpoint",
        str(log["old"]),
        "--old-entries",
        str(log["old_entries"]),
        entries=write(tmp_path, lines),
    )
    assert code == 1
    # Only the newer checkpoint covers seq 17, and the line is well formed:
    # the verifier proves the prefix and bounds the change.
    assert "one of seq 11..30" in messages[-2]


def test_a_changed_entry_covered_by_an_older_export_is_pinned_down(log, tmp_path):
    lines = lines_of(log)
    lines[6] = lines[6].replace(b"notice:5", b"notice:0")
    code, messages = run(
        log,
        "--old-checkpoint",
        str(log["old"]),
        "--old-entries",
        str(log["old_entries"]),
        entries=write(tmp_path, lines),
    )
    assert code == 1
    assert messages[-2].startswith("first bad entry: seq 6 (line 7)")


def test_an_edited_line_that_is_no_longer_canonical_is_named(log, tmp_path):
    lines = lines_of(log)
    lines[12] = lines[12].replace(b'"seq":12,', b'"seq": 12,')
    code, messages = run(log, entries=write(tmp_path, lines))
    assert code == 1
    assert messages[-2].startswith("first bad entry: seq 12 (line 13)")
    assert "canonical" in messages[-2]


def test_a_removed_entry_is_named(log, tmp_path):
    lines = lines_of(log)
    del lines[4]
    code, messages = run(log, entries=write(tmp_path, lines))
    assert code == 1
    assert messages[-2].startswith("first bad entry: seq 4 (line 5)")
    assert "removed" in messages[-2]


def test_removing_the_last_entries_is_named(log, tmp_path):
    code, messages = run(log, entries=write(tmp_path, lines_of(log)[:-2]))
    assert code == 1
    assert messages[-2].startswith("first bad entry: seq 29: missing")


def test_reordered_entries_are_named(log, tmp_path):
    lines = lines_of(log)
    lines[8], lines[9] = lines[9], lines[8]
    code, messages = run(log, entries=write(tmp_path, lines))
    assert code == 1
    assert messages[-2].startswith("first bad entry: seq 8 (line 9)")


def test_an_inserted_entry_is_named(log, tmp_path):
    lines = lines_of(log)
    lines.insert(3, lines[2])
    code, messages = run(log, entries=write(tmp_path, lines))
    assert code == 1
    assert messages[-2].startswith("first bad entry: seq 3 (line 4)")
    assert "inserted" in messages[-2]


def test_a_consistency_proof_links_two_checkpoints_without_entries(log):
    code, messages = run(
        log, "--old-checkpoint", str(log["old"]), "--consistency-proof", str(log["proof"]), entries=False
    )
    assert code == 0, messages
    proof = json.loads(log["proof"].read_text())
    proof["proof"][0] = "00" * 32
    log["proof"].write_text(json.dumps(proof))
    code, messages = run(
        log, "--old-checkpoint", str(log["old"]), "--consistency-proof", str(log["proof"]), entries=False
    )
    assert code == 1
    assert "NOT consistent" in messages[-1]


def test_an_export_is_checked_against_the_older_checkpoint_too(log, tmp_path):
    old = json.loads(log["old"].read_text())
    cp = json.loads(log["cp"].read_text())
    assert old["size"] == 11 and cp["size"] == 31


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda cp: {**cp, "size": cp["size"] + 1}, "signature does not verify"),
        (lambda cp: {**cp, "root_hash": "0" * 64}, "signature does not verify"),
        (lambda cp: {**cp, "root_hash": "XYZ"}, "root_hash must be 64 lowercase hex"),
        (lambda cp: {k: v for k, v in cp.items() if k != "kid"}, "lacks kid"),
        (lambda cp: {**cp, "note": "hi"}, "unsigned extra field"),
        (lambda cp: {**cp, "size": "31"}, "size must be an integer"),
        (lambda cp: {**cp, "signature": "!!"}, "not base64url"),
        (lambda cp: {**cp, "signature": "AAAA"}, "64 bytes"),
        (lambda cp: {**cp, "kid": "audit-unknown"}, "no Ed25519 key"),
        (lambda cp: {**cp, "timestamp": "yesterday"}, "timestamp is not RFC 3339"),
        (lambda cp: [cp], "not a JSON object"),
    ],
)
def test_a_malformed_or_wrongly_signed_checkpoint_is_a_clear_error(log, capsys, mutate, message):
    cp = json.loads(log["cp"].read_text())
    log["cp"].write_text(json.dumps(mutate(cp)))
    code = verify.main(["--entries", str(log["entries"]), "--checkpoint", str(log["cp"]), "--jwks", str(log["jwks"])])
    assert code == 2
    assert message in capsys.readouterr().err


def test_unreadable_inputs_are_clear_errors(log, tmp_path, capsys):
    (tmp_path / "bad.json").write_text("{not json")
    assert (
        verify.main(
            ["--entries", str(log["entries"]), "--checkpoint", str(tmp_path / "bad.json"), "--jwks", str(log["jwks"])]
        )
        == 2
    )
    assert "not valid JSON" in capsys.readouterr().err
    assert (
        verify.main(
            ["--entries", str(tmp_path / "missing"), "--checkpoint", str(log["cp"]), "--jwks", str(log["jwks"])]
        )
        == 2
    )
    assert "cannot read" in capsys.readouterr().err


def test_it_runs_with_only_the_standard_library_and_cryptography(log):
    # Django and rfc8785 are made unimportable; the verifier must not need them.
    code = (
        "import sys, runpy; sys.modules['django'] = None; sys.modules['rfc8785'] = None; "
        "sys.argv = ['audit.verify'] + sys.argv[1:]; runpy.run_module('audit.verify', run_name='__main__')"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [
            sys.executable,
            "-c",
            code,
            "--entries",
            str(log["entries"]),
            "--checkpoint",
            str(log["cp"]),
            "--jwks",
            str(log["jwks"]),
        ],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("OK")


def test_every_checkpoint_of_the_log_narrows_a_changed_entry_down(tmp_path, aaron, api_as, api, record):
    client = api_as(aaron)
    for _ in range(6):
        record(1)
        client.post(f"{API}/checkpoints")  # a checkpoint after every entry
    (tmp_path / "all.json").write_text(json.dumps(client.get(f"{API}/checkpoints").json()))
    (tmp_path / "cp.json").write_text(json.dumps(client.get(f"{API}/checkpoints/latest").json()))
    (tmp_path / "jwks.json").write_text(api.get("/.well-known/jwks.json").content.decode())
    lines = b"".join(client.get(f"{API}/entries").streaming_content).splitlines(keepends=True)
    lines[4] = lines[4].replace(b'"i":0', b'"i":7')
    (tmp_path / "bad.jsonl").write_bytes(b"".join(lines))
    code, messages = verify.run(
        [
            "--entries", str(tmp_path / "bad.jsonl"),
            "--checkpoint", str(tmp_path / "cp.json"),
            "--old-checkpoint", str(tmp_path / "all.json"),
            "--jwks", str(tmp_path / "jwks.json"),
        ]
    )  # fmt: skip
    assert code == 1
    assert (
        messages[-2]
        == "first bad entry: seq 4: its content differs from what checkpoint "
        + str(tmp_path / "all.json")
        + "[2] signed"
    )


# --- a checkpoint the auditor kept ---------------------------------------------------------


def _rewrite_and_resign(client, target: str) -> dict:
    """What someone with superuser rights can do: change an entry, drop the checkpoints, sign anew."""
    from django.db import connection

    from audit import merkle
    from audit.guards import guards_suspended
    from audit.models import AuditEntry

    entry = AuditEntry.objects.filter(target=target).order_by("seq").first()
    forged = entry.leaf.replace('"i":3', '"i":33')
    with guards_suspended(connection), connection.cursor() as cursor:
        for statement in (
            "DELETE FROM audit_auditcheckpoint",
            "DELETE FROM audit_auditnode",
            "DELETE FROM audit_audittreestate",
        ):
            cursor.execute(statement)
        cursor.execute(
            "UPDATE audit_auditentry SET leaf = %s, detail = %s, leaf_hash = %s WHERE seq = %s",
            [forged, '{"i": 33}', merkle.hash_leaf(forged.encode()), entry.seq],
        )
    return client.post(f"{API}/checkpoints").json()


@pytest.mark.django_db
def test_a_log_that_extends_the_trusted_checkpoint_verifies(log):
    code, messages = run(log, "--trusted-checkpoint", str(log["old"]))
    assert code == 0, messages
    assert messages[0].startswith(f"trusted checkpoint {log['old']}: signature by audit-")
    assert messages[-1] == "OK"
    code, messages = run(log, "--trusted-checkpoint", str(log["old"]), "--consistency-proof", str(log["proof"]))
    assert code == 0, messages


@pytest.mark.django_db
def test_a_smaller_log_than_the_trusted_checkpoint_is_a_deleted_tail(log):
    code, messages = run(log, "--trusted-checkpoint", str(log["cp"]), checkpoint=log["old"], entries=log["old_entries"])
    old, new = json.loads(log["old"].read_text()), json.loads(log["cp"].read_text())
    assert code == 1
    assert messages[-2] == (
        f"deleted tail: the checkpoint covers {old['size']} entries but trusted checkpoint {log['cp']} covers "
        f"{new['size']}: entries {old['size']}..{new['size'] - 1} were removed (or the log was wiped)"
    )


@pytest.mark.django_db
def test_a_rewritten_history_resigned_at_the_same_size_is_named(log, aaron, api_as, tmp_path):
    forged = _rewrite_and_resign(api_as(aaron), "notice:3")
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    code, messages = run(
        log, "--trusted-checkpoint", str(log["cp"]), checkpoint=tmp_path / "forged.json", entries=False
    )
    assert code == 1
    assert messages[-2].startswith("rewritten history: the checkpoint and trusted checkpoint")


@pytest.mark.django_db
def test_a_rewritten_history_under_a_larger_checkpoint_fails_the_proof_and_the_export(
    log, aaron, api_as, record, tmp_path
):
    client = api_as(aaron)
    record(2)
    forged = _rewrite_and_resign(client, "notice:3")
    trusted = json.loads(log["cp"].read_text())
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    (tmp_path / "proof2.json").write_text(
        json.dumps(client.get(f"{API}/proofs/consistency?first={trusted['size']}&second={forged['size']}").json())
    )
    (tmp_path / "export2.jsonl").write_bytes(b"".join(client.get(f"{API}/entries?format=jsonl").streaming_content))
    base = [
        "--checkpoint",
        str(tmp_path / "forged.json"),
        "--jwks",
        str(log["jwks"]),
        "--trusted-checkpoint",
        str(log["cp"]),
    ]
    code, messages = verify.run([*base, "--consistency-proof", str(tmp_path / "proof2.json")])
    assert code == 1
    assert messages[-2].startswith(f"rewritten history: the checkpoint does not extend trusted checkpoint {log['cp']}")
    code, messages = verify.run([*base, "--entries", str(tmp_path / "export2.jsonl")])
    assert code == 1
    assert f"do not match trusted checkpoint {log['cp']}" in messages[-2]


@pytest.mark.django_db
def test_a_trusted_checkpoint_with_a_bad_signature_is_unusable_input(log, tmp_path):
    document = json.loads(log["old"].read_text())
    (tmp_path / "bad.json").write_text(json.dumps({**document, "size": document["size"] + 1}))
    with pytest.raises(verify.InputError, match="signature does not verify"):
        run(log, "--trusted-checkpoint", str(tmp_path / "bad.json"))
    assert (
        verify.main(
            [
                "--checkpoint",
                str(log["cp"]),
                "--jwks",
                str(log["jwks"]),
                "--entries",
                str(log["entries"]),
                "--trusted-checkpoint",
                str(tmp_path / "bad.json"),
            ]
        )
        == 2
    )
