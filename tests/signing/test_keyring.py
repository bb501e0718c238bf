"""Signing key rings: creation, rotation, publication in the JWKS."""

import io
import stat
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command

from audit.models import AuditEntry
from signing.keyring import Purpose, find_public_key, jwks, keyring

pytestmark = pytest.mark.django_db


def test_a_ring_is_created_on_first_use_with_a_private_file(settings):
    key = keyring(Purpose.COLLECTION).current()
    pem = settings.SIGNING_KEY_DIR / "collection" / f"{key.kid}.pem"
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    assert key.kid.startswith("collection-")


def test_each_purpose_has_its_own_key_in_the_jwks():
    kids = {k["kid"] for k in jwks()["keys"]}
    assert {kid.split("-")[0] for kid in kids} == {"collection", "receipts", "audit", "datasets", "erasure"}


def test_rotation_keeps_the_previous_key_published_and_is_audited():
    old = keyring(Purpose.COLLECTION).current()
    out = io.StringIO()
    call_command("rotate_signing_key", "--purpose", "collection", stdout=out)
    new = keyring(Purpose.COLLECTION).current()
    assert new.kid != old.kid and new.kid in out.getvalue()
    kids = {k["kid"] for k in jwks()["keys"]}
    assert {old.kid, new.kid} <= kids
    assert find_public_key(old.kid).public_bytes() == old.public_bytes()
    entry = AuditEntry.objects.get(action="key.rotate")
    assert entry.detail == {"purpose": "collection", "new_kid": new.kid, "previous_kid": old.kid}


def test_a_retired_collection_key_is_withdrawn_after_tokens_it_signed_expired(settings):
    old = keyring(Purpose.COLLECTION).current()
    keyring(Purpose.COLLECTION).rotate()
    later = old.created_at + timedelta(seconds=settings.SIGNING_KEY_RETIRED_TTL_SECONDS + 60)
    with time_machine.travel(later):
        assert old.kid not in {k["kid"] for k in jwks()["keys"]}
        assert find_public_key(old.kid) is None


def test_retired_receipt_and_audit_keys_stay_published_for_good():
    old = keyring(Purpose.AUDIT).current()
    keyring(Purpose.AUDIT).rotate()
    with time_machine.travel(old.created_at + timedelta(days=3650)):
        assert old.kid in {k["kid"] for k in jwks()["keys"]}


def test_unknown_kids_are_not_found():
    assert find_public_key("nonsense") is None
    assert find_public_key("collection-doesnotexist") is None


def test_a_rotation_that_cannot_be_audited_changes_no_key(monkeypatch, settings):
    from signing.services import signing_key_rotate

    before = keyring(Purpose.COLLECTION).current()
    files = sorted((settings.SIGNING_KEY_DIR / "collection").glob("*.pem"))

    def audit_down(**kwargs):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr("signing.services.audit_record", audit_down)
    with pytest.raises(RuntimeError):
        signing_key_rotate(actor="system:test", purpose="collection")
    assert keyring(Purpose.COLLECTION).current().kid == before.kid
    assert sorted((settings.SIGNING_KEY_DIR / "collection").glob("*.pem")) == files
    assert not AuditEntry.objects.filter(action="key.rotate").exists()
