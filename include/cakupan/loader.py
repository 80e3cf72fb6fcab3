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

import logging
import time
from dataclasses import dataclass

import psycopg
from psycopg import sql

from cakupan.config import settings
from cakupan.contracts import DATASETS, Dataset, Regions, RowContext
from cakupan.errors import ExtractError
from cakupan.pseudonymise import NikPseudonymiser
from cakupan.sources import Extract, file_name, open_extract
from cakupan.warehouse import bootstrap

log = logging.getLogger(__name__)
COPY_BATCH_ROWS = 5000
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

    def close(self) -> None:
        self.flush()
        self._conn.close()


def _column_order(extract: Extract, dataset: Dataset) -> list[int]:
    """Index of each contract column in the file; a wrong header is a file-level fault."""
    found = [h.strip().lower() for h in extract.header]
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
        raise ExtractError(
            extract.uri, f"wrong header: {'; '.join(parts)}; expected {expected}", line=1
        )
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


def _load_rows(conn, dsn, dataset: Dataset, uri, period, load_id, ctx, counts, started):
    name = file_name(uri)
    part = partition_name(dataset, period)
    staging = f"{part}__load_{load_id}"
    every = settings().progress_every_s
    quarantine = _Quarantine(dsn, load_id, name, dataset.sensitive_columns)
    ident = sql.Identifier
    target = sql.SQL(".").join([ident("raw"), ident(dataset.table)])
    new = sql.SQL(".").join([ident("raw"), ident(staging)])
    copy_cols = sql.SQL(", ").join(
        ident(c) for c in ("_load_id", "_line", dataset.period_column, *dataset.copy_columns)
    )
    try:
        with open_extract(uri) as extract, conn.transaction():
            counts["format"] = extract.format
            order = _column_order(extract, dataset)
            width = len(extract.header)
            conn.execute(
                sql.SQL("create table {} (like {} including defaults)").format(new, target)
            )
            read = rejected = 0
            prefix = f"{load_id}\t"
            suffix_period = f"\t{period}\t"
            batch: list[str] = []
            last_report = time.monotonic()
            with conn.cursor().copy(
                sql.SQL("copy {} ({}) from stdin").format(new, copy_cols)
            ) as copy:
                for line, values in extract.rows:
                    read += 1
                    if len(values) != width:
                        rejected += 1
                        quarantine.add(
                            line, "*", f"row has {len(values)} fields, header has {width}", None
                        )
                        continue
                    out, faults = dataset.parse([values[i].strip() for i in order], ctx)
                    if faults:
                        rejected += 1
                        for column, reason in faults:
                            idx = (
                                dataset.columns.index(column) if column in dataset.columns else None
                            )
                            value = values[order[idx]] if idx is not None else None
                            quarantine.add(line, column, reason, value)
                        continue
                    batch.append(prefix + str(line) + suffix_period + "\t".join(out) + "\n")
                    if len(batch) >= COPY_BATCH_ROWS:
                        copy.write("".join(batch))
                        batch.clear()
                        now = time.monotonic()
                        if now - last_report >= every:
                            last_report = now
                            log.info(
                                "%s: %s rows read, %s rejected, %s rows/s",
                                name,
                                f"{read:,}",
                                f"{rejected:,}",
                                f"{read / (now - started):,.0f}",
                            )
                if batch:
                    copy.write("".join(batch))
            extract.drain()
            counts.update(
                read=read, rejected=rejected, checksum=extract.checksum, bytes=extract.bytes_read
            )
            if read == 0:
                raise ExtractError(uri, "file has a header but no data rows")
            rejected += _quarantine_duplicates(conn, dataset, new, quarantine)
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
                    extract.checksum,
                    extract.bytes_read,
                    extract.format,
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
        load_id, dataset.name, name, period, extract.checksum, read, loaded, rejected, seconds
    )


def _quarantine_duplicates(conn, dataset: Dataset, table, quarantine: _Quarantine) -> int:
    """Keep the first row of each unique key; later ones go to quarantine. Set-based."""
    key = sql.SQL(", ").join(sql.Identifier(c) for c in dataset.unique_key)
    key_text = sql.SQL(" || '/' || ").join(
        sql.SQL("{}::text").format(sql.Identifier(c)) for c in dataset.unique_key
    )
    dupes = conn.execute(
        sql.SQL(
            """with ranked as (
                 select ctid, _line, {key_text} as key_value,
                        first_value(_line) over w as first_line,
                        row_number() over w as n
                 from {table}
                 window w as (partition by {key} order by _line)
               ), removed as (
                 delete from {table} t using ranked r
                 where t.ctid = r.ctid and r.n > 1
                 returning r._line, r.key_value, r.first_line
               )
               select _line, key_value, first_line from removed order by _line"""
        ).format(key_text=key_text, table=table, key=key)
    ).fetchall()
    label = "/".join(dataset.unique_key)
    for line, value, first_line in dupes:
        quarantine.add(line, label, f"duplicate {label} (first seen at line {first_line})", value)
    return len(dupes)


def _swap_partition(conn, dataset: Dataset, period: str, staging: str, part: str) -> None:
    ident = sql.Identifier
    new = sql.SQL("raw.{}").format(ident(staging))
    # The check constraint lets ATTACH skip scanning the new partition.
    conn.execute(
        sql.SQL("alter table {} add constraint {} check ({} = {})").format(
            new, ident(f"{part}_period"), ident(dataset.period_column), sql.Literal(period)
        )
    )
    conn.execute(sql.SQL("drop table if exists raw.{}").format(ident(part)))
    conn.execute(sql.SQL("alter table {} rename to {}").format(new, ident(part)))
    conn.execute(
        sql.SQL("alter table raw.{} attach partition raw.{} for values in ({})").format(
            ident(dataset.table), ident(part), sql.Literal(period)
        )
    )
    conn.execute(sql.SQL("analyze raw.{}").format(ident(part)))
