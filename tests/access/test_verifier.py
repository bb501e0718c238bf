"""The standalone dataset verifier on real downloads: good datasets pass, every kind of tampering is named."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings

from signing.keyring import Purpose, keyring
from tests.access.conftest import EDITOR, UNTIL
from tests.lone_copy import ALONE_AND_OK, run_lone_copy

API = "/api/v1/access"
DURING = (UNTIL + timedelta(days=1)).isoformat().replace("+00:00", "Z")  # the grant runs 30 days from UNTIL
pytestmark = pytest.mark.django_db


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def sign(claims: dict, *, key: Ed25519PrivateKey | None = None, **header) -> str:
    """A manifest signed like the service's (by its datasets key unless ``key`` is given)."""
    current = keyring(Purpose.DATASETS).current()
    protected = {"alg": "EdDSA", "typ": "dataset-manifest+jwt", "kid": current.kid, **header}
    signing_input = f"{b64url(json.dumps(protected).encode())}.{b64url(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64url((key or current.private_key).sign(signing_input.encode()))}"


def fetch(tmp_path: Path, client, api, grant_id: str, name: str, **headers) -> dict[str, Path]:
    """Export, manifest and JWKS saved as a client that does not decode the transfer encoding saves them."""
    response = client.get(f"{API}/grants/{grant_id}/export", **headers)
    assert response.status_code == 200
    files = {
        "export": tmp_path / f"{name}.jsonl",
        "manifest": tmp_path / f"{name}.jwt",
        "jwks": tmp_path / "jwks.json",
    }
    files["export"].write_bytes(b"".join(response.streaming_content))
    files["manifest"].write_bytes(client.get(f"{API}/exports/{response['X-Export-Id']}/manifest").content)
    files["jwks"].write_bytes(api.get("/.well-known/jwks.json").content)
    return files


@pytest.fixture
def dataset(tmp_path, granted, api_as, api, rita) -> dict[str, Path]:
    """24 events of 6 subjects under an agent-training grant, with their manifest and the JWKS."""
    return fetch(tmp_path, api_as(rita), api, granted["id"], "dataset")


