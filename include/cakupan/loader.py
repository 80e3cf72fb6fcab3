"""Load one extract into its raw partition: read, validate, pseudonymise, COPY, swap, audit.

One extract = one period (month, semester or edition year, read from the file
name). Every attempt is recorded in audit.extract_loads (file, checksum, row
counts, run id). File-level faults raise ExtractError and leave the published
data exactly as it was; row faults go to quarantine (quarantine.py). How rows
reach COPY is in readers.py, the partition swap in partitions.py.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from cakupan import readers
from cakupan.config import settings
from cakupan.contracts import DATASETS, Dataset, Regions, RowContext
from cakupan.errors import ExtractError
from cakupan.partitions import StagingTable
from cakupan.plausibility import check_period, edition_faults, key_faults
from cakupan.privacy import clean_text, safe_text
from cakupan.pseudonymise import NikPseudonymiser
from cakupan.quarantine import Quarantine, TooManyRejected
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


# A running load holds a session advisory lock on (this namespace, its load id) until
# its connection ends: a 'running' row whose lock is free belongs to a load that died.
_LOAD_LOCK = "hashtext('cakupan.load')"


def mark_abandoned_loads(conn: psycopg.Connection) -> list[int]:
    """Mark failed the loads left 'running' by a process that ended without finishing
    (killed, crashed, server restarted). Returns their load ids."""
    with conn.transaction():
        rows = conn.execute(
            f"""with running as materialized (
                  select load_id from audit.extract_loads where status = 'running'
                ), gone as (
                  select load_id from running
                  where pg_try_advisory_xact_lock({_LOAD_LOCK}, load_id::integer)
                )
                update audit.extract_loads l
                set status = 'failed', finished_at = now(),
                    error = 'abandoned: the loading process ended without finishing '
                            '(killed, crashed or the server restarted); found by a later run'
                from gone where l.load_id = gone.load_id
                returning l.load_id"""
        ).fetchall()
        abandoned = sorted(r[0] for r in rows)
        # Their staging tables were committed empty before their COPY began.
        for (table,) in conn.execute(
            "select tablename from pg_tables where schemaname = 'raw' "
            "and substring(tablename from '__load_(\\d+)$')::bigint = any(%s)",
            (abandoned,),
        ).fetchall():
            conn.execute(sql.SQL("drop table raw.{}").format(sql.Identifier(table)))
    if abandoned:
        log.warning("marked abandoned loads failed: %s", ", ".join(map(str, abandoned)))
    return abandoned


def _open_audit(conn, dataset: Dataset, uri: str, period: str | None, run: RunInfo) -> int:
    with conn.transaction():
        load_id = conn.execute(
            """insert into audit.extract_loads
                 (dataset, source_uri, file_name, period, status, run_id, dag_id, task_id)
               values (%s, %s, %s, %s, 'running', %s, %s, %s) returning load_id""",
            (
                dataset.name,
                safe_text(uri),
                safe_text(file_name(uri)),
                period,
                run.run_id,
                run.dag_id,
                run.task_id,
            ),
        ).fetchone()[0]
        # Taken before the row is visible to anyone: it is never 'running' and unlocked.
        conn.execute(f"select pg_advisory_lock({_LOAD_LOCK}, %s::integer)", (load_id,))
    return load_id


def _fail_audit(dsn: str, load_id: int, error: str, counts: dict) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            """update audit.extract_loads set status = 'failed', error = %s,
                 rows_read = %s, rows_rejected = %s, checksum_sha256 = %s, bytes = %s,
                 file_format = %s, overrides = %s, finished_at = now(),
                 duration_s = extract(epoch from now() - started_at)
               where load_id = %s""",
            (
                error,
                counts.get("read"),
                counts.get("rejected"),
                counts.get("checksum"),
                counts.get("bytes"),
                counts.get("format"),
                counts.get("overrides"),
                load_id,
            ),
        )


@dataclass(frozen=True)
class LoadOptions:
    """How one load may differ from the defaults."""

    # Load even if the edition checks (plausibility.edition_faults) find it implausible.
    accept_implausible: bool = False
    # Load under a NIK key other than the months in raw use (a key rotation).
    accept_new_key: bool = False
    # Other files in the source for the same period: the load is refused, naming them.
    conflicts: tuple[str, ...] = ()


def load_extract(
    dsn: str,
    dataset_name: str,
    uri: str,
    *,
    run: RunInfo | None = None,
    key: bytes | None = None,
    options: LoadOptions | None = None,
) -> LoadResult:
    """Load one extract file; returns counts, raises ExtractError on a file-level fault."""
    dataset = DATASETS[dataset_name]
    run = run or RunInfo()
    options = options or LoadOptions()
    name = safe_text(file_name(uri))
    period = dataset.period_from_file(file_name(uri))
    pseudonymiser = NikPseudonymiser(key) if dataset.needs_key else None
    config = settings()
    with psycopg.connect(dsn, application_name="cakupan-loader") as conn:
        bootstrap(conn)
        mark_abandoned_loads(conn)
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
            if options.conflicts:
                others = ", ".join(safe_text(file_name(u)) for u in options.conflicts)
                raise ExtractError(
                    uri,
                    f"other file(s) in the source for the same period {period}: {others}; "
                    "keep one file per period (remove or rename the others) and run again",
                )
            check_period(uri, dataset, period, config, dt.date.today())
            with conn.transaction():  # committed at once: hold no lock during the load
                regions = load_regions_reference(conn) if dataset.needs_regions else None
            ctx = RowContext(
                period=period,
                period_end=dataset.period_end(period),
                regions=regions,
                pseudonymiser=pseudonymiser,
            )
            job = readers.LoadJob(
                uri=uri,
                name=name,
                dataset=dataset,
                load_id=load_id,
                period=period,
                staging=StagingTable(conn, dataset, period, load_id),
                ctx=ctx,
                quarantine=Quarantine(dsn, load_id, name, dataset, config.max_quarantine_rows),
                progress=readers.Progress(name, started),
                max_line_bytes=config.max_line_bytes,
                max_reject_ratio=config.max_reject_ratio,
            )
            job.staging.create()
            result = _load_rows(job, options, counts, started)
        except Exception as exc:
            conn.rollback()
            if "job" in locals():
                job.staging.drop()
            if isinstance(exc, TooManyRejected):
                counts.update(read=exc.read, rejected=exc.rejected)
            # Our own messages quote no row data; anything else might.
            error = (safe_text if isinstance(exc, ExtractError) else clean_text)(str(exc))
            _fail_audit(dsn, load_id, error, counts)
            log.error("load %s of %s failed: %s", load_id, name, error)
            if isinstance(exc, ExtractError):
                raise
            # Not chained: the original's text, and its causes', may quote rows.
            raise LoadFailed(
                f"load {load_id} of {name} failed: {type(exc).__name__} at {_where(exc)}: {error}"
            ) from None
    return result


def _where(exc: BaseException) -> str:
    """file:line of the innermost frame of our own code the exception passed through."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/cakupan/" in f.filename]
    frame = frames[-1] if frames else traceback.extract_tb(exc.__traceback__)[-1]
    return f"{Path(frame.filename).name}:{frame.lineno}"


