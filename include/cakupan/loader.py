"""Bulk-load one extract into its raw partition: validate, pseudonymise, COPY, swap, audit.

One extract = one period (month, semester or edition year, read from the file
name). The rows are COPYed into a fresh table that replaces the period's
partition in the same transaction, so a rerun replaces and never duplicates,
and readers see the old partition or the new one, never a mix. Rows that break
the contract go to quarantine.rejected_rows (on a second connection, so they
survive a refused file); file-level faults raise ExtractError and leave the
published data exactly as it was.
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

import psycopg
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from cakupan.config import settings
from cakupan.contracts import DATASETS, NULL, Dataset, Regions, RowContext
from cakupan.errors import ExtractError
from cakupan.pseudonymise import NikPseudonymiser
from cakupan.sources import file_name, open_csv_stream, open_extract
from cakupan.warehouse import bootstrap

log = logging.getLogger(__name__)
COPY_BATCH_ROWS = 5000
COLUMNAR_BLOCK_BYTES = 8 << 20  # about 60,000 enrollment rows per Arrow block
QUARANTINE_BATCH = 2000


@dataclass(frozen=True)
class RunInfo:
    run_id: str | None = None
    dag_id: str | None = None
    task_id: str | None = None


@dataclass(frozen=True)
class LoadResult:
    load_id: int
    dataset: str
    file_name: str
    period: str
    checksum: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    seconds: float


def _columnar_fallback_errors() -> tuple[type[BaseException], ...]:
    import pyarrow as pa

    # Anything the columnar reader cannot parse (ragged rows, bad UTF-8, a cut gzip
    # stream): the per-row reader then reads the file again and names file and line.
    return (_NotColumnar, pa.ArrowInvalid, UnicodeDecodeError, EOFError, OSError)


def _reason(exc: BaseException) -> str:
    """Why the columnar reader gave up, without the row text Arrow quotes (personal data)."""
    text = str(exc)
    ragged = re.search(r"Expected \d+ columns, got \d+", text)
    if ragged:
        return ragged[0]
    if "UTF8" in text:
        return "invalid UTF-8"
    return text if isinstance(exc, _NotColumnar) else type(exc).__name__


def load_regions_reference(conn: psycopg.Connection) -> Regions:
    rows = conn.execute(
        """select region_code, level from raw.regions
           where edition_year = (select max(edition_year) from raw.regions)"""
    ).fetchall()
    if not rows:
        raise RuntimeError("raw.regions is empty: load the Kemendagri regions extract first")
    by_level: dict[int, set[str]] = {1: set(), 2: set(), 3: set()}
    for code, level in rows:
        by_level[level].add(code)
    return Regions(frozenset(by_level[1]), frozenset(by_level[2]), frozenset(by_level[3]))


def partition_name(dataset: Dataset, period: str) -> str:
    return f"{dataset.table}_p{period.replace('-', '_').lower()}"


def current_checksum(conn: psycopg.Connection, dataset: Dataset, period: str) -> str | None:
    """Checksum of the extract behind the period's published partition, if any."""
    row = conn.execute(
        """select l.checksum_sha256 from audit.extract_loads l
           where l.dataset = %s and l.period = %s and l.status = 'loaded'
           order by l.load_id desc limit 1""",
        (dataset.name, period),
    ).fetchone()
    return row[0] if row else None


class _Quarantine:
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


def _column_order(uri: str, header: list[str], dataset: Dataset) -> list[int]:
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


def _open_audit(conn, dataset: Dataset, uri: str, period: str | None, run: RunInfo) -> int:
    with conn.transaction():
        return conn.execute(
            """insert into audit.extract_loads
                 (dataset, source_uri, file_name, period, status, run_id, dag_id, task_id)
               values (%s, %s, %s, %s, 'running', %s, %s, %s) returning load_id""",
            (dataset.name, uri, file_name(uri), period, run.run_id, run.dag_id, run.task_id),
        ).fetchone()[0]


