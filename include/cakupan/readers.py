"""The two ways an extract's rows reach COPY into the load's staging table
(partitions.StagingTable, created by the loader: readers only copy rows).

- copy_per_row: any format (CSV, XLSX), one Python parse per row; exact errors.
- copy_columnar: large CSV extracts (enrollment), checked in Arrow blocks
  (columnar.py); rows the vectorised check leaves go through the per-row parser.
  A file it cannot parse raises one of columnar_fallback_errors(), and the loader
  reads it again with copy_per_row, which names the fault's file and line.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import threading
import time
import zlib
from dataclasses import dataclass
from queue import Empty, Queue

from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from cakupan.binary_copy import BinaryCopy, one_chunk
from cakupan.config import settings
from cakupan.contracts import NULL, Dataset, RowContext, field_faults
from cakupan.copy_stream import copy_from_stdin
from cakupan.errors import ExtractError
from cakupan.partitions import StagingTable
from cakupan.privacy import quoted_names
from cakupan.quarantine import Quarantine, RejectBudget, reject
from cakupan.repeated_keys import RepeatedKeys
from cakupan.sources import LineFault, open_csv_stream, open_extract

log = logging.getLogger("cakupan.loader")  # one logger for everything a load prints
COPY_BATCH_ROWS = 5000
BUDGET_CHECK_ROWS = 1000  # per-row reader: rows between two checks of the reject budget
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
    # Token keys (columnar.token_keys) seen more than once, with how often; None: unknown.
    repeated_token_keys: dict[int, int] | None = None


COPY_SEND_BUFFER_BYTES = 4 << 20


def _widen_send_buffer(conn) -> None:
    """A 4 MiB socket send buffer for the COPY (the kernel caps it at net.core.wmem_max).
    A unix socket's default (208 KiB) holds under 2 ms of the server's COPY work, less
    than the wait of psycopg's writer thread for the GIL while this process checks and
    encodes the next block: the server then idles. Measured: about a tenth off a load."""
    with contextlib.suppress(OSError):
        sock = socket.socket(fileno=os.dup(conn.pgconn.socket))
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, COPY_SEND_BUFFER_BYTES)
        finally:
            sock.close()


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


@dataclass
class LoadJob:
    """One extract on its way into its staging table: everything a reader needs."""

    uri: str
    name: str  # the file name, safe to print
    dataset: Dataset
    load_id: int
    period: str
    staging: StagingTable  # where the rows go, on the load's connection and transaction
    ctx: RowContext
    quarantine: Quarantine
    progress: Progress
    max_line_bytes: int
    max_reject_ratio: float

    def budget(self, text_bound: int | None) -> RejectBudget:
        def text_left(consumed: int) -> int | None:
            return None if text_bound is None else max(0, text_bound - consumed)

        return RejectBudget(
            self.uri,
            self.dataset,
            self.max_reject_ratio,
            text_left,
            f"quarantine.rejected_rows where load_id = {self.load_id}",
        )


def column_order(uri: str, header: list[str], dataset: Dataset) -> list[int]:
    """Index of each contract column in the file; a wrong header is a file-level fault.
    Header cells are quoted only when they look like column names: where the header
    should be, a file may hold a data row (NIK, name, birth date)."""
    found = [h.strip().lower() for h in header]
    expected = list(dataset.columns)
    missing = [c for c in expected if c not in found]
    if len(missing) == len(expected):
        raise ExtractError(
            uri,
            f"wrong header: none of the {len(expected)} expected columns is on the first "
            f"line (is the header missing?); expected {expected}",
            line=1,
        )
    extra = [h for h in found if h not in expected]
    duplicated = sorted({h for h in found if found.count(h) > 1})
    if missing or extra or duplicated:
        parts = []
        if missing:
            parts.append(f"missing column(s) {missing}")
        if extra:
            parts.append(f"unexpected column(s) {quoted_names(extra)}")
        if duplicated:
            parts.append(f"repeated column(s) {quoted_names(duplicated)}")
        raise ExtractError(uri, f"wrong header: {'; '.join(parts)}; expected {expected}", line=1)
    return [found.index(c) for c in expected]


def _parse_row(job: LoadJob, line: int, values: list[str]):
    """The contract's parse of one row (fields in contract order, as read): its raw
    table values, or None after its faults went to quarantine."""
    values = [v.strip() for v in values]
    faults = field_faults(job.dataset.columns, values)
    out = None
    if not faults:
        out, faults = job.dataset.parse(values, job.ctx)
    if faults:
        reject(job.quarantine, job.dataset, line, values, faults)
        return None
    return out


def copy_per_row(job: LoadJob) -> Copied:
    """The general reader: any format, exact errors; one Python parse per row."""
    dataset, quarantine = job.dataset, job.quarantine
    copy_cols = sql.SQL(", ").join(
        sql.Identifier(c)
        for c in ("_load_id", "_line", dataset.period_column, *dataset.copy_columns)
    )
    with open_extract(job.uri, job.max_line_bytes) as extract:
        order = column_order(job.uri, extract.header, dataset)
        width = len(extract.header)
        budget = job.budget(extract.text_bound)
        read = rejected = 0
        prefix = f"{job.load_id}\t"
        suffix_period = f"\t{job.period}\t"
        batch: list[str] = []
        statement = sql.SQL("copy {} ({}) from stdin").format(job.staging.ident, copy_cols)
        with copy_from_stdin(job.staging.conn.cursor(), statement) as copy:
            for line, values in extract.rows:
                read += 1
                if isinstance(values, LineFault):
                    rejected += 1
                    quarantine.add(line, "*", values.reason, None)
                elif len(values) != width:
                    rejected += 1
                    quarantine.add(
                        line, "*", f"row has {len(values)} fields, header has {width}", None
                    )
                elif (out := _parse_row(job, line, [values[i] for i in order])) is None:
                    rejected += 1
                else:
                    batch.append(prefix + str(line) + suffix_period + "\t".join(out) + "\n")
                    if len(batch) >= COPY_BATCH_ROWS:
                        copy.write("".join(batch))
                        batch.clear()
                        job.progress.update(read, rejected)
                if read % BUDGET_CHECK_ROWS == 0:
                    budget.check(read, rejected, extract.consumed, line)
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
    return (NotColumnar, pa.ArrowInvalid, UnicodeDecodeError, EOFError, OSError, zlib.error)


def fallback_reason(exc: BaseException) -> str:
    """Why the columnar reader gave up, without the row text Arrow quotes (personal data)."""
    text = str(exc)
    ragged = re.search(r"Expected \d+ columns, got \d+", text)
    if ragged:
        return ragged[0]
    if "UTF8" in text:
        return "invalid UTF-8"
    return text if isinstance(exc, NotColumnar) else type(exc).__name__


def copy_columnar(job: LoadJob) -> Copied:
    """The fast reader for large CSV extracts: Arrow parses and checks whole blocks,
    the per-row parser sees only the rows the vectorised check did not accept, and
    binary COPY (binary_copy.py) runs on its own thread while the next block is checked."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from cakupan.columnar import BatchContext, check_enrollment, token_keys

    dataset, staging = job.dataset, job.staging
    with open_csv_stream(job.uri, job.max_line_bytes) as src, staging.load_and_period_defaults():
        if src is None:
            raise NotColumnar("not a plain CSV file")
        order = column_order(job.uri, src.header, dataset)
        parse = _block_parser(len(src.header), src.delimiter)
        ctx = job.ctx
        batch_ctx = BatchContext.build(job.period, ctx.period_end, ctx.regions, ctx.pseudonymiser)
        columns_out = ["_line", *dataset.copy_columns]
        copy_cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns_out)
        encoder = BinaryCopy.for_table(staging.conn, staging.ident, columns_out)
        budget = job.budget(src.text_bound)
        consumed = src.header_bytes
        read = rejected = 0
        next_line = 2
        cur = staging.conn.cursor()
        _widen_send_buffer(staging.conn)
        statement = sql.SQL("copy {} ({}) from stdin with (format binary, freeze)").format(
            staging.ident, copy_cols
        )
        # Repeated KPJs and NIKs are found from keys as they pass, not by scans of the table.
        with (
            RepeatedKeys() as keys,
            RepeatedKeys(width=2) as nik_keys,
            copy_from_stdin(cur, statement, writer=BoundedQueuedWriter(cur)) as copy,
        ):
            blocks = _line_blocks(job.uri, src.stream, COLUMNAR_BLOCK_BYTES, job.max_line_bytes)

            def checked(first_line: int = 2):
                # On the reader thread: Arrow's parsing and checks release the GIL, so
                # the next block is checked while this thread encodes and sends the last.
                for block, lines in blocks:
                    batch = parse(block, lines)
                    columns = [one_chunk(batch.column(i)) for i in order]
                    accepted, ok = check_enrollment(columns, first_line, batch_ctx)
                    yield len(block), batch, columns, accepted, ok
                    first_line += batch.num_rows

            for block_bytes, batch, columns, accepted, ok in _prefetched(checked()):
                fixed, refused, blank = _parse_leftovers(job, columns, ok, next_line)
                if fixed:
                    text = _rows_table(fixed, columns_out)
                    accepted = pa.concat_tables([encoder.typed(accepted), encoder.typed(text)])
                keys.add(pc.cast(accepted.column("kpj"), pa.int64()).to_numpy())
                nik_keys.add(token_keys(one_chunk(accepted.column("nik_token"))))
                copy.write(encoder.block(accepted))
                next_line += batch.num_rows
                consumed += block_bytes
                read += batch.num_rows - blank
                rejected += refused
                job.progress.update(read, rejected)
                budget.check(read, rejected, consumed, next_line - 1)
            copy.write(encoder.trailer())
            # While COPY drains its queue: KPJs are 11 digits, hence the zero padding.
            repeated = [f"{k:011d}" for k in keys.repeated()]
            repeated_niks = nik_keys.counts()
        src.drain()
        return Copied(read, rejected, src.checksum, src.bytes_read, "csv", repeated, repeated_niks)


