"""Dataset exports: consent re-checked at every export, per-grant pseudonyms, audit before data, signed manifests."""

from __future__ import annotations

import gzip
import hashlib
import json
import warnings

import pytest
from joserfc import jws
from joserfc.jwk import KeySet

from access.models import Export
from audit.models import AuditEntry
from consent.models import ConsentNotice, Subject
from consent.services import consent_withdraw
from erasure.services import erasure_request_create
from tests.access.conftest import BROWSER, EDITOR, mouse_session, request_body
from tests.conftest import make_user

API = "/api/v1/access"
pytestmark = pytest.mark.django_db


def download(client, grant_id, **headers):
    response = client.get(f"{API}/grants/{grant_id}/export", **headers)
    assert response.status_code == 200, getattr(response, "content", b"")
    body = b"".join(response.streaming_content)
    return response, body


def lines(body: bytes) -> list[dict]:
    return [json.loads(line) for line in body.decode().splitlines()]


def verified_manifest(api, token: str) -> dict:
    """Verify the manifest with joserfc (not the signing library) and nothing but the JWKS."""
    keys = KeySet.import_key_set(api.get("/.well-known/jwks.json").json())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc prefers RFC 9864's "Ed25519"; the contract fixes EdDSA
        result = jws.deserialize_compact(token, keys, algorithms=["EdDSA"])
    assert result.protected["typ"] == "dataset-manifest+jwt"
    return json.loads(result.payload)


def test_the_holder_downloads_a_pseudonymised_ordered_dataset_with_a_signed_manifest(granted, api_as, api, rita):
    response, body = download(api_as(rita), granted["id"])
    rows = lines(body)
    assert len(rows) == 24
    assert {r["type"] for r in rows} == {"mouse.move", "mouse.down"}
    keys = [(r["subject"], r["timestamp"]) for r in rows]
    assert keys == sorted(keys)  # by subject, then time
    assert len({r["subject"] for r in rows}) == 6
    stored = set(Subject.objects.values_list("pseudonym", flat=True))
    text = body.decode()
    assert not any(p in text for p in stored) and "emp" not in text and "rita" not in text
    export = Export.objects.get()
    assert response["X-Export-Id"] == str(export.id)
    manifest_url = f"{API}/exports/{export.id}/manifest"
    assert response["Link"].startswith(f"<{manifest_url}>")
    manifest = api_as(rita).get(manifest_url)
    assert manifest.status_code == 200 and manifest["Content-Type"] == "application/jwt"
    claims = verified_manifest(api, manifest.content.decode())
    assert claims["sha256"] == hashlib.sha256(body).hexdigest()
    assert claims["events"] == 24 and claims["subjects"] == 6
    assert claims["grant"] == granted["id"] and claims["purpose"] == "agent-training"
    assert claims["categories"] == ["clicks", "mouse"] and claims["apps"] == sorted([EDITOR, BROWSER])
    entry = AuditEntry.objects.get(seq=claims["audit_seq"])
    assert entry.action == "dataset.exported" and entry.actor == "user:rita"
    assert entry.detail["export"] == str(export.id) and entry.detail["events"] == 24


def test_episodes_split_a_subjects_run_in_one_app_at_gaps_over_five_minutes(
    capture, employees, submit, approve, api_as, rita
):
    capture(employees[0], mouse_session(60, 3) + mouse_session(60 + 400, 2) + mouse_session(70, 2, app=BROWSER))
    grant = approve(submit()["id"])["grant"]
    rows = lines(download(api_as(rita), grant["id"])[1])
    editor = [r["episode"] for r in rows if r["app"] == EDITOR]
    browser = [r["episode"] for r in rows if r["app"] == BROWSER]
    assert len(set(editor[:3])) == 1 and len(set(editor[3:])) == 1 and editor[0] != editor[3]
    assert len(set(browser)) == 1 and browser[0] not in editor


def test_pseudonyms_are_stable_within_a_grant_and_unrelated_across_grants(granted, submit, approve, api_as, rita):
    first = {r["subject"] for r in lines(download(api_as(rita), granted["id"])[1])}
    again = {r["subject"] for r in lines(download(api_as(rita), granted["id"])[1])}
    other_grant = approve(submit()["id"])["grant"]
    other = {r["subject"] for r in lines(download(api_as(rita), other_grant["id"])[1])}
    assert first == again
    assert len(other) == 6 and not first & other


def test_a_withdrawal_excludes_the_subject_from_the_very_next_export_and_is_propagated(
    granted, api_as, rita, employees
):
    before = lines(download(api_as(rita), granted["id"])[1])
    leaving = employees[0]
    consent_withdraw(employee=leaving, categories=["mouse"])
    after = lines(download(api_as(rita), granted["id"])[1])
    assert len(after) == len(before) - 3  # the leaver's mouse moves go; their clicks stay
    listed = api_as(rita).get(f"{API}/grants/{granted['id']}/withdrawals").json()
    first, second = listed["exports"]
    assert [d["reason"] for d in first["departures"]] == ["withdrawn"]
    assert second["departures"] == []  # the second export no longer held those events
    assert listed["unacknowledged"] == 1
    gone = first["departures"][0]["subject"]
    assert gone in {r["subject"] for r in before if r["type"] == "mouse.move"}
    ack = api_as(rita).post(f"{API}/grants/{granted['id']}/withdrawals/ack")
    assert ack.status_code == 201 and ack.json()["pseudonyms"] == 1
    assert api_as(rita).get(f"{API}/grants/{granted['id']}/withdrawals").json()["unacknowledged"] == 0
    assert AuditEntry.objects.filter(action="grant.withdrawals_acknowledged").count() == 1