def _fail_audit(dsn: str, load_id: int, error: str, counts: dict) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            """update audit.extract_loads set status = 'failed', error = %s,
                 rows_read = %s, rows_rejected = %s, checksum_sha256 = %s, bytes = %s,
                 file_format = %s, finished_at = now(),
                 duration_s = extract(epoch from now() - started_at)
               where load_id = %s""",
            (
                error,
                counts.get("read"),
                counts.get("rejected"),
                counts.get("checksum"),
                counts.get("bytes"),
                counts.get("format"),
                load_id,
            ),
        )


def load_extract(
    dsn: str,
    dataset_name: str,
    uri: str,
    *,
    run: RunInfo | None = None,
    key: bytes | None = None,
) -> LoadResult:
    """Load one extract file; returns counts, raises ExtractError on a file-level fault."""
    dataset = DATASETS[dataset_name]
    run = run or RunInfo()
    name = file_name(uri)
    period = dataset.period_from_file(name)
    pseudonymiser = NikPseudonymiser(key) if dataset.needs_key else None
    with psycopg.connect(dsn, application_name="cakupan-loader") as conn:
        bootstrap(conn)
        load_id = _open_audit(conn, dataset, uri, period, run)
        counts: dict = {}
        started = time.monotonic()
        try:
            if period is None:
                raise ExtractError(
                    uri,
                    "cannot tell the period from the file name; expected a name like "
                    f"{dataset.period_example}",
                )
            with conn.transaction():  # committed at once: hold no lock during the load
                regions = load_regions_reference(conn) if dataset.needs_regions else None
            ctx = RowContext(
                period=period,
                period_end=dataset.period_end(period),
                regions=regions,
                pseudonymiser=pseudonymiser,
            )
            result = _load_rows(conn, dsn, dataset, uri, period, load_id, ctx, counts, started)
        except Exception as exc:
            conn.rollback()
            _fail_audit(dsn, load_id, str(exc), counts)
            log.error("load %s of %s failed: %s", load_id, name, exc)
            raise
    return result


@dataclass
class _Copied:
    read: int
    rejected: int
    checksum: str
    bytes_read: int
    format: str
    # Unique-key values seen more than once, when the reader could tell; None: unknown.
    repeated_keys: list[str] | None = None


class _BoundedQueuedWriter(QueuedLibpqWriter):
    """psycopg's COPY writer thread, with a queue of at most ~16 MiB (its default,
    1024 chunks, lets memory grow by hundreds of MiB when the server is the slower side)."""

    def __init__(self, cursor):
        super().__init__(cursor)
        self._queue = Queue(maxsize=128)


class _Progress:
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


def _reject(quarantine: _Quarantine, dataset: Dataset, line: int, values: list, faults) -> None:
    """Quarantine a row's faults; `values` are the row's fields in contract order."""
    for column, reason in faults:
        value = values[dataset.columns.index(column)] if column in dataset.columns else None
        quarantine.add(line, column, reason, value)


def _create_staging(conn, dataset: Dataset, new, period: str) -> None:
    """The table the rows are COPYed into, later attached as the period's partition.
    Its period check is added while it is empty: ATTACH then trusts it without a scan,
    and adding it after the load would scan every row once more."""
    ident = sql.Identifier
    target = sql.SQL("raw.{}").format(ident(dataset.table))
    conn.execute(sql.SQL("create table {} (like {} including defaults)").format(new, target))
    conn.execute(
        sql.SQL("alter table {} add constraint {} check ({} = {})").format(
            new,
            ident(f"{partition_name(dataset, period)}_period"),
            ident(dataset.period_column),
            sql.Literal(period),
        )
    )


def _copy_per_row(conn, uri, dataset: Dataset, new, load_id, period, ctx, quarantine, progress):
    """The general reader: any format, exact errors; one Python parse per row."""
    copy_cols = sql.SQL(", ").join(
        sql.Identifier(c)
        for c in ("_load_id", "_line", dataset.period_column, *dataset.copy_columns)
    )
    with open_extract(uri) as extract:
        order = _column_order(uri, extract.header, dataset)
        width = len(extract.header)
        _create_staging(conn, dataset, new, period)
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
                fields = [values[i].strip() for i in order]
                out, faults = dataset.parse(fields, ctx)
                if faults:
                    rejected += 1
                    _reject(quarantine, dataset, line, [values[i] for i in order], faults)
                    continue
                batch.append(prefix + str(line) + suffix_period + "\t".join(out) + "\n")
                if len(batch) >= COPY_BATCH_ROWS:
                    copy.write("".join(batch))
                    batch.clear()
                    progress.update(read, rejected)
            if batch:
                copy.write("".join(batch))
        extract.drain()
        return _Copied(read, rejected, extract.checksum, extract.bytes_read, extract.format)


