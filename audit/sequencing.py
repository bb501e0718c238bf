"""Numbering queued audit entries (PostgreSQL).

On PostgreSQL an append is one INSERT into a queue (``AuditPending``) in
the caller's transaction, as durable as the change it records; it never
waits for another writer.  A numbering round locks the log's head row for a
moment and moves every committed queued entry into the log, oldest first
(``audit_number_pending`` in ``audit.pg_functions``, which also explains the
queue floor).

Who numbers, and when:

- a writer, right after its commit, unless its process started a round
  less than ``SEQUENCE_INTERVAL`` seconds ago.  Under load that turns one
  numbering transaction per append into one per interval per process, each
  moving everything queued meanwhile;
- every reader of the log, before it reads (``current_log_size``), so the
  console, exports, proofs, checkpoints and the employee's "who accessed my
  data" see every committed entry;
- the periodic checkpoint task, which catches anything left after a crash.

On SQLite entries are numbered as they are written (its write lock
serialises writers), so all of this is a no-op there.
"""

from __future__ import annotations

import logging
import time

from django.db import transaction

from audit.models import AuditHead
from audit.pg_functions import NUMBER_BATCH

logger = logging.getLogger("audit")

# Seconds a process waits between the numbering rounds it starts after commit.
SEQUENCE_INTERVAL = 0.2

# Seconds a reader waits for a round held by someone else before reading what is numbered.
READER_PATIENCE = 2.0

_last_round = float("-inf")


def log_size() -> int:
    """The number of numbered entries (see ``current_log_size`` for readers)."""
    return AuditHead.objects.filter(pk=1).values_list("size", flat=True).first() or 0


# Statement 1, before this round has a transaction id: is anything queued;
# the horizon below which every transaction has ended; the next queue id;
# whether this transaction already has an id; the floor, if the head row exists.
_LOOK = """
SELECT EXISTS (SELECT 1 FROM audit_auditpending
               WHERE id >= coalesce((SELECT queue_floor FROM audit_audithead WHERE id = 1), 0)),
       pg_snapshot_xmin(pg_current_snapshot())::text::bigint,
       coalesce(pg_sequence_last_value('audit_auditpending_id_seq'::regclass), 0) + 1,
       pg_current_xact_id_if_assigned() IS NULL,
       (SELECT queue_floor FROM audit_audithead WHERE id = 1)
"""

# Statement 2: take the head row if nobody holds it.  This gives the round a
# transaction id, later than that of every transaction that took a queue id
# below the one read above.
_LOCK_HEAD = """
SELECT size, queue_floor, queue_mark, queue_mark_xmax,
       pg_current_xact_id()::text::bigint,
       current_setting('transaction_isolation') = 'read committed',
       CASE WHEN %s THEN set_config('synchronous_commit', 'off', true) END
FROM audit_audithead WHERE id = 1
FOR UPDATE SKIP LOCKED
"""

_STORE = "UPDATE audit_audithead SET size = %s, queue_floor = %s, queue_mark = %s, queue_mark_xmax = %s WHERE id = 1"


