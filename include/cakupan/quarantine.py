"""Rejected rows: written to quarantine.rejected_rows on a connection of their own,
so the record survives a refused file. Personal values are never kept.
"""

from __future__ import annotations

import psycopg

from cakupan.contracts import Dataset

QUARANTINE_BATCH = 2000


class Quarantine:
    """Buffers rejected-row records and writes them on their own committed connection."""

    def __init__(self, dsn: str, load_id: int, name: str, sensitive: frozenset[str]):
        self._conn = psycopg.connect(dsn, autocommit=True)
        self._load_id, self._name, self._sensitive = load_id, name, sensitive
        self._buffer: list[tuple] = []

    def add(self, line: int, column: str, reason: str, value: str | None) -> None:
        if column in self._sensitive:
            value = None  # never keep personal values, even invalid ones
        self._buffer.append((self._load_id, self._name, line, column, reason, value))
        if len(self._buffer) >= QUARANTINE_BATCH:
            self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        with self._conn.cursor().copy(
            "copy quarantine.rejected_rows (load_id, file_name, line, column_name, reason, value)"
            " from stdin"
        ) as copy:
            for record in self._buffer:
                copy.write_row(record)
        self._buffer.clear()

    def discard(self) -> None:
        """Forget this load's records (its rows are about to be read again)."""
        self._buffer.clear()
        self._conn.execute(
            "delete from quarantine.rejected_rows where load_id = %s", (self._load_id,)
        )

    def close(self) -> None:
        self.flush()
        self._conn.close()


def reject(quarantine: Quarantine, dataset: Dataset, line: int, values: list, faults) -> None:
    """Quarantine a row's faults; `values` are the row's fields in contract order."""
    for column, reason in faults:
        value = values[dataset.columns.index(column)] if column in dataset.columns else None
        quarantine.add(line, column, reason, value)
