"""Streaming exports of a selection of the log: JSON Lines (exact leaf bytes) and CSV.

Both are generators over a server-side cursor, yielding a chunk every few
hundred rows, so an export of millions of entries never sits in memory.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator

from django.db.models import QuerySet

from audit.models import AuditEntry
from audit.selectors import entry_leaves

CSV_COLUMNS = ["seq", "ts", "actor", "action", "target", "detail", "leaf_hash"]
_ROWS_PER_CHUNK = 500
# Spreadsheet programs run cells that start with these as formulas.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def jsonl_chunks(qs: QuerySet[AuditEntry]) -> Iterator[bytes]:
    """Each entry's leaf bytes followed by ``\\n``. Canonical JSON never contains a raw newline."""
    batch: list[str] = []
    for leaf in entry_leaves(qs):
        batch.append(leaf)
        if len(batch) >= _ROWS_PER_CHUNK:
            yield ("\n".join(batch) + "\n").encode("utf-8")
            batch = []
    if batch:
        yield ("\n".join(batch) + "\n").encode("utf-8")


class _Buffer:
    def write(self, value: str) -> str:
        return value


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_chunks(qs: QuerySet[AuditEntry]) -> Iterator[bytes]:
    """One row per entry, fields taken from the leaf itself so the CSV says what was hashed.

    Text cells that a spreadsheet would evaluate get a leading ``'``; the
    JSON Lines export is the exact form.
    """
    writer = csv.writer(_Buffer())
    batch = [writer.writerow(CSV_COLUMNS)]
    rows = qs.values_list("leaf", "leaf_hash").iterator(chunk_size=2000)
    for leaf, h in rows:
        entry = json.loads(leaf)
        batch.append(
            writer.writerow(
                [
                    entry["seq"],
                    entry["ts"],
                    _cell(entry["actor"]),
                    _cell(entry["action"]),
                    _cell(entry["target"]),
                    json.dumps(entry["detail"], ensure_ascii=False, sort_keys=True, separators=(",", ":")),
                    bytes(h).hex(),
                ]
            )
        )
        if len(batch) >= _ROWS_PER_CHUNK:
            yield "".join(batch).encode("utf-8")
            batch = []
    if batch:
        yield "".join(batch).encode("utf-8")
