"""The append path on PostgreSQL, as PL/pgSQL functions (installed by migrations).

``audit_append`` is the one round trip of an append.  If nobody holds the
log's head row and nothing is queued, it locks the head row until the
caller's transaction ends and numbers the entry at once.  Otherwise it
writes the entry to the queue (``audit_auditpending``) without waiting for
anybody's commit.  ``audit_number_pending`` moves queued entries into the
log; ``audit.sequencing`` runs it in short rounds of its own.

Finding queued entries without scanning the dead ones
-----------------------------------------------------
Numbered entries are deleted from the queue, and until autovacuum comes by
(once a minute at best) their dead rows stay in the table.  Under load that
is hundreds of thousands of rows, so a scan of the whole table would cost
milliseconds per append.  Every lookup therefore starts at a **floor**: an
id below which every queued entry is already numbered, kept in the head
row, so it reads only the index range above it.

Queue ids are taken from a sequence when the row is inserted, not when it
commits, so an entry with a small id can become visible after larger ones
were numbered.  The floor may only pass an id once the transaction that
took it has ended:

- an append takes its transaction id *before* its queue id;
- a numbering round (``audit.sequencing``) reads the next queue id before
  it has a transaction id of its own, then takes one (transaction ids are
  handed out in order).  That pair is the **mark**: every id below
  ``queue_mark`` was taken by a transaction whose id is below
  ``queue_mark_xmax``;
- a later round that sees every transaction below ``queue_mark_xmax``
  ended (its snapshot's ``xmin``) and then, in a newer statement, numbers
  what is visible has numbered every entry below the mark; the floor moves
  up to it.

A long-running transaction only holds the floor back, as it holds back
vacuum.  The steps are separate top-level statements on purpose: READ
COMMITTED gives each a new snapshot, while statements inside a PL/pgSQL
function may run on the snapshot of the statement that called it.  For the
same reason ``audit_append``, which numbers inside the caller's statement,
uses the floor but never moves it.
"""

from __future__ import annotations

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

CREATE OR REPLACE FUNCTION audit_append(
    p_ts timestamptz, p_actor text, p_action text, p_target text, p_detail jsonb, p_prefix text, p_suffix text
) RETURNS bigint
LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
    head_size bigint;
    floor_id bigint;
    leaf text;
BEGIN
    -- The transaction id before the queue id (the floor relies on it).
    PERFORM pg_current_xact_id();
    -- Under load the queue is not empty: join it rather than hold the head
    -- row through this transaction's commit, which would hold up numbering.
    IF EXISTS (SELECT 1 FROM audit_auditpending
               WHERE id >= (SELECT queue_floor FROM audit_audithead WHERE id = 1)) THEN
        INSERT INTO audit_auditpending (ts, prefix, suffix) VALUES (p_ts, p_prefix, p_suffix);
        RETURN NULL;
    END IF;
    SELECT size, queue_floor INTO head_size, floor_id FROM audit_audithead WHERE id = 1 FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        IF EXISTS (SELECT 1 FROM audit_audithead WHERE id = 1) THEN
            INSERT INTO audit_auditpending (ts, prefix, suffix) VALUES (p_ts, p_prefix, p_suffix);
            RETURN NULL;
        END IF;
        INSERT INTO audit_audithead (id, size) VALUES (1, 0) ON CONFLICT DO NOTHING;
        SELECT size, queue_floor INTO head_size, floor_id FROM audit_audithead WHERE id = 1 FOR UPDATE;
    END IF;
    -- Whatever this statement sees queued is older than this entry.
    head_size := audit_number_pending(head_size, floor_id);
    leaf := p_prefix || ',"seq":' || head_size || p_suffix;
    INSERT INTO audit_auditentry (seq, ts, actor, action, target, detail, leaf, leaf_hash)
    VALUES (head_size, p_ts, p_actor, p_action, p_target, p_detail, leaf,
            sha256('\x00'::bytea || convert_to(leaf, 'UTF8')));
    UPDATE audit_audithead SET size = head_size + 1 WHERE id = 1;
    RETURN head_size;
END;
$$;

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