def verify(files, *extra: str, now: str | None = DURING, **paths: Path | str) -> subprocess.CompletedProcess:
    """``python -m access.verify`` in a subprocess, as a dataset's recipient runs it."""
    given = {**files, **paths}
    argv = ["--export", str(given["export"]), "--manifest", str(given["manifest"]), "--jwks", str(given["jwks"])]
    if now is not None:
        argv += ["--now", now]
    return subprocess.run(
        [sys.executable, "-m", "access.verify", *argv, *extra],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def lines_of(files) -> list[bytes]:
    return files["export"].read_bytes().splitlines(keepends=True)


def write(tmp_path: Path, name: str, content: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def test_a_downloaded_dataset_verifies_and_says_what_it_may_be_used_for(dataset, granted):
    claims = claims_of(dataset["manifest"].read_text())
    result = verify(dataset)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "export: 24 events of 6 subjects; SHA-256 matches the manifest" in out
    assert "for the purpose 'agent-training': categories clicks, mouse" in out
    assert f"under grant {granted['id']} (request {claims['request']})" in out
    assert f"entry seq {claims['audit_seq']}" in out
    assert f"VERIFIED: usable until {claims['expires_at']}" in out
    assert claims["expires_at"] == "2026-07-01T14:00:00Z"


def test_json_output_for_machines(dataset):
    result = verify(dataset, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["exit_status"] == 0 and report["status"] == "verified" and report["problem"] is None
    assert report["manifest"]["purpose"] == "agent-training"
    assert report["export"] == {
        "gzip": False,
        "sha256": report["manifest"]["sha256"],
        "events": 24,
        "subjects": 6,
    }


def test_an_export_saved_still_gzip_compressed_verifies(tmp_path, granted, api_as, api, rita):
    files = fetch(tmp_path, api_as(rita), api, granted["id"], "packed", HTTP_ACCEPT_ENCODING="gzip")
    assert files["export"].read_bytes()[:2] == b"\x1f\x8b"
    result = verify(files)
    assert result.returncode == 0, result.stderr
    assert "export (saved gzip-compressed): 24 events of 6 subjects" in result.stdout
    cut = write(tmp_path, "cut.jsonl.gz", files["export"].read_bytes()[:-12])
    result = verify(files, export=cut)
    assert result.returncode == 1
    assert "gzip-compressed but the stream is damaged or cut short" in result.stderr


def test_a_changed_line_fails_the_hash(dataset, tmp_path):
    lines = lines_of(dataset)
    assert b'"x":1.0' in lines[1]
    lines[1] = lines[1].replace(b'"x":1.0', b'"x":1.5')
    result = verify(dataset, export=write(tmp_path, "changed.jsonl", b"".join(lines)))
    assert result.returncode == 1
    assert "DOES NOT VERIFY: the export's SHA-256 is " in result.stderr
    assert "the file is not the dataset the manifest describes" in result.stderr


def test_a_removed_line_fails_and_the_count_is_named(dataset, tmp_path):
    lines = lines_of(dataset)
    del lines[3]
    result = verify(dataset, export=write(tmp_path, "removed.jsonl", b"".join(lines)))
    assert result.returncode == 1
    assert "SHA-256" in result.stderr and "it has 23 lines, the manifest says 24 events" in result.stderr


def test_a_reordered_pair_of_lines_is_named(dataset, tmp_path):
    lines = lines_of(dataset)
    lines[0], lines[1] = lines[1], lines[0]
    result = verify(dataset, export=write(tmp_path, "reordered.jsonl", b"".join(lines)))
    assert result.returncode == 1
    assert "SHA-256" in result.stderr and "first bad line: line 2: out of order" in result.stderr


def test_a_tampered_payload_fails_the_signature(dataset, tmp_path):
    # A forger shortens the dataset and fixes the manifest's hash and counts to match.
    lines = lines_of(dataset)[3:]
    head, payload, signature = dataset["manifest"].read_text().split(".")
    claims = {
        **claims_of(dataset["manifest"].read_text()),
        "events": 21,
        "sha256": hashlib.sha256(b"".join(lines)).hexdigest(),
    }
    forged = f"{head}.{b64url(json.dumps(claims).encode())}.{signature}"
    result = verify(
        dataset,
        export=write(tmp_path, "short.jsonl", b"".join(lines)),
        manifest=write(tmp_path, "forged.jwt", forged),
    )
    assert result.returncode == 1
    assert "the manifest's signature does not verify with key 'datasets-" in result.stderr


@pytest.mark.parametrize(
    ("kid", "message"),
    [
        (None, "signature does not verify with key 'datasets-"),  # the published kid, another key
        ("datasets-0000000000000000", "the JWKS publishes no key 'datasets-0000000000000000'"),
    ],
)
def test_a_manifest_signed_by_a_key_not_in_the_jwks_fails(dataset, tmp_path, kid, message):
    claims = claims_of(dataset["manifest"].read_text())
    header = {"kid": kid} if kid else {}
    token = sign(claims, key=Ed25519PrivateKey.generate(), **header)
    result = verify(dataset, manifest=write(tmp_path, "other.jwt", token))
    assert result.returncode == 1
    assert message in result.stderr


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ({"typ": "JWT"}, "the manifest's typ is 'JWT', not 'dataset-manifest+jwt'"),
        ({"alg": "none"}, "the manifest's alg is 'none', not 'EdDSA'"),
        ({"crit": ["b64"], "b64": False}, "marks ['b64'] critical"),
    ],
)
def test_a_validly_signed_token_that_is_not_a_dataset_manifest_fails(dataset, tmp_path, header, message):
    token = sign(claims_of(dataset["manifest"].read_text()), **header)
    result = verify(dataset, manifest=write(tmp_path, "typ.jwt", token))
    assert result.returncode == 1
    assert message in result.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda c: {k: v for k, v in c.items() if k not in ("audit_seq", "since")},
            "the manifest lacks since, audit_seq",
        ),
        (lambda c: {**c, "events": "24"}, "the manifest's events must be an integer of 0 or more"),
        (lambda c: {**c, "sha256": c["sha256"].upper()}, "the manifest's sha256 must be 64 lowercase hex digits"),
        (lambda c: {**c, "expires_at": "next month"}, "the manifest's expires_at must be an RFC 3339 time"),
        (lambda c: {**c, "apps": []}, "the manifest's apps must be a non-empty list of strings"),
        (lambda c: {**c, "events": 25}, "it has 24 lines, the manifest says 25 events"),
        (lambda c: {**c, "subjects": 5}, "it has 6 subjects, the manifest says 5"),
        (lambda c: {**c, "apps": [EDITOR]}, "line 4: app 'org.mozilla.firefox' is not one of the manifest's apps"),
        (
            lambda c: {**c, "until": "2026-06-01T12:05:00Z"},
            "is outside the manifest's [since, until)",
        ),
        (lambda c: {**c, "until": c["since"]}, "the manifest's since is not before its until"),
    ],
)
def test_a_signed_manifest_that_does_not_describe_the_file_names_the_field(dataset, tmp_path, change, message):
    token = sign(change(claims_of(dataset["manifest"].read_text())))
    result = verify(dataset, manifest=write(tmp_path, "changed.jwt", token))
    assert result.returncode == 1
    assert message in result.stderr


