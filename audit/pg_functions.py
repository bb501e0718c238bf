"""The append path on PostgreSQL: a queue, numbered in rounds.

An append is one INSERT into the queue (``audit_auditpending``) in the
caller's transaction (``ENQUEUE``); it never waits for another writer.
Numbering rounds (``audit.sequencing``) lock the log's head row for a
moment and move everything committed in the queue into the log, oldest
first, with ``audit_number_pending`` (installed by migrations).

Finding queued entries without scanning the dead ones
-----------------------------------------------------
Numbered entries are deleted from the queue, and until autovacuum comes by
(once a minute at best) their dead rows stay in the table.  Under load that
is hundreds of thousands of rows, so a scan of the whole table would cost
milliseconds per round.  Every lookup therefore starts at a **floor**: an
id below which every queued entry is already numbered, kept in the head
row, so it reads only the index range above it.

Queue ids are taken from a sequence when the row is inserted, not when it
commits, so an entry with a small id can become visible after larger ones
were numbered.  The floor may only pass an id once the transaction that
took it has ended:

- an append takes its transaction id *before* its queue id: ``ENQUEUE``
  takes the id from ``audit_queue_id()``, a PL/pgSQL function (never
  inlined) that calls ``pg_current_xact_id()`` and then ``nextval``.  (In
  plain SQL the planner may drop a ``pg_current_xact_id()`` whose value is
  unused, since it is STABLE, and the transaction id would then be taken
  by the heap insert, after ``nextval``);
- a numbering round reads the next queue id before it has a transaction id
  of its own, then takes one (transaction ids are handed out in order).
  That pair is the **mark**: every id below ``queue_mark`` was taken by a
  transaction whose id is below ``queue_mark_xmax``;
- a later round that sees every transaction below ``queue_mark_xmax``
  ended (its snapshot's ``xmin``) and then, in a newer statement, numbers
  what is visible has numbered every entry below the mark; the floor moves
  up to it.

A long-running transaction only holds the floor back, as it holds back
vacuum.  The queue's id sequence must keep ``CACHE 1`` and must never go
backwards; a round that finds the next id below the floor (a sequence reset
by hand, a migration that did not carry the sequence over) says so loudly
and scans the whole queue again from id 0.  A round numbers at most
``NUMBER_BATCH`` entries and moves the floor only when it emptied what it
could see.  The steps are separate top-level statements on purpose: READ
COMMITTED gives each a new snapshot, while statements inside a PL/pgSQL
function may run on the snapshot of the statement that called it.
"""

from __future__ import annotations

ENQUEUE = (
    "INSERT INTO audit_auditpending (id, ts, prefix, suffix) "
    "VALUES (audit_queue_id(%(prefix)s, %(suffix)s), %(ts)s, %(prefix)s, %(suffix)s)"
)

# Entries moved per round at most; audit.sequencing repeats rounds while they move.
NUMBER_BATCH = 5000

PG_APPEND_FUNCTIONS = r"""
-- The id of an entry about to be queued.  First the transaction id (see
-- audit/pg_functions.py), then a check that the entry can be numbered later,
-- so that nothing queued can hold up the rounds after it; then the id.
CREATE OR REPLACE FUNCTION audit_queue_id(prefix text, suffix text) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    entry jsonb;
BEGIN
    PERFORM pg_current_xact_id();
    entry := (prefix || ',"seq":0' || suffix)::jsonb;
    IF NOT (char_length(entry ->> 'actor') <= 200 AND char_length(entry ->> 'action') <= 100
            AND char_length(entry ->> 'target') <= 300 AND jsonb_typeof(entry -> 'detail') = 'object') THEN
        RAISE EXCEPTION 'audit entry cannot be stored: a field is too long, missing or of the wrong type'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN nextval('audit_auditpending_id_seq');
END;
$$;
DROP FUNCTION IF EXISTS audit_next_queue_id();
ALTER TABLE audit_auditpending DROP CONSTRAINT IF EXISTS audit_pending_storable;
DROP FUNCTION IF EXISTS audit_pending_storable(text, text);

DROP FUNCTION IF EXISTS audit_number_pending(bigint, bigint);
CREATE OR REPLACE FUNCTION audit_number_pending(start_size bigint, floor_id bigint, batch_size bigint) RETURNS bigint
LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
    moved bigint;
BEGIN
    WITH batch AS (
        SELECT id, ts, seq, prefix || ',"seq":' || seq || suffix AS leaf
        FROM (SELECT id, ts, prefix, suffix, start_size + row_number() OVER (ORDER BY id) - 1 AS seq
              FROM audit_auditpending
              WHERE id >= floor_id
              ORDER BY id
              LIMIT batch_size) AS numbered
    ), inserted AS (
        -- The filter columns are read back from the leaf itself.
        INSERT INTO audit_auditentry (seq, ts, actor, action, target, detail, leaf, leaf_hash)
        SELECT seq, ts, entry->>'actor', entry->>'action', entry->>'target', entry->'detail',
               leaf, sha256('\x00'::bytea || convert_to(leaf, 'UTF8'))
        FROM (SELECT seq, ts, leaf, leaf::jsonb AS entry FROM batch) AS parsed
        RETURNING seq
    ), removed AS (
        DELETE FROM audit_auditpending WHERE id IN (SELECT id FROM batch)
    )
    SELECT count(*) INTO moved FROM inserted;
    RETURN start_size + moved;
END;
$$;

DROP FUNCTION IF EXISTS audit_append(timestamptz, text, text, text, jsonb, text, text);
"""

PG_DROP_APPEND_FUNCTIONS = """
DROP FUNCTION IF EXISTS audit_sequence(boolean);
DROP FUNCTION IF EXISTS audit_append(timestamptz, text, text, text, jsonb, text, text);
DROP FUNCTION IF EXISTS audit_number_pending(bigint, bigint, bigint);
DROP FUNCTION IF EXISTS audit_number_pending(bigint, bigint);
DROP FUNCTION IF EXISTS audit_number_pending(bigint);
DROP FUNCTION IF EXISTS audit_queue_id(text, text);
DROP FUNCTION IF EXISTS audit_next_queue_id();
ALTER TABLE audit_auditpending DROP CONSTRAINT IF EXISTS audit_pending_storable;
DROP FUNCTION IF EXISTS audit_pending_storable(text, text);
"""


def install(schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_APPEND_FUNCTIONS)


def uninstall(schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_DROP_APPEND_FUNCTIONS)