def test_an_erasure_request_is_propagated_even_while_consent_stays(granted, api_as, rita, employees):
    download(api_as(rita), granted["id"])
    erasure_request_create(employee=employees[1])
    listed = api_as(rita).get(f"{API}/grants/{granted['id']}/withdrawals").json()
    assert [d["reason"] for d in listed["exports"][0]["departures"]] == ["erasure_requested"]


def test_a_subject_who_consented_under_a_notice_without_the_purpose_is_left_out(
    capture, employees, notice, olivia, submit, approve, api_as, rita
):
    for employee in employees[:2]:
        capture(employee, mouse_session(60))
    grant = approve(submit()["id"])["grant"]  # for "agent-training", a purpose of v1
    ConsentNotice.objects.create(
        version=2,
        status=ConsentNotice.Status.PUBLISHED,
        title="Research only",
        summary="s",
        purposes=[{"id": "usability-research", "description": "Research."}],
        categories=["mouse"],
        retention_days={"mouse": 90},
        access="a",
        rights="r",
        contact="c",
        created_by=olivia,
        published_by=olivia,
        published_at=notice.published_at,
    )
    late = make_user("late", "employee")
    capture(late, mouse_session(90), categories=["mouse"], version=2)  # v2 does not name "agent-training"
    rows = lines(download(api_as(rita), grant["id"])[1])
    assert len({r["subject"] for r in rows}) == 2 and len(rows) == 6


def test_exports_need_a_live_grant_held_by_the_caller(granted, api_as, rita, olivia):
    other = make_user("ruth", "requester")
    assert api_as(other).get(f"{API}/grants/{granted['id']}/export").status_code == 404
    assert api_as(olivia).get(f"{API}/grants/{granted['id']}/export").status_code == 403
    revoked = api_as(olivia).post(
        f"{API}/grants/{granted['id']}/revoke", {"reason": "The project was cancelled."}, format="json"
    )
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    refused = api_as(rita).get(f"{API}/grants/{granted['id']}/export")
    assert refused.status_code == 403 and refused.json()["error"] == "grant_revoked"
    assert not Export.objects.exists()


def test_an_export_is_audited_before_any_byte_and_a_failed_audit_serves_nothing(granted, api_as, rita, monkeypatch):
    import access.services.exports as exports

    def broken(**kwargs):
        raise RuntimeError("the audit log is unavailable")

    monkeypatch.setattr(exports, "audit_record", broken)
    client = api_as(rita)
    client.raise_request_exception = False
    response = client.get(f"{API}/grants/{granted['id']}/export")
    assert response.status_code == 500
    assert not Export.objects.exists()
    assert not AuditEntry.objects.filter(action="dataset.exported").exists()


def test_gzip_when_the_client_accepts_it_and_the_hash_is_of_the_uncompressed_bytes(granted, api_as, api, rita):
    response, body = download(api_as(rita), granted["id"], HTTP_ACCEPT_ENCODING="gzip, deflate")
    assert response["Content-Encoding"] == "gzip"
    plain = gzip.decompress(body)
    export = Export.objects.get()
    claims = verified_manifest(api, api_as(rita).get(f"{API}/exports/{export.id}/manifest").content.decode())
    assert claims["sha256"] == hashlib.sha256(plain).hexdigest() and len(lines(plain)) == 24


def test_no_manifest_for_an_export_that_was_not_downloaded_to_the_end(granted, api_as, rita):
    from access.models import Grant
    from access.services import export_begin

    stream = export_begin(actor=rita, grant=Grant.objects.get(pk=granted["id"]))
    stream.chunks.close()  # the client went away before reading anything
    export = Export.objects.get()
    assert export.audit_seq is not None  # audited all the same
    refused = api_as(rita).get(f"{API}/exports/{export.id}/manifest")
    assert refused.status_code == 409 and refused.json()["error"] == "export_incomplete"


def test_a_request_for_keystrokes_exports_typed_text_only_as_stored(
    capture, employees, submit, approve, api_as, oscar, rita
):
    from tests.access.conftest import typed

    capture(employees[0], typed("hi", at=60))
    request = submit(categories=["keystrokes"], apps=[EDITOR])
    approve(request["id"])
    grant = approve(request["id"], officer=oscar)["grant"]
    rows = lines(download(api_as(rita), grant["id"])[1])
    assert [r["key_char"] for r in rows if r["type"] == "key.down"] == ["h", "i"]
    assert request_body()["purpose"] == "agent-training"


def test_an_expired_grant_exports_nothing_even_before_the_beat_job_ends_it(
    captured, submit, approve, api_as, rita, frozen
):
    from datetime import timedelta

    from access.models import Grant

    grant = approve(submit()["id"], grant_days=1)["grant"]
    frozen.move_to(Grant.objects.get(pk=grant["id"]).expires_at + timedelta(seconds=1), tick=False)
    refused = api_as(rita).get(f"{API}/grants/{grant['id']}/export")
    assert refused.status_code == 403 and refused.json()["error"] == "grant_expired"
    assert Grant.objects.get(pk=grant["id"]).status == "active"  # the beat job has not run: the check is at use
    assert not Export.objects.exists()


def test_without_the_master_key_nothing_is_exported_and_the_caller_is_told(granted, api_as, rita, settings):
    from collection import crypto

    settings.MASTER_KEY_FILE = settings.MASTER_KEY_FILE.parent / "missing.key"
    crypto._master_cache.clear()
    refused = api_as(rita).get(f"{API}/grants/{granted['id']}/export")
    assert refused.status_code == 503 and refused.json()["error"] == "storage_unavailable"
    assert not Export.objects.exists()
    assert not AuditEntry.objects.filter(action="dataset.exported").exists()
