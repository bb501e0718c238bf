"""The auditor's console as a ledger: lines in words, filters, freshness, named downloads, proofs bundles."""

from __future__ import annotations

import html
import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit import selectors
from audit.actions import AuditAction
from audit.ledger import describe
from audit.models import AuditEntry
from audit.services import checkpoint_create

API = "/api/v1/audit/entries"


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def ledger(record):
    """A small log with one entry of each kind the ledger has a sentence for (seq 1..5)."""
    with time_machine.travel(datetime(2026, 11, 30, 14, 5, tzinfo=UTC), tick=False):
        record(
            actor="user:alice",
            action=AuditAction.DEVICE_ENROLL,
            target="subject:sub_alice",
            detail={"device_id": "d-1", "platform": "macos"},
        )
        record(
            actor="user:rita",
            action=AuditAction.DATASET_EXPORTED,
            target="grant:7",
            detail={"grant": "7", "requester": "rita", "subjects": 12, "events": 40112},
        )
        record(
            actor="user:olivia",
            action=AuditAction.NOTICE_PUBLISHED,
            target="notice:3",
            detail={"old": None, "new": {"version": 3}, "superseded_versions": [2]},
        )
        record(
            actor="system:erasure",
            action=AuditAction.ERASURE_CIPHERTEXT_DELETED,
            target="subject:sub_x",
            detail={"chunks": 3, "events": 4024, "batches": 1, "categories": [], "reason": "erasure"},
        )
        record(actor="user:oscar", action="retention.obsolete_thing", target="category:mouse", detail={})


LINES = [
    "alice's device enrolled (macos)",
    "export of grant 7 by rita: 12 subjects, 40,112 events",
    "olivia published notice v3",
    "Automatic erasure job deleted 4,024 events of sub_x",
    "retention.obsolete_thing: category mouse",
]


@pytest.mark.django_db
def test_each_entry_is_one_line_in_words(ledger):
    entries = list(AuditEntry.objects.order_by("seq"))[-5:]
    assert [describe(e) for e in entries] == LINES


@pytest.mark.django_db
def test_system_actors_are_named_in_words_and_unknown_jobs_plainly(record):
    (entry,) = record(actor="system:nightly-thing", action=AuditAction.ACCOUNT_CREATE, target="user:bob", detail={})
    assert describe(entry) == "An automatic job of this service created the account of bob"
    (entry,) = record(actor="system:retention", action=AuditAction.GRANT_EXPIRED, target="grant:4", detail={})
    assert describe(entry) == "Dataset grant expired: grant 4"


@pytest.mark.django_db
def test_the_console_shows_the_lines_with_the_exact_fields_on_demand(aaron, portal_as, ledger):
    page = portal_as(aaron).get(reverse("audit:console"))
    text = _text(page)
    assert page.status_code == 200
    for line in LINES:
        assert f"<summary>{line}</summary>" in text
    # One date format, with its time zone.
    assert "<td>30 Nov 2026, 14:05 UTC</td>" in text
    # The exact fields under each line: seq, the action code, the target, the detail as indented JSON.
    assert text.count("<details>") == 6  # five entries and the one for creating aaron
    assert "<dt>action</dt><dd><code>dataset.exported</code></dd>" in text
    assert "<dt>target</dt><dd><code>grant:7</code></dd>" in text
    assert '"events": 40112,\n  "grant": "7"' in text


@pytest.mark.django_db
def test_the_console_page_costs_the_same_queries_for_50_entries_as_for_5(aaron, portal_as, record, ledger):
    client = portal_as(aaron)
    client.get(reverse("audit:console"))  # verifies the small log once; the report is then cached
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("audit:console"), {"family": "device"})
    record(60, actor="user:bob", action=AuditAction.DEVICE_ENROLL, target="subject:sub_b", detail={"platform": "linux"})
    with CaptureQueriesContext(connection) as many:
        page = client.get(reverse("audit:console"), {"family": "device"})
    assert _text(page).count("<summary>bob's device enrolled (linux)</summary>") == 50
    assert len(many) == len(few)


