"""The two ways an extract's rows reach COPY.

- copy_per_row: any format (CSV, XLSX), one Python parse per row; exact errors.
- copy_columnar: large CSV extracts (enrollment), checked in Arrow blocks
  (columnar.py); rows the vectorised check leaves go through the per-row parser.
  A file it cannot parse raises one of columnar_fallback_errors(), and the loader
  reads it again with copy_per_row, which names the fault's file and line.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import threading
import time
from dataclasses import dataclass
from queue import Empty, Queue

from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from cakupan.config import settings
from cakupan.contracts import NULL, Dataset
from cakupan.errors import ExtractError
from cakupan.partitions import create_staging
from cakupan.quarantine import reject
from cakupan.repeated_keys import RepeatedKeys
from cakupan.sources import open_csv_stream, open_extract

log = logging.getLogger("cakupan.loader")  # one logger for everything a load prints
COPY_BATCH_ROWS = 5000
COLUMNAR_BLOCK_BYTES = 8 << 20  # about 60,000 enrollment rows per Arrow block


@dataclass
class Copied:
    read: int
    rejected: int
    checksum: str
    bytes_read: int
    format: str
    # Unique-key values seen more than once, when the reader could tell; None: unknown.
    repeated_keys: list[str] | None = None


class BoundedQueuedWriter(QueuedLibpqWriter):
    """psycopg's COPY writer thread, with a queue of at most ~16 MiB (its default,
    1024 chunks, lets memory grow by hundreds of MiB when the server is the slower side)."""

    def __init__(self, cursor):
        super().__init__(cursor)
        self._queue = Queue(maxsize=128)


class Progress:
    """Logs rows read and the rate every CAKUPAN_PROGRESS_EVERY_S seconds."""

    def __init__(self, name: str, started: float):
        self._name, self._started = name, started
        self._every = settings().progress_every_s
        self._last = time.monotonic()

    def update(self, read: int, rejected: int) -> None:
        now = time.monotonic()
        if now - self._last >= self._every:
            self._last = now
            log.info(
                "%s: %s rows read, %s rejected, %s rows/s",
                self._name,
                f"{read:,}",
                f"{rejected:,}",
                f"{read / (now - self._started):,.0f}",
            )


def column_order(uri: str, header: list[str], dataset: Dataset) -> list[int]:
    """Index of each contract column in the file; a wrong header is a file-level fault."""
    found = [h.strip().lower() for h in header]
    expected = list(dataset.columns)
    missing = [c for c in expected if c not in found]
    extra = [h for h in found if h not in expected]
    duplicated = sorted({h for h in found if found.count(h) > 1})
    if missing or extra or duplicated:
        parts = []
        if missing:
            parts.append(f"missing column(s) {missing}")
        if extra:
            parts.append(f"unexpected column(s) {extra}")
        if duplicated:
            parts.append(f"repeated column(s) {duplicated}")
        raise ExtractError(uri, f"wrong header: {'; '.join(parts)}; expected {expected}", line=1)
    return [found.index(c) for c in expected]


def _parse_row(dataset: Dataset, ctx, quarantine, line: int, values: list[str]):
    """The contract's parse of one row (fields in contract order, as read): its raw
    table values, or None after its faults went to quarantine."""
    out, faults = dataset.parse([v.strip() for v in values], ctx)
    if faults:
        reject(quarantine, dataset, line, values, faults)
        return None
    return out


def copy_per_row(conn, uri, dataset: Dataset, new, load_id, period, ctx, quarantine, progress):
    """The general reader: any format, exact errors; one Python parse per row."""
    copy_cols = sql.SQL(", ").join(
        sql.Identifier(c)
        for c in ("_load_id", "_line", dataset.period_column, *dataset.copy_columns)
    )
    with open_extract(uri) as extract:
        order = column_order(uri, extract.header, dataset)
        width = len(extract.header)
        create_staging(conn, dataset, new, period)
        read = rejected = 0
        prefix = f"{load_id}\t"
        suffix_period = f"\t{period}\t"
        batch: list[str] = []
        with conn.cursor().copy(sql.SQL("copy {} ({}) from stdin").format(new, copy_cols)) as copy:
            for line, values in extract.rows:
                read += 1
                if len(values) != width:
                    rejected += 1
                    quarantine.add(
                        line, "*", f"row has {len(values)} fields, header has {width}", None
                    )
                    continue
                out = _parse_row(dataset, ctx, quarantine, line, [values[i] for i in order])
                if out is None:
                    rejected += 1
                    continue
                batch.append(prefix + str(line) + suffix_period + "\t".join(out) + "\n")
                if len(batch) >= COPY_BATCH_ROWS:
                    copy.write("".join(batch))
                    batch.clear()
                    progress.update(read, rejected)
            if batch:
                copy.write("".join(batch))
        extract.drain()
        return Copied(read, rejected, extract.checksum, extract.bytes_read, extract.format)


class NotColumnar(Exception):
    """The file needs the per-row reader (it names the fault the columnar one hit)."""


def columnar_fallback_errors() -> tuple[type[BaseException], ...]:
    import pyarrow as pa

    # Anything the columnar reader cannot parse (ragged rows, bad UTF-8, a cut gzip
    # stream): the per-row reader then reads the file again and names file and line.
    return (NotColumnar, pa.ArrowInvalid, UnicodeDecodeError, EOFError, OSError)


def fallback_reason(exc: BaseException) -> str:
    """Why the columnar reader gave up, without the row text Arrow quotes (personal data)."""
    text = str(exc)
    ragged = re.search(r"Expected \d+ columns, got \d+", text)
    if ragged:
        return ragged[0]
    if "UTF8" in text:
        return "invalid UTF-8"
    return text if isinstance(exc, NotColumnar) else type(exc).__name__


def copy_columnar(conn, uri, dataset: Dataset, new, load_id, period, ctx, quarantine, progress):
    """The fast reader for large CSV extracts: Arrow parses and checks whole blocks,
    the per-row parser sees only the rows the vectorised check did not accept, and
    COPY (CSV) runs on its own thread while the next block is checked."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    from cakupan.columnar import BatchContext, check_enrollment

    with open_csv_stream(uri) as src:
        if src is None:
            raise NotColumnar("not a plain CSV file")
        order = column_order(uri, src.header, dataset)
        width = len(src.header)
        names = [f"c{i}" for i in range(width)]
        options = {
            "read_options": pacsv.ReadOptions(column_names=names),
            # Blank lines are kept as rows so that row numbers stay line numbers.
            "parse_options": pacsv.ParseOptions(delimiter=src.delimiter, ignore_empty_lines=False),
            "convert_options": pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        }
        create_staging(conn, dataset, new, period)
        # The load id and period are the same on every row: column defaults, not COPY data.
        conn.execute(
            sql.SQL(
                "alter table {} alter column _load_id set default {}, "
                "alter column {} set default {}"
            ).format(
                new,
                sql.Literal(load_id),
                sql.Identifier(dataset.period_column),
                sql.Literal(period),
            )
        )
        batch_ctx = BatchContext.build(period, ctx.period_end, ctx.regions, ctx.pseudonymiser)
        copy_cols = sql.SQL(", ").join(sql.Identifier(c) for c in ("_line", *dataset.copy_columns))
        write_options = pacsv.WriteOptions(include_header=False, quoting_style="none")
        read = rejected = 0
        next_line = 2
        cur = conn.cursor()
        # Repeated KPJs are found from the keys as they pass, not by a scan of the table.
        with (
            RepeatedKeys() as keys,
            cur.copy(
                sql.SQL("copy {} ({}) from stdin with (format csv, freeze)").format(new, copy_cols),
                writer=BoundedQueuedWriter(cur),
            ) as copy,
        ):
            for batch in _prefetched(
                pacsv.read_csv(pa.py_buffer(block), **options)
                for block in _line_blocks(src.stream, COLUMNAR_BLOCK_BYTES)
            ):
                columns = [batch.column(i).combine_chunks() for i in order]
                accepted, ok = check_enrollment(columns, next_line, batch_ctx)
                fixed, refused, blank = _parse_leftovers(
                    dataset, columns, ok, next_line, ctx, quarantine
                )
                if fixed:
                    accepted = pa.concat_tables([accepted, _rows_table(fixed, accepted.schema)])
                keys.add(pc.cast(accepted.column("kpj"), pa.int64()).to_numpy())
                buffer = io.BytesIO()
                pacsv.write_csv(accepted, buffer, write_options)
                copy.write(buffer.getbuffer())
                next_line += batch.num_rows
                read += batch.num_rows - blank
                rejected += refused
                progress.update(read, rejected)
            # While COPY drains its queue: KPJs are 11 digits, hence the zero padding.
            repeated = [f"{k:011d}" for k in keys.repeated()]
        conn.execute(
            sql.SQL(
                "alter table {} alter column _load_id drop default, alter column {} drop default"
            ).format(new, sql.Identifier(dataset.period_column))
        )
        src.drain()
        return Copied(read, rejected, src.checksum, src.bytes_read, "csv", repeated)


