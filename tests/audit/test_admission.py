"""The database admits entries only through the numbering path, and queues only canonical entries."""

from __future__ import annotations

import json
import uuid

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from audit import merkle
from audit.canonical import canonical_json
from audit.models import AuditEntry, AuditPending
from audit.selectors import log_size
from audit.services import audit_record, checkpoint_create, leaf_parts
from audit.verification import audit_log_verify

TS = "2026-11-30T06:00:00.123456Z"


def _refused(sql: str, params=()) -> str:
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return str(caught.value)


def _forged_row(seq: int) -> list:
    entry = {"action": "notice.publish", "actor": "user:mallory", "detail": {}, "seq": seq, "target": "t:x", "ts": TS}
    leaf = canonical_json(entry).decode()
    return [seq, TS, "user:mallory", "notice.publish", "t:x", "{}", leaf, merkle.hash_leaf(leaf.encode())]


_INSERT_ENTRY = (
    "INSERT INTO audit_auditentry (seq, ts, actor, action, target, detail, leaf, leaf_hash) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)
_INSERT_PENDING = "INSERT INTO audit_auditpending (prefix, suffix) VALUES (%s, %s)"


def _appends_still_work_and_verify(expected_size: int) -> None:
    with transaction.atomic():
        audit_record(actor="system", action="a.after", target="t:after")
    assert log_size() == expected_size + 1
    assert AuditEntry.objects.get(seq=expected_size).action == "a.after"
    checkpoint_create()
    report = audit_log_verify()
    assert report.ok, report.problems


@pytest.mark.django_db
def test_a_well_formed_entry_inserted_directly_at_the_head_is_refused_and_cannot_block_numbering(record):
    record(3)
    message = _refused(_INSERT_ENTRY, _forged_row(3))
    assert "only through audit_auditpending" in message
    assert log_size() == 3 and not AuditEntry.objects.filter(actor="user:mallory").exists()
    _appends_still_work_and_verify(3)


@pytest.mark.django_db
def test_a_row_inserted_directly_past_the_head_or_into_a_gap_is_refused(record):
    record(2)
    for seq in (5, 2):
        assert "only through audit_auditpending" in _refused(_INSERT_ENTRY, _forged_row(seq))
    assert AuditEntry.objects.count() == 2
    _appends_still_work_and_verify(2)


def _pending(prefix: str, suffix: str) -> tuple[str, str]:
    return prefix, suffix


def _good_parts(**detail) -> tuple[str, str]:
    return leaf_parts(actor="user:olivia", action="notice.publish", target="t:1", detail=detail, ts=TS)


def _bad_queue_items() -> dict[str, tuple[str, str]]:
    prefix, suffix = _good_parts(a=1)
    return {
        "whitespace": (prefix.replace(":", ": ", 1), suffix),
        "key order": ('{"actor":"user:olivia","action":"notice.publish","detail":{"a":1}', suffix),
        "detail key order": (prefix.replace('{"a":1}', '{"b":2,"a":1}'), suffix),
        "extra field": (prefix, suffix.replace("}", ',"zz":1}')),
        "missing field": ('{"action":"notice.publish","detail":{"a":1}', suffix),
        "duplicate key": (prefix.replace('{"a":1}', '{"a":1,"a":1}'), suffix),
        "ts with an offset": (prefix, suffix.replace("Z", "+00:00")),
        "ts without microsecond digits": (prefix, suffix.replace(".123456", ".1")),
        "ts not a date": (prefix, suffix.replace(TS, "yesterday")),
        "detail not an object": (prefix.replace('{"a":1}', "[1]"), suffix),
        "actor not a string": (prefix.replace('"user:olivia"', "7"), suffix),
        "empty action": (prefix.replace('"notice.publish"', '""'), suffix),
        "number not canonical": (prefix.replace('{"a":1}', '{"a":1.0}'), suffix),
        "exponent not canonical": (prefix.replace('{"a":1}', '{"a":1E3}'), suffix),
        "integer beyond 2^53": (prefix.replace('{"a":1}', '{"a":9007199254740993}'), suffix),
        "escaped non-ASCII": (prefix.replace('{"a":1}', '{"a":"\\u00e9"}'), suffix),
        "not JSON": (prefix[:-3], suffix),
        # The number's place hidden inside detail: the top-level seq would stay 0.
        "seq inside detail": (
            '{"action":"notice.publish","actor":"user:olivia","detail":{"a":1',
            ',"z":2},"seq":0' + suffix,
        ),
    }


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(_bad_queue_items()))
def test_a_queued_item_that_is_not_a_canonical_entry_is_refused_at_insert_and_never_wedges_the_log(record, case):
    record(2)
    prefix, suffix = _bad_queue_items()[case]
    message = _refused(_INSERT_PENDING, [prefix, suffix])
    assert "audit entry refused" in message or "invalid input syntax for type json" in message, message
    assert not AuditPending.objects.exists()
    assert log_size() == 2
    _appends_still_work_and_verify(2)