@pytest.mark.django_db
def test_the_console_filters_by_family_from_a_list(aaron, portal_as, ledger):
    client = portal_as(aaron)
    page = _text(client.get(reverse("audit:console")))
    assert '<select name="family" id="id_family">' in page
    assert '<option value="grant">Dataset grants</option>' in page
    assert '<option value="dataset">Dataset exports</option>' in page
    assert '<option value="collection">Captured data (reads and deletions)</option>' in page

    filtered = _text(client.get(reverse("audit:console"), {"family": "dataset"}))
    assert "<summary>export of grant 7 by rita: 12 subjects, 40,112 events</summary>" in filtered
    assert filtered.count("<summary>") == 1
    assert "family=dataset" in filtered and "format=proofs" in filtered

    bad = _text(client.get(reverse("audit:console"), {"family": "nonsense"}))
    assert "Select a valid choice. nonsense is not one of the available choices." in bad
    assert "<summary>" not in bad


@pytest.mark.django_db
def test_the_api_filters_by_family_and_refuses_an_unknown_one(aaron, api_as, ledger, record):
    record(actor="user:x", action="grantish.thing", target="t", detail={})  # not the "grant" family
    client = api_as(aaron)
    response = client.get(API, {"family": "grant", "format": "jsonl"})
    assert response.status_code == 200 and _body(response) == b""
    response = client.get(API, {"family": "dataset"})
    lines = _body(response).decode().splitlines()
    assert [json.loads(line)["action"] for line in lines] == ["dataset.exported"]

    response = client.get(API, {"family": "nonsense"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid"
    assert response.json()["fields"] == {"family": ['"nonsense" is not a valid choice.']}


@pytest.mark.django_db
def test_the_family_filter_is_documented_in_the_schema(api_as, aaron):
    schema = api_as(aaron).get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    params = {p["name"]: p for p in schema.json()["paths"][API]["get"]["parameters"]}
    assert "grant" in params["family"]["schema"]["enum"]
    assert "proofs" in params["format"]["schema"]["enum"]
    assert "only a full export" in params["format"]["description"]


def _days(record):
    for day in (1, 2, 3):
        with time_machine.travel(datetime(2026, 11, day, 23, 59, tzinfo=UTC), tick=False):
            record(actor="user:olivia", action=AuditAction.NOTICE_CREATED, target=f"notice:{day}", detail={})


@pytest.mark.django_db
def test_the_console_filters_by_whole_utc_days_from_a_date_picker(aaron, portal_as, record):
    _days(record)
    client = portal_as(aaron)
    page = _text(client.get(reverse("audit:console")))
    assert '<input type="date" name="since"' in page and '<input type="date" name="until"' in page

    one_day = _text(client.get(reverse("audit:console"), {"since": "2026-11-02", "until": "2026-11-02"}))
    assert "<summary>olivia drafted notice 2</summary>" in one_day
    assert one_day.count("<summary>") == 1
    # The downloads carry the same whole day.
    assert "until=2026-11-03T00%3A00%3A00%2B00%3A00" in one_day


@pytest.mark.django_db
def test_a_download_is_named_by_its_seq_range_or_its_days(aaron, api_as, record):
    record(6)
    _days(record)
    client = api_as(aaron)
    for fmt in ("jsonl", "csv"):
        response = client.get(API, {"from_seq": 2, "to_seq": 4, "format": fmt})
        assert response["Content-Disposition"] == f'attachment; filename="audit-log-seq-2-4.{fmt}"'
    response = client.get(API, {"family": "notice", "from_seq": 7})
    assert response["Content-Disposition"] == 'attachment; filename="audit-log-notice-seq-7-9.jsonl"'
    response = client.get(API, {"since": "2026-11-02T00:00:00Z", "until": "2026-11-04T00:00:00Z", "format": "csv"})
    assert response["Content-Disposition"] == 'attachment; filename="audit-log-2026-11-02-to-2026-11-03.csv"'
    response = client.get(API, {"actor": "nobody"})
    assert response["Content-Disposition"] == 'attachment; filename="audit-log-empty.jsonl"'


@pytest.mark.django_db
def test_the_verification_panel_says_how_far_the_log_has_grown_since_it_was_checked(aaron, portal_as, record):
    record(3)
    client = portal_as(aaron)
    client.post(reverse("audit:console"), {"action": "checkpoint"})
    with time_machine.travel(datetime(2026, 11, 30, 10, 2, tzinfo=UTC), tick=False):
        client.post(reverse("audit:console"), {"action": "verify"})
    record(2)
    page = _text(client.get(reverse("audit:console")))
    assert "Checked at 30 Nov 2026, 10:02 UTC over 4 entries; the log has 6 now — 2 entries since." in page
    assert "Verify now" in page

    client.post(reverse("audit:console"), {"action": "verify"})
    again = _text(client.get(reverse("audit:console")))
    assert "over 6 entries; nothing has been added since." in again


def _proofs_bundle(aaron, api_as, tmp_path, **params):
    client = api_as(aaron)
    response = client.get(API, {**params, "format": "proofs"})
    assert response.status_code == 200, response.content
    bundle = tmp_path / "selection.proofs.jsonl"
    bundle.write_bytes(_body(response))
    jwks = tmp_path / "jwks.json"
    jwks.write_bytes(client.get(reverse("jwks")).content)
    return response, bundle, jwks


def _verify(*argv) -> subprocess.CompletedProcess[str]:
    # Django and rfc8785 are made unimportable: the verifier needs the standard library and cryptography only.
    code = (
        "import sys, runpy; sys.modules['django'] = None; sys.modules['rfc8785'] = None; "
        "sys.argv = ['audit.verify'] + sys.argv[1:]; runpy.run_module('audit.verify', run_name='__main__')"
    )
    return subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-c", code, *map(str, argv)],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.django_db
def test_a_filtered_selection_with_proofs_verifies_on_its_own(aaron, api_as, ledger, record, tmp_path):
    record(40)  # other entries, so the selection is scattered through the tree
    record(actor="user:rita", action=AuditAction.DATASET_EXPORTED, target="grant:8", detail={"subjects": 1})
    checkpoint = checkpoint_create()
    record(actor="user:rita", action=AuditAction.DATASET_EXPORTED, target="grant:9", detail={})  # after it

    response, bundle, jwks = _proofs_bundle(aaron, api_as, tmp_path, family="dataset")
    lines = bundle.read_text().splitlines()
    assert json.loads(lines[0]) == checkpoint.document()
    assert [json.loads(line)["seq"] for line in lines[1:]] == [2, 46]  # grant:9 is newer than the checkpoint
    assert response["Content-Disposition"] == 'attachment; filename="audit-log-dataset-seq-2-46.proofs.jsonl"'

    result = _verify("--proofs", bundle, "--jwks", jwks)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-2:] == ["2 entries: each is included in the checkpoint's tree", "OK"]

    # One changed figure in one entry: named by line and seq, and the bundle fails.
    lines[1] = lines[1].replace("40112", "40113")
    bundle.write_text("\n".join(lines) + "\n")
    result = _verify("--proofs", bundle, "--jwks", jwks)
    assert result.returncode == 1
    assert "line 2 (seq 2): the leaf does not hash to its leaf_hash (the entry was changed)" in result.stderr
    assert result.stderr.splitlines()[-1] == "FAILED"


@pytest.mark.django_db
def test_a_proofs_bundle_whose_proof_was_swapped_fails_naming_the_line(aaron, api_as, ledger, tmp_path):
    checkpoint_create()
    _, bundle, jwks = _proofs_bundle(aaron, api_as, tmp_path, from_seq=1, to_seq=2)
    lines = [json.loads(line) for line in bundle.read_text().splitlines()]
    lines[2]["proof"] = lines[1]["proof"]
    bundle.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = _verify("--proofs", bundle, "--jwks", jwks)
    assert result.returncode == 1
    assert "line 3 (seq 2): the inclusion proof does not verify against the checkpoint" in result.stderr


@pytest.mark.django_db
def test_proofs_need_a_checkpoint_and_a_selection_within_the_cap(aaron, api_as, record, monkeypatch):
    record(4)
    client = api_as(aaron)
    response = client.get(API, {"format": "proofs"})
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "No checkpoint has been made yet."}

    checkpoint_create()
    monkeypatch.setattr(selectors, "PROOFS_MAX_ENTRIES", 3)
    response = client.get(API, {"format": "proofs"})
    assert response.status_code == 400
    assert response.json()["error"] == "selection_too_large"
    assert response.json()["detail"].startswith("Proofs are given for at most 3 entries")
    assert client.get(API, {"format": "proofs", "from_seq": 2}).status_code == 200


def test_the_existing_verifier_cli_still_requires_a_checkpoint_without_proofs(tmp_path):
    result = _verify("--entries", tmp_path / "x.jsonl", "--jwks", tmp_path / "jwks.json")
    assert result.returncode == 2
    assert "the following arguments are required: --checkpoint" in result.stderr