class _NotColumnar(Exception):
    """The file needs the per-row reader (it names the fault the columnar one hit)."""


def _copy_columnar(conn, uri, dataset: Dataset, new, load_id, period, ctx, quarantine, progress):
    """The fast reader for large CSV extracts: Arrow parses and checks whole blocks,
    the per-row parser sees only the rows the vectorised check did not accept, and
    COPY (CSV) runs on its own thread while the next block is checked."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    from cakupan.columnar import BatchContext, check_enrollment

    with open_csv_stream(uri) as src:
        if src is None:
            raise _NotColumnar("not a plain CSV file")
        order = _column_order(uri, src.header, dataset)
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
        _create_staging(conn, dataset, new, period)
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
        keys: list = []  # kpj as int64 (8 bytes a row): duplicates are found here, not by a scan
        cur = conn.cursor()
        with cur.copy(
            sql.SQL("copy {} ({}) from stdin with (format csv, freeze)").format(new, copy_cols),
            writer=_BoundedQueuedWriter(cur),
        ) as copy:
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
                keys.append(pc.cast(accepted.column("kpj"), pa.int64()).to_numpy())
                buffer = io.BytesIO()
                pacsv.write_csv(accepted, buffer, write_options)
                copy.write(buffer.getbuffer())
                next_line += batch.num_rows
                read += batch.num_rows - blank
                rejected += refused
                progress.update(read, rejected)
        conn.execute(
            sql.SQL(
                "alter table {} alter column _load_id drop default, alter column {} drop default"
            ).format(new, sql.Identifier(dataset.period_column))
        )
        src.drain()
        repeated = _repeated(keys)
        return _Copied(read, rejected, src.checksum, src.bytes_read, "csv", repeated)


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


def _repeated(keys: list) -> list[str]:
    """KPJ values (11 digits) occurring more than once among the int64 key arrays."""
    import numpy as np

    if not keys:
        return []
    ordered = np.sort(np.concatenate(keys))
    repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    return [f"{k:011d}" for k in repeated.tolist()]


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
        out, faults = dataset.parse([v.strip() for v in values], ctx)
        if faults:
            refused += 1
            _reject(quarantine, dataset, line, values, faults)
        else:
            fixed.append([line, *(None if v == NULL else v for v in out)])
    return fixed, refused, blank


def _rows_table(rows: list[list], schema):
    import pyarrow as pa

    columns = zip(*rows, strict=True)
    return pa.Table.from_arrays(
        [pa.array(col, type=f.type) for col, f in zip(columns, schema, strict=True)], schema=schema
    )


def _load_rows(conn, dsn, dataset: Dataset, uri, period, load_id, ctx, counts, started):
    name = file_name(uri)
    part = partition_name(dataset, period)
    staging = f"{part}__load_{load_id}"
    new = sql.SQL(".").join([sql.Identifier("raw"), sql.Identifier(staging)])
    quarantine = _Quarantine(dsn, load_id, name, dataset.sensitive_columns)
    progress = _Progress(name, started)
    args = (conn, uri, dataset, new, load_id, period, ctx, quarantine, progress)
    try:
        with conn.transaction():
            copied = None
            if dataset.columnar:
                try:
                    with conn.transaction():  # a savepoint, rolled back if we fall back
                        copied = _copy_columnar(*args)
                except _columnar_fallback_errors() as exc:
                    log.warning("%s: reading row by row instead (%s)", name, _reason(exc))
                    quarantine.discard()
            if copied is None:
                copied = _copy_per_row(*args)
            read, rejected = copied.read, copied.rejected
            counts.update(
                read=read,
                rejected=rejected,
                checksum=copied.checksum,
                bytes=copied.bytes_read,
                format=copied.format,
            )
            if read == 0:
                raise ExtractError(uri, "file has a header but no data rows")
            if copied.repeated_keys != []:
                rejected += _quarantine_duplicates(
                    conn, dataset, new, quarantine, copied.repeated_keys
                )
            counts["rejected"] = rejected
            quarantine.flush()
            limit = settings().max_reject_ratio
            if rejected / read > limit:
                raise ExtractError(
                    uri,
                    f"too many rejected rows: {rejected:,} of {read:,} "
                    f"({rejected / read:.1%} > {limit:.1%}); see quarantine.rejected_rows "
                    f"where load_id = {load_id}",
                )
            _swap_partition(conn, dataset, period, staging, part)
            loaded = read - rejected
            seconds = time.monotonic() - started
            conn.execute(
                """update audit.extract_loads set status = 'loaded', checksum_sha256 = %s,
                     bytes = %s, file_format = %s, rows_read = %s, rows_loaded = %s,
                     rows_rejected = %s, key_fingerprint = %s, finished_at = now(),
                     duration_s = %s
                   where load_id = %s""",
                (
                    copied.checksum,
                    copied.bytes_read,
                    copied.format,
                    read,
                    loaded,
                    rejected,
                    ctx.pseudonymiser.fingerprint if ctx.pseudonymiser else None,
                    round(seconds, 3),
                    load_id,
                ),
            )
    finally:
        quarantine.close()
    log.info(
        "%s: loaded %s rows into raw.%s (%s), %s rejected, %.1f s, %s rows/s",
        name,
        f"{loaded:,}",
        dataset.table,
        period,
        f"{rejected:,}",
        seconds,
        f"{read / seconds:,.0f}" if seconds else "-",
    )
    return LoadResult(
        load_id, dataset.name, name, period, copied.checksum, read, loaded, rejected, seconds
    )


def _quarantine_duplicates(
    conn, dataset: Dataset, table, quarantine: _Quarantine, only: list[str] | None = None
) -> int:
    """Keep the first row of each unique key; later ones go to quarantine. Set-based.
    `only`: the key values already known to repeat (single-column keys), to skip a full scan."""
    key = sql.SQL(", ").join(sql.Identifier(c) for c in dataset.unique_key)
    key_text = sql.SQL(" || '/' || ").join(
        sql.SQL("{}::text").format(sql.Identifier(c)) for c in dataset.unique_key
    )
    where = sql.SQL("")
    if only is not None:
        where = sql.SQL("where {} = any({})").format(
            sql.Identifier(dataset.unique_key[0]), sql.Literal(only)
        )
    dupes = conn.execute(
        sql.SQL(
            """with ranked as (
                 select ctid, _line, {key_text} as key_value,
                        first_value(_line) over w as first_line,
                        row_number() over w as n
                 from {table} {where}
                 window w as (partition by {key} order by _line)
               ), removed as (
                 delete from {table} t using ranked r
                 where t.ctid = r.ctid and r.n > 1
                 returning r._line, r.key_value, r.first_line
               )
               select _line, key_value, first_line from removed order by _line"""
        ).format(key_text=key_text, table=table, key=key, where=where)
    ).fetchall()
    label = "/".join(dataset.unique_key)
    for line, value, first_line in dupes:
        quarantine.add(line, label, f"duplicate {label} (first seen at line {first_line})", value)
    return len(dupes)


def _swap_partition(conn, dataset: Dataset, period: str, staging: str, part: str) -> None:
    ident = sql.Identifier
    new = sql.SQL("raw.{}").format(ident(staging))
    conn.execute(sql.SQL("drop table if exists raw.{}").format(ident(part)))
    conn.execute(sql.SQL("alter table {} rename to {}").format(new, ident(part)))
    conn.execute(
        sql.SQL("alter table raw.{} attach partition raw.{} for values in ({})").format(
            ident(dataset.table), ident(part), sql.Literal(period)
        )
    )
    conn.execute(sql.SQL("analyze raw.{}").format(ident(part)))