def _block_parser(width: int, delimiter: str):
    """Parses one block of whole lines into a table of strings, one row per line."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [f"c{i}" for i in range(width)]
    # Blank lines are kept as rows so that row numbers stay line numbers.
    parse_options = pacsv.ParseOptions(delimiter=delimiter, ignore_empty_lines=False)
    convert_options = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )

    def parse(block: bytes, lines: int):
        """`lines`: the block's line count (_line_blocks counts them)."""
        # The block as one Arrow chunk on this thread: no per-column concatenation later,
        # and the cores stay with the checks and the server.
        table = pacsv.read_csv(
            pa.py_buffer(block),
            read_options=pacsv.ReadOptions(
                column_names=names, block_size=len(block) + 1, use_threads=False
            ),
            parse_options=parse_options,
            convert_options=convert_options,
        )
        if table.num_rows != lines:
            # A quoted field ran over a line end: row numbers would no longer be lines.
            raise NotColumnar("a quoted field spans lines")
        return table

    return parse


def _line_ends(block: bytes) -> int:
    """The lines a block holds; NotColumnar if a carriage return stands anywhere but
    before a line feed (Arrow would end a row there, and rows would no longer be lines).
    One scan in numpy, which releases the GIL: bytes.count for LF, CR and CRLF held it
    for 17 ms per 8 MiB block, while the main thread waited to encode and send."""
    import numpy as np

    data = np.frombuffer(block, np.uint8)
    feeds = np.flatnonzero(data == 0x0A)
    returns = np.count_nonzero(data == 0x0D)
    if returns and returns != np.count_nonzero(data[feeds[feeds > 0] - 1] == 0x0D):
        raise NotColumnar("a carriage return inside a line")
    return len(feeds) + (0 if block.endswith(b"\n") else 1)