def test_after_the_grant_expired_the_dataset_must_be_deleted(dataset):
    claims = claims_of(dataset["manifest"].read_text())
    result = verify(dataset, now=claims["expires_at"])
    assert result.returncode == 1
    assert "purpose 'agent-training'" in result.stderr  # still says what it was
    assert f"EXPIRED: the grant expired at {claims['expires_at']}; the dataset must be deleted" in result.stderr
    report = json.loads(verify(dataset, "--json", now="2026-07-02T00:00:00+02:00").stdout)
    assert report["exit_status"] == 1 and report["status"] == "expired"


def test_without_now_expiry_is_judged_at_the_current_time(dataset):
    # The subprocess reads the real clock; so does the escape hatch while the test's time is frozen.
    hatch = time_machine.escape_hatch
    real_now = hatch.time.time() if hatch.is_travelling() else time.time()
    expired = real_now >= datetime(2026, 7, 1, 14, tzinfo=UTC).timestamp()
    result = verify(dataset, "--json", now=None)
    assert json.loads(result.stdout)["status"] == ("expired" if expired else "verified")


@pytest.mark.parametrize(
    ("paths", "extra", "message"),
    [
        ({"export": "missing.jsonl"}, (), "cannot read the export"),
        ({"manifest": "missing.jwt"}, (), "cannot read the manifest"),
        ({"jwks": "missing.json"}, (), "cannot read the JWKS"),
        ({"manifest": ("nope.jwt", "hello")}, (), "the manifest is not a JWS in compact serialization"),
        ({"manifest": ("two.jwt", "eyJhbGciOiJFZERTQSJ9.e30")}, (), "not a JWS in compact serialization"),
        ({"manifest": ("bad.jwt", "a.b!.c")}, (), "not a JWS in compact serialization"),
        ({"jwks": ("jwks.txt", "{keys")}, (), "is not valid JSON"),
        ({"jwks": ("list.json", '{"keys": 1}')}, (), 'the JWKS is not a JSON object with a "keys" list'),
        ({}, ("--now", "yesterday"), "'yesterday' is not an RFC 3339 time"),
    ],
)
def test_unusable_inputs_exit_2(dataset, tmp_path, paths, extra, message):
    given = {
        name: write(tmp_path, *value) if isinstance(value, tuple) else tmp_path / value for name, value in paths.items()
    }
    result = verify({**dataset, **given}, *extra)
    assert result.returncode == 2
    assert message in result.stderr


def test_a_jwks_key_with_a_broken_x_is_unusable_and_json_still_reports(dataset, tmp_path):
    jwks = json.loads(dataset["jwks"].read_text())
    for key in jwks["keys"]:
        key["x"] = "***"
    result = verify(dataset, "--json", jwks=write(tmp_path, "broken.json", json.dumps(jwks)))
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert report["status"] == "unusable" and 'has an invalid "x"' in report["problem"]
    result = verify(dataset, "--json", now="soon")
    assert result.returncode == 2
    assert json.loads(result.stdout)["problem"] == "argument --now: 'soon' is not an RFC 3339 time"


def test_it_runs_from_a_copy_with_only_the_standard_library_and_cryptography(dataset, tmp_path):
    # Isolated, from a folder holding nothing but a copy of the module: only stdlib and cryptography load.
    argv = ["--export", dataset["export"], "--manifest", dataset["manifest"], "--jwks", dataset["jwks"]] + [
        "--now",
        DURING,
    ]
    result = run_lone_copy(Path(settings.BASE_DIR) / "access" / "verify.py", tmp_path / "alone", argv)
    assert result.stdout.strip().endswith(ALONE_AND_OK), result.stdout + result.stderr
