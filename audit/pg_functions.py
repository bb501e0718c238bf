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

- an append takes its transaction id *before* its queue id (``ENQUEUE``
  reads ``pg_current_xact_id()`` in a subquery that is evaluated before the
  outer ``nextval``; a volatile subquery is never flattened);
- a numbering round reads the next queue id before it has a transaction id
  of its own, then takes one (transaction ids are handed out in order).
  That pair is the **mark**: every id below ``queue_mark`` was taken by a
  transaction whose id is below ``queue_mark_xmax``;
- a later round that sees every transaction below ``queue_mark_xmax``
  ended (its snapshot's ``xmin``) and then, in a newer statement, numbers
  what is visible has numbered every entry below the mark; the floor moves
  up to it.

A long-running transaction only holds the floor back, as it holds back
vacuum.  The steps are separate top-level statements on purpose: READ
COMMITTED gives each a new snapshot, while statements inside a PL/pgSQL
function may run on the snapshot of the statement that called it.
"""

from __future__ import annotations

ENQUEUE = (
    "INSERT INTO audit_auditpending (id, ts, prefix, suffix) "
    "SELECT nextval('audit_auditpending_id_seq'), %s, %s, %s "
    "FROM (SELECT pg_current_xact_id()) AS transaction_id_first"
)

PG_APPEND_FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION audit_number_pending(start_size bigint, floor_id bigint) RETURNS bigint
LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
    moved bigint;
BEGIN
    WITH batch AS (
        SELECT id, ts, seq, prefix || ',"seq":' || seq || suffix AS leaf
        FROM (SELECT id, ts, prefix, suffix, start_size + row_number() OVER (ORDER BY id) - 1 AS seq
              FROM audit_auditpending
              WHERE id >= floor_id) AS numbered
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
DROP FUNCTION IF EXISTS audit_number_pending(bigint, bigint);
DROP FUNCTION IF EXISTS audit_number_pending(bigint);
"""


def install(schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_APPEND_FUNCTIONS)


def uninstall(schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_DROP_APPEND_FUNCTIONS)
