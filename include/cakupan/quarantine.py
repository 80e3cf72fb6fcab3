"""Rejected rows: written to quarantine.rejected_rows on a connection of their own,
so the record survives a refused file. What is kept of a value follows privacy.py:
never a personal value, never a NIK-shaped number or a date, whatever its column.

Work on a bad file is bounded: at most CAKUPAN_MAX_QUARANTINE_ROWS records per load
(faults beyond are counted per column in one closing record), and RejectBudget stops
reading as soon as the share of rejected rows can no longer stay under the limit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import psycopg

from cakupan.contracts import Dataset
from cakupan.copy_stream import copy_from_stdin
from cakupan.errors import ExtractError
from cakupan.privacy import clean_text, kept_value

QUARANTINE_BATCH = 2000


class Quarantine:
    """Buffers rejected-row records and writes them on their own committed connection."""

    def __init__(self, dsn: str, load_id: int, name: str, dataset: Dataset, max_records: int):
        self._conn = psycopg.connect(dsn, autocommit=True, application_name="cakupan-quarantine")
        self._load_id, self._name, self._dataset = load_id, name, dataset
        self._max_records = max_records
        self._recorded = 0
        self._not_recorded: Counter[str] = Counter()
        self._buffer: list[tuple] = []

    def add(self, line: int | None, column: str, reason: str, value: str | None) -> None:
        if self._recorded >= self._max_records:
            self._not_recorded[column] += 1
            return
        self._recorded += 1
        value = kept_value(value, column, self._dataset.personal_columns, self._dataset.vocabulary)
        self._buffer.append((self._load_id, self._name, line, column, clean_text(reason), value))
        if len(self._buffer) >= QUARANTINE_BATCH:
            self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        with copy_from_stdin(
            self._conn.cursor(),
            "copy quarantine.rejected_rows (load_id, file_name, line, column_name, reason, value)"
            " from stdin",
        ) as copy:
            for record in self._buffer:
                copy.write_row(record)
        self._buffer.clear()

    def discard(self) -> None:
        """Forget this load's records (its rows are about to be read again)."""
        self._buffer.clear()
        self._recorded = 0
        self._not_recorded.clear()
        self._conn.execute(
            "delete from quarantine.rejected_rows where load_id = %s", (self._load_id,)
        )

    def close(self) -> None:
        for column, count in sorted(self._not_recorded.items()):
            self._buffer.append(
                (
                    self._load_id,
                    self._name,
                    None,
                    column,
                    f"{count:,} more fault(s) in this column not recorded: quarantine keeps "
                    f"at most {self._max_records:,} records per load",
                    None,
                )
            )
        self._not_recorded.clear()
        try:
            self.flush()
        finally:
            self._conn.close()


def reject(quarantine: Quarantine, dataset: Dataset, line: int, values: list, faults) -> None:
    """Quarantine a row's faults; `values` are the row's fields in contract order."""
    for column, reason in faults:
        value = values[dataset.columns.index(column)] if column in dataset.columns else None
        quarantine.add(line, column, reason, value)


class TooManyRejected(ExtractError):
    """The file is refused for its share of rejected rows (counts as far as it was read)."""

    def __init__(self, read: int, rejected: int, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.read, self.rejected = read, rejected


class RejectBudget:
    """Refuses a file once its share of rejected rows can no longer stay under the limit.

    At any point, the rows still to come can be valid ones only if each takes at least
    the dataset's min_row_bytes, so the text left to read bounds how many more valid rows
    there can be. `text_left(consumed)` gives that bound (None: unknown, e.g. a source
    that does not tell its size); the final check at the end of the file is exact."""

    def __init__(
        self,
        uri: str,
        dataset: Dataset,
        limit: float,
        text_left: Callable[[int], int | None],
        where: str,
    ):
        self._uri, self._min_row = uri, dataset.min_row_bytes
        self._limit, self._text_left, self._where = limit, text_left, where

    def _refuse(self, rejected: int, read: int, why: str, line: int | None = None):
        raise TooManyRejected(
            read,
            rejected,
            self._uri,
            f"too many rejected rows: {rejected:,} of {read:,} "
            f"({rejected / read:.1%} > {self._limit:.1%}){why}; see {self._where}",
            line=line,
        )

    def check(self, read: int, rejected: int, consumed: int, line: int) -> None:
        """Mid-file: `consumed` bytes of text have been read, up to `line`."""
        if rejected == 0 or rejected <= self._limit * read:
            return
        left = self._text_left(consumed)
        if left is None:
            return
        most_valid_rows = read - rejected + left // self._min_row
        # Passing needs rejected <= limit * (rejected + valid), at best with every
        # remaining row valid.
        if rejected > self._limit / (1 - self._limit) * most_valid_rows:
            self._refuse(
                rejected,
                read,
                "; stopped early: even if every remaining row were valid, the share "
                "would stay over the limit",
                line=line,
            )

    def final(self, read: int, rejected: int) -> None:
        if rejected > self._limit * read:
            self._refuse(rejected, read, "")