def _line_blocks(stream, size: int):
    """The stream in blocks of about `size` bytes that end at a line end. One block is
    parsed at a time, which keeps memory flat (Arrow's streaming reader reads ahead
    as far as the file goes when its consumer is slower than the disk)."""
    carry = b""
    while chunk := stream.read(size):
        cut = chunk.rfind(b"\n")
        if cut < 0:
            carry += chunk
            continue
        yield carry + chunk[: cut + 1]
        carry = chunk[cut + 1 :]
    if carry:
        yield carry


def _prefetched(items, depth: int = 2):
    """Iterate `items` on a background thread, at most `depth` ahead: the next block
    is read, decompressed and parsed (all GIL-free in Arrow and zlib) meanwhile."""
    done = object()
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()

    def produce():
        try:
            for item in items:
                if stop.is_set():
                    return
                queue.put(item)
            queue.put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            queue.put(exc)

    worker = threading.Thread(target=produce, name="cakupan-csv-reader", daemon=True)
    worker.start()
    try:
        while (item := queue.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(Empty):
                queue.get(timeout=0.1)
        worker.join()


def _parse_leftovers(dataset: Dataset, columns, ok, first_line: int, ctx, quarantine):
    """Rows the vectorised check did not accept go through the per-row parser.

    Returns (rows it accepted as [line, *values], rows refused, blank lines skipped)."""
    import pyarrow.compute as pc

    fixed: list[list] = []
    refused = blank = 0
    leftover = pc.indices_nonzero(pc.invert(ok)).to_pylist()
    if not leftover:
        return fixed, refused, blank
    taken = [pc.take(col, leftover).to_pylist() for col in columns]
    for position, index in enumerate(leftover):
        values = [col[position] for col in taken]
        if not any(v.strip() for v in values):
            blank += 1
            continue
        line = first_line + index
        out = _parse_row(dataset, ctx, quarantine, line, values)
        if out is None:
            refused += 1
        else:
            fixed.append([line, *(None if v == NULL else v for v in out)])
    return fixed, refused, blank


def _rows_table(rows: list[list], schema):
    import pyarrow as pa

    columns = zip(*rows, strict=True)
    return pa.Table.from_arrays(
        [pa.array(col, type=f.type) for col, f in zip(columns, schema, strict=True)], schema=schema
    )
