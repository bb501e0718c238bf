"""Encrypted storage: nothing readable at rest or in logs, bound associated data, crypto-shredding."""

from __future__ import annotations

import logging

import pytest
from cryptography.exceptions import InvalidTag

from audit.models import AuditEntry
from collection import crypto
from collection.models import Batch, EventChunk, SubjectKey
from collection.services import subject_data_erase, subject_events
from tests.collection.conftest import batch, ev, typed, upload

pytestmark = pytest.mark.django_db

SENSITIVE = "Quarterly-Zebra-Plan"


@pytest.fixture
def stored(live_token, caplog):
    caplog.set_level(logging.DEBUG)
    events = [ev("key.type", text=f"draft {SENSITIVE}"), ev("window.focus", title=f"{SENSITIVE}.docx"), *typed("zebra")]
    response = upload(live_token, batch(events))
    assert response.status_code == 202
    bad = upload(live_token, batch([ev("key.type", text=SENSITIVE, field={"role": "x", "secure": "yes"})]))
    assert bad.status_code == 400
    echoed = upload(live_token, batch([ev("mouse.down", button=SENSITIVE), {**ev("mouse.move"), "type": SENSITIVE}]))
    assert echoed.status_code == 400 and SENSITIVE not in echoed.content.decode()
    return response.json()


def _all_bytes() -> bytes:
    out = b""
    for row in EventChunk.objects.values_list("ciphertext", "nonce", "app_id", "category"):
        out += b"".join(bytes(v) if isinstance(v, memoryview | bytes) else str(v).encode() for v in row)
    for row in Batch.objects.values_list("response", flat=True):
        out += str(row).encode()
    for row in SubjectKey.objects.values_list("wrapped_key", flat=True):
        out += bytes(row)
    return out


def test_nothing_readable_is_stored_or_logged(stored, caplog):
    data = _all_bytes()
    assert SENSITIVE.encode() not in data and b"zebra" not in data and b"draft" not in data
    assert SENSITIVE not in caplog.text and "zebra" not in caplog.text
    assert SENSITIVE not in "".join(AuditEntry.objects.values_list("leaf", flat=True))


def test_the_data_key_is_stored_only_wrapped(stored, subject, settings):
    wrapped = bytes(SubjectKey.objects.get(subject=subject).wrapped_key)
    assert len(wrapped) == 12 + 32 + 16
    data_key = crypto.unwrap_data_key(wrapped, subject.pseudonym)
    assert data_key not in wrapped
    with pytest.raises(InvalidTag):
        crypto.unwrap_data_key(wrapped, "sub_someone_else")


@pytest.mark.parametrize("field", ["pseudonym", "batch_id", "category", "app_id"])
def test_each_chunk_is_bound_to_its_subject_batch_category_and_app(stored, subject, field):
    chunk = EventChunk.objects.filter(category="keystrokes").get()
    data_key = crypto.unwrap_data_key(SubjectKey.objects.get(subject=subject).wrapped_key, subject.pseudonym)
    bound = {
        "pseudonym": subject.pseudonym,
        "batch_id": str(chunk.batch_id),
        "category": chunk.category,
        "app_id": chunk.app_id,
    }
    assert crypto.decrypt_chunk(data_key, chunk.nonce, chunk.ciphertext, crypto.chunk_aad(**bound))
    moved = {**bound, field: "other"}
    with pytest.raises(InvalidTag):
        crypto.decrypt_chunk(data_key, chunk.nonce, chunk.ciphertext, crypto.chunk_aad(**moved))


def test_a_wrong_master_key_makes_uploads_fail_closed(live_token, settings, tmp_path):
    assert upload(live_token, batch([ev("mouse.move")])).status_code == 202
    other = tmp_path / "other.key"
    other.write_text("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    settings.MASTER_KEY_FILE = other
    response = upload(live_token, batch([ev("mouse.move", 61)]))
    assert response.status_code == 503
    assert EventChunk.objects.count() == 1 and Batch.objects.count() == 1


def test_master_key_is_read_from_configuration(settings):
    import base64

    settings.MASTER_KEY = base64.b64encode(b"k" * 32).decode()
    assert crypto.master_key() == b"k" * 32
    settings.MASTER_KEY = "too-short"
    with pytest.raises(crypto.MasterKeyUnavailable):
        crypto.master_key()


def test_development_creates_a_missing_master_key(settings, tmp_path):
    settings.MASTER_KEY_FILE = tmp_path / "dev" / "master.key"
    settings.MASTER_KEY_AUTOCREATE = True
    key = crypto.master_key()
    assert len(key) == 32 and (tmp_path / "dev" / "master.key").stat().st_mode & 0o777 == 0o600


def test_erasure_destroys_the_key_first_then_the_ciphertext(stored, subject):
    counts = subject_data_erase(subject=subject, actor="system:test", reason="withdrawal")
    assert counts == {"keys_destroyed": 1, "chunks": 2, "events": 12, "batches": 1}
    assert not SubjectKey.objects.exists() and not EventChunk.objects.exists() and not Batch.objects.exists()
    assert subject_events(subject) == []
    steps = list(AuditEntry.objects.filter(action__startswith="collection.erase.").order_by("seq"))
    assert [s.action for s in steps] == ["collection.erase.key_destroyed", "collection.erase.ciphertext_deleted"]
    assert steps[1].detail == {"chunks": 2, "events": 12, "batches": 1, "categories": [], "reason": "withdrawal"}
    assert all(s.target == f"subject:{subject.pseudonym}" for s in steps)


def test_erasure_is_safe_to_repeat_and_new_uploads_get_a_new_key(stored, subject, live_token):
    old = bytes(SubjectKey.objects.get(subject=subject).wrapped_key)
    subject_data_erase(subject=subject)
    assert subject_data_erase(subject=subject) == {"keys_destroyed": 0, "chunks": 0, "events": 0, "batches": 0}
    assert upload(live_token, batch([ev("mouse.move")])).status_code == 202
    assert bytes(SubjectKey.objects.get(subject=subject).wrapped_key) != old


def test_after_key_destruction_remaining_ciphertext_is_unreadable(stored, subject):
    chunk = EventChunk.objects.first()
    SubjectKey.objects.filter(subject=subject).delete()
    assert subject_events(subject) == []
    assert EventChunk.objects.filter(pk=chunk.pk).exists()  # present but undecryptable without the key