class LoadFailed(RuntimeError):
    """A load failed for a reason other than its file (database, disk...): the message is
    cleaned of personal data, the original exception is not chained (it may quote rows)."""


def _load_rows(job: readers.LoadJob, options: LoadOptions, counts: dict, started: float):
    dataset, quarantine, staging = job.dataset, job.quarantine, job.staging
    conn = staging.conn
    try:
        with conn.transaction():
            copied = None
            if dataset.columnar:
                try:
                    with conn.transaction():  # a savepoint, rolled back if we fall back
                        staging.empty()
                        copied = readers.copy_columnar(job)
                except readers.columnar_fallback_errors() as exc:
                    log.warning(
                        "%s: reading row by row instead (%s)",
                        job.name,
                        readers.fallback_reason(exc),
                    )
                    quarantine.discard()
            if copied is None:
                staging.empty()
                copied = readers.copy_per_row(job)
            read, rejected = copied.read, copied.rejected
            counts.update(
                read=read,
                rejected=rejected,
                checksum=copied.checksum,
                bytes=copied.bytes_read,
                format=copied.format,
            )
            if read == 0:
                raise ExtractError(job.uri, "file has a header but no data rows")
            removed = []
            if copied.repeated_keys != []:
                removed = staging.drop_repeated_keys(quarantine, copied.repeated_keys)
                rejected += len(removed)
            counts["rejected"] = rejected
            repeated_niks = None
            if dataset.needs_key:
                repeated_niks = staging.repeated_nik_rows(copied.repeated_token_keys, removed)
                if repeated_niks:
                    # Counted as separate participants (one per KPJ), and flagged here.
                    log.warning(
                        "%s: %s row(s) share their NIK with an earlier row under another KPJ",
                        job.name,
                        f"{repeated_niks:,}",
                    )
            quarantine.flush()
            job.budget(None).final(read, rejected)
            # From here on the parent table is read and then replaced: one load at a time.
            staging.lock_parent()
            faults = edition_faults(conn, dataset, staging.ident, job.period, settings())
            if faults and not options.accept_implausible:
                raise ExtractError(
                    job.uri,
                    "implausible beside the edition in use: "
                    + "; ".join(faults)
                    + ". If it is right, load it with accept_implausible (audited)",
                )
            fingerprint = job.ctx.pseudonymiser.fingerprint if job.ctx.pseudonymiser else None
            key_change = key_faults(conn, dataset, job.period, fingerprint)
            if key_change and not options.accept_new_key:
                raise ExtractError(job.uri, "; ".join(key_change))
            faults += key_change
            overrides = [f.split(":")[0] for f in faults] or None
            counts["overrides"] = overrides
            if overrides:
                log.warning("%s: loaded despite %s (overridden)", job.name, overrides)
            staging.swap()
            loaded = read - rejected
            seconds = time.monotonic() - started
            # commit_xid: the transform's watermark is the snapshot it read, and this load
            # is news to it exactly when its transaction is not visible in that snapshot.
            conn.execute(
                """update audit.extract_loads set status = 'loaded', checksum_sha256 = %s,
                     bytes = %s, file_format = %s, rows_read = %s, rows_loaded = %s,
                     rows_rejected = %s, rows_repeated_nik = %s, key_fingerprint = %s,
                     overrides = %s,
                     commit_xid = pg_current_xact_id(), finished_at = now(), duration_s = %s
                   where load_id = %s""",
                (
                    copied.checksum,
                    copied.bytes_read,
                    copied.format,
                    read,
                    loaded,
                    rejected,
                    repeated_niks,
                    job.ctx.pseudonymiser.fingerprint if job.ctx.pseudonymiser else None,
                    overrides,
                    round(seconds, 3),
                    job.load_id,
                ),
            )
    finally:
        quarantine.close()
    log.info(
        "%s: loaded %s rows into raw.%s (%s), %s rejected, %.1f s, %s rows/s",
        job.name,
        f"{loaded:,}",
        dataset.table,
        job.period,
        f"{rejected:,}",
        seconds,
        f"{read / seconds:,.0f}" if seconds else "-",
    )
    return LoadResult(
        job.load_id,
        dataset.name,
        job.name,
        job.period,
        copied.checksum,
        read,
        loaded,
        rejected,
        seconds,
    )