def _sequence_round(*, wait_for_disk: bool, sweep: bool = False) -> int:
    """One numbering round; returns how many entries it numbered, or -1 if another round holds the head row.

    The queue floor (see ``audit.pg_functions``) depends on the order of these
    top-level statements, each with its own snapshot: the horizon and the next
    queue id are read before the round has a transaction id, and entries are
    numbered after that.  A ``sweep`` also looks below the floor, where
    nothing should ever be; finding something there is reported as critical,
    and the entry is numbered rather than lost.
    """
    connection = transaction.get_connection()
    with connection.cursor() as cursor:
        cursor.execute(_LOOK)
        queued, horizon, next_id, no_xid_yet, seen_floor = cursor.fetchone()
        sequence_went_back = seen_floor is not None and next_id < seen_floor
        if not queued and not sequence_went_back and not sweep:
            return 0
        with transaction.atomic(savepoint=False):
            if seen_floor is None:  # the very first round (two at once: one waits for the other)
                cursor.execute("INSERT INTO audit_audithead (id, size) VALUES (1, 0) ON CONFLICT DO NOTHING")
            # A writer's round only moves entries that are already durable in the
            # queue; if a crash loses its commit, the queue is numbered again, and
            # anything signed later is flushed after it. So it need not wait for
            # the disk. A reader's round does: it shows the numbering it made.
            asynchronous = not wait_for_disk and not connection.in_atomic_block
            cursor.execute(_LOCK_HEAD, [asynchronous])
            row = cursor.fetchone()
            if row is None:
                return -1  # another round is numbering
            size, floor, mark, mark_xmax, xid, read_committed, _ = row
            if next_id < floor:
                logger.critical(
                    "audit queue ids went back below the floor (next id %s, floor %s): was the sequence "
                    "audit_auditpending_id_seq reset? Looking at the whole queue again.",
                    next_id,
                    floor,
                )
                floor, mark_xmax = 0, 0
            scan_from = floor
            if sweep:
                cursor.execute("SELECT min(id), count(*) FROM audit_auditpending WHERE id < %s", [floor])
                lowest, stranded = cursor.fetchone()
                if stranded:
                    logger.critical(
                        "%s committed audit entries were below the queue floor %s (lowest id %s); numbering them now",
                        stranded,
                        floor,
                        lowest,
                    )
                    scan_from = 0
            cursor.execute("SELECT audit_number_pending(%s, %s, %s)", [size, scan_from, NUMBER_BATCH])
            new_size = cursor.fetchone()[0]
            emptied = new_size - size < NUMBER_BATCH  # the floor may only pass what was all numbered
            if read_committed:
                if emptied and mark_xmax and horizon >= mark_xmax:
                    # Every transaction that took an id below the mark had ended
                    # before this round looked, so it numbered their entries.
                    floor, mark_xmax = mark, 0
                if not mark_xmax and no_xid_yet:
                    mark, mark_xmax = next_id, xid
            cursor.execute(_STORE, [new_size, floor, mark, mark_xmax])
    return new_size - size


def audit_sequence_pending(*, sweep: bool = False) -> int:
    """Number every queued entry now; returns how many this call numbered.

    If another round holds the head row, waits for it (rounds take
    milliseconds) and looks again, for up to ``READER_PATIENCE`` seconds.
    ``sweep`` (the checkpoint task) also looks below the queue floor first.
    """
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        return 0
    done, deadline = 0, time.monotonic() + READER_PATIENCE
    while True:
        # Outside a transaction each round commits on its own, so the head row
        # is let go before looking again.
        moved = _sequence_round(wait_for_disk=True, sweep=sweep)
        sweep = sweep and (moved < 0 or moved >= NUMBER_BATCH)  # once it got through, enough
        if moved > 0:
            done += moved  # and look again: more may have been queued meanwhile
        elif moved == 0 or time.monotonic() > deadline:
            return done
        else:
            time.sleep(0.005)


def sequence_after_commit() -> None:
    """Run by a writer after its commit: number the queue, at most once per ``SEQUENCE_INTERVAL``.

    A round that finds the head row held by another round does not count:
    that round may have looked before this commit, so the next commit in this
    process tries again.  The writer's change is committed; a failure
    here must not turn its response into an error, and nothing is lost: the
    next round, any reader or the periodic task numbers what is left.
    """
    global _last_round
    now = time.monotonic()
    if now - _last_round < SEQUENCE_INTERVAL:
        return
    try:
        if _sequence_round(wait_for_disk=False) >= 0:
            _last_round = now
    except Exception:
        logger.exception("numbering queued audit entries failed; the next reader or the periodic task will")


def current_log_size() -> int:
    """The size of the log including every committed entry: queued ones are numbered first.

    Inside a transaction that also numbers this transaction's own entries,
    and holds the head row until it ends (other rounds skip it meanwhile;
    appends never wait for it).
    """
    audit_sequence_pending()
    return log_size()