@pytest.mark.django_db
def test_the_queue_check_accepts_every_canonical_value_the_service_writes(record):
    detail = {
        "ratio": 0.1,
        "big": 1e21,
        "tiny": -2.5e-7,
        "whole_float": 100.0,
        "max_safe": 2**53 - 1,
        "text": 'é "q" \\ \n\t\x1f\x7f \u2028 😀',
        "é": [True, False, None, {"b": [], "a": {}}],
        "\u00ff": 1,
        "A": -0.0,
    }
    with transaction.atomic():
        audit_record(actor="user:olivia", action="a.values", target="t:values", detail=detail)
    entry = AuditEntry.objects.get()
    assert json.loads(entry.leaf)["detail"]["text"] == detail["text"]
    assert canonical_json(json.loads(entry.leaf)) == entry.leaf.encode()
    checkpoint_create()
    assert audit_log_verify().ok
    call_command("verify_audit_log")


@pytest.mark.django_db
def test_a_direct_insert_of_a_canonical_item_into_the_queue_is_numbered_like_any_append(record):
    record(1)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_INSERT_PENDING, list(_good_parts(a=1)))
    assert log_size() == 2
    assert json.loads(AuditEntry.objects.get(seq=1).leaf)["seq"] == 1
    assert not AuditPending.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgres_a_role_granted_insert_cannot_append_directly_not_even_from_a_trigger_of_its_own(record):
    """Privileges are the first wall (audit/README.md); the admission trigger holds even when they are too wide."""
    record(2)
    role = f"audit_forger_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role}")
        cursor.execute(f"GRANT SELECT, INSERT ON audit_auditentry TO {role}")
        cursor.execute(f"GRANT SELECT, UPDATE ON audit_audithead TO {role}")
        cursor.execute(f"SET ROLE {role}")
    try:
        assert "only through audit_auditpending" in _refused(_INSERT_ENTRY, _forged_row(2))
        # Its own trigger advances the head and inserts: trigger depth 2, but not as the owner.
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE forge (seq text, ts text, actor text, action text, target text, detail text, "
                "leaf text, leaf_hash text)"
            )
            cursor.execute(
                "CREATE FUNCTION pg_temp.forge() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "UPDATE audit_audithead SET size = size + 1 WHERE id = 1; "
                "INSERT INTO audit_auditentry (seq, ts, actor, action, target, detail, leaf, leaf_hash) "
                "VALUES (NEW.seq::bigint, NEW.ts::timestamptz, NEW.actor, NEW.action, NEW.target, NEW.detail::jsonb, "
                "NEW.leaf, decode(NEW.leaf_hash, 'hex')); RETURN NULL; END $$"
            )
            cursor.execute("CREATE TRIGGER forge AFTER INSERT ON forge FOR EACH ROW EXECUTE FUNCTION pg_temp.forge()")
        row = _forged_row(2)
        row[-1] = row[-1].hex()
        message = _refused("INSERT INTO forge VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", row)
        assert "only through audit_auditpending" in message
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
    assert log_size() == 2 and not AuditEntry.objects.filter(actor="user:mallory").exists()
    _appends_still_work_and_verify(2)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "number",
    [1e-7, 0.000001, 123456.789, 5e-324, 1.7976931348623157e308, 1e21, 1.5e300, -1e-300, 9007199254740991.0, 2.5],
)
def test_numbers_are_checked_exactly_as_rfc8785_writes_them(number):
    with transaction.atomic():
        audit_record(actor="system", action="a.number", target="t:n", detail={"n": number})
    leaf = AuditEntry.objects.get().leaf
    assert json.loads(leaf)["detail"]["n"] == number


@pytest.mark.django_db
def test_an_integer_the_verifiers_would_refuse_is_refused_in_the_writers_transaction():
    # rfc8785 writes the float 1e20 as 100000000000000000000, which the verifiers read as an
    # integer beyond 2**53 and refuse; the database refuses it first.
    with pytest.raises(DatabaseError, match="audit entry refused"), transaction.atomic():
        audit_record(actor="system", action="a.number", target="t:n", detail={"n": 1e20})
    assert log_size() == 0 and not AuditPending.objects.exists()
