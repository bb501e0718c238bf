"""Recording entries: the leaf format, gap-free numbering, rollback."""

from __future__ import annotations

import json
import re

import pytest
import rfc8785
from django.db import transaction

from audit import merkle
from audit.models import AuditEntry, AuditHead, AuditPending
from audit.services import audit_record


@pytest.mark.django_db
def test_entries_are_numbered_from_zero_with_canonical_leaves(record):
    entries = record(3)
    assert [e.seq for e in entries] == [0, 1, 2]
    first = AuditEntry.objects.get(seq=0)
    leaf = json.loads(first.leaf)
    assert leaf == {
        "seq": 0,
        "ts": first.ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor": "user:olivia",
        "action": "notice.publish",
        "target": "notice:0",
        "detail": {"i": 0},
    }
    assert first.leaf.encode() == rfc8785.dumps(leaf)
    assert first.leaf.startswith(
        '{"action":"notice.publish","actor":"user:olivia","detail":{"i":0},"seq":0,"target":"notice:0","ts":"'
    )
    assert bytes(first.leaf_hash) == merkle.hash_leaf(first.leaf.encode())
    assert AuditHead.objects.get().size == 3


@pytest.mark.django_db
def test_a_user_actor_is_labelled_by_username(aaron):
    assert audit_record(actor=aaron, action="x.y", target="t:1", detail={"ü": "€"}).actor == "user:aaron"
    entry = AuditEntry.objects.get(target="t:1")
    assert entry.actor == "user:aaron"
    assert '"detail":{"ü":"€"}' in entry.leaf


@pytest.mark.django_db
def test_a_rolled_back_change_leaves_no_gap(record):
    record(1)
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor="system", action="x.y", target="t:1")
        raise RuntimeError("the change failed")
    entry = record(1)[0]
    assert entry.seq == 1
    assert list(AuditEntry.objects.values_list("seq", flat=True)) == [0, 1]


@pytest.mark.django_db
def test_an_entry_needs_an_action_and_a_target():
    with pytest.raises(ValueError):
        audit_record(actor="system", action="", target="t")
    with pytest.raises(ValueError):
        audit_record(actor="system", action="a.b", target="")
    assert AuditEntry.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_entries_are_numbered_in_their_transaction_in_the_order_written(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        entries = [audit_record(actor="system:test", action="test.bulk", target=f"test:{n}") for n in range(3)]
        assert all(not hasattr(e, "seq") for e in entries)  # numbered by the database, at commit on PostgreSQL
    assert callbacks == []  # nothing is left for after the commit
    assert list(AuditEntry.objects.values_list("seq", "target")) == [(0, "test:0"), (1, "test:1"), (2, "test:2")]
    assert AuditHead.objects.get().size == 3
    assert not AuditPending.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_entry_that_cannot_be_numbered_fails_its_whole_transaction(alice):
    from accounts.models import User

    AuditHead.objects.all().delete()  # a log whose head row was removed by hand
    with pytest.raises(Exception, match="no head row"), transaction.atomic():
        User.objects.filter(pk=alice.pk).update(first_name="Changed")
        audit_record(actor="system:test", action="test.change", target="user:alice")
    assert User.objects.get(pk=alice.pk).first_name == ""
    assert not AuditEntry.objects.filter(action="test.change").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"actor": "user:" + "x" * 200}, "actor is limited to 200 characters"),
        ({"action": "a." + "b" * 100}, "action is limited to 100 characters"),
        ({"target": "t:" + "9" * 300}, "target is limited to 300 characters"),
        ({"target": "t:\x00"}, "target cannot contain the character U+0000"),
        ({"detail": {"note": "a\x00b"}}, "detail cannot contain the character U+0000"),
        ({"detail": {"k\x00": 1}}, "detail cannot contain the character U+0000"),
        ({"detail": {"n": [1, {"deep": "\\\x00"}]}}, "detail cannot contain the character U+0000"),
    ],
)
def test_what_the_log_could_not_store_is_refused_in_the_callers_transaction(fields, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        audit_record(**{"actor": "system", "action": "a.b", "target": "t:1", **fields})
    assert AuditEntry.objects.count() == 0


@pytest.mark.django_db
def test_text_that_merely_looks_like_an_escaped_nul_is_kept():
    audit_record(actor="system", action="a.b", target="t:1", detail={"note": "\\u0000 is how JSON writes NUL"})
    assert AuditEntry.objects.get().detail == {"note": "\\u0000 is how JSON writes NUL"}