def _line_blocks(uri: str, stream, size: int, max_line_bytes: int):
    """The stream in blocks of about `size` bytes that end at a line end, each with its
    line count. One block is parsed at a time, which keeps memory flat (Arrow's
    streaming reader reads ahead as far as the file goes when its consumer is slower
    than the disk). A line longer than max_line_bytes refuses the file, naming its line
    (line 1 is the header)."""
    carry = b""
    line = 2  # the line the carry starts on
    while chunk := stream.read(size):
        cut = chunk.rfind(b"\n")
        if cut < 0:
            carry += chunk
            if len(carry) > max_line_bytes:
                raise ExtractError(
                    uri,
                    f"line longer than {max_line_bytes:,} bytes (CAKUPAN_MAX_LINE_BYTES); "
                    "no valid row comes near that",
                    line=line,
                )
            continue
        block = carry + chunk[: cut + 1]
        lines = _line_ends(block)
        yield block, lines
        line += lines
        carry = chunk[cut + 1 :]
    if carry:
        if b"\r" in carry.rstrip(b"\r\n"):
            raise NotColumnar("a carriage return inside a line")
        yield carry, 1  # after the last line feed: one line


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


def _parse_leftovers(job: LoadJob, columns, ok, first_line: int):
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
        out = _parse_row(job, line, values)
        if out is None:
            refused += 1
        else:
            fixed.append([line, *(None if v == NULL else v for v in out)])
    return fixed, refused, blank


def _rows_table(rows: list[list], names: list[str]):
    """The per-row parser's accepted rows ([line, *COPY text values or None]) as a table."""
    import pyarrow as pa

    line, *values = zip(*rows, strict=True)
    arrays = [pa.array(line, pa.int32())] + [pa.array(col, pa.string()) for col in values]
    return pa.Table.from_arrays(arrays, names=names)
