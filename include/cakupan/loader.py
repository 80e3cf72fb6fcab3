"""Load one extract into its raw partition: read, validate, pseudonymise, COPY, swap, audit.

One extract = one period (month, semester or edition year, read from the file
name). Every attempt is recorded in audit.extract_loads (file, checksum, row
counts, run id). File-level faults raise ExtractError and leave the published
data exactly as it was; row faults go to quarantine (quarantine.py). How rows
reach COPY is in readers.py, the partition swap in partitions.py.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import psycopg
from psycopg import sql

from cakupan import readers
from cakupan.config import settings
from cakupan.contracts import DATASETS, Dataset, Regions, RowContext
from cakupan.errors import ExtractError
from cakupan.partitions import partition_name, quarantine_duplicates, swap_partition
from cakupan.pseudonymise import NikPseudonymiser
from cakupan.quarantine import Quarantine
from cakupan.sources import file_name
from cakupan.warehouse import bootstrap

log = logging.getLogger(__name__)


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


def current_checksum(conn: psycopg.Connection, dataset: Dataset, period: str) -> str | None:
    """Checksum of the extract behind the period's published partition, if any."""
    row = conn.execute(
        """select l.checksum_sha256 from audit.extract_loads l
           where l.dataset = %s and l.period = %s and l.status = 'loaded'
           order by l.load_id desc limit 1""",
        (dataset.name, period),
    ).fetchone()
    return row[0] if row else None


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
    new = sql.SQL(".").join([sql.Identifier("raw"), sql.Identifier(staging)])
    quarantine = Quarantine(dsn, load_id, name, dataset.sensitive_columns)
    progress = readers.Progress(name, started)
    args = (conn, uri, dataset, new, load_id, period, ctx, quarantine, progress)
    try:
        with conn.transaction():
            copied = None
            if dataset.columnar:
                try:
                    with conn.transaction():  # a savepoint, rolled back if we fall back
                        copied = readers.copy_columnar(*args)
                except readers.columnar_fallback_errors() as exc:
                    log.warning(
                        "%s: reading row by row instead (%s)", name, readers.fallback_reason(exc)
                    )
                    quarantine.discard()
            if copied is None:
                copied = readers.copy_per_row(*args)
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
                rejected += quarantine_duplicates(
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
            swap_partition(conn, dataset, period, staging, part)
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
