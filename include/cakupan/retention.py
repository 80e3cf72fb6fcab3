"""Retention: raw months holding personal data are kept no longer than needed.

A raw period of a dataset with personal data (pseudonymised NIKs, birth dates) is
dropped once it is older than the retention window (CAKUPAN_RETENTION_MONTHS, default
24 months up to the current one), together with its quarantined rows, and only once the
published marts hold its aggregates: its load must be visible in every snapshot the last
publication was built from (audit.publications.watermarks), so the month has been
transformed, gated and published. The marts keep the month (drop_vanished_periods spares
retired periods); audit.retired_periods and the loads' status 'retired' record it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from cakupan.contracts import DATASETS, Dataset
from cakupan.partitions import close_loads, drop_partition, lock_raw_table, partition_name

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetiredPeriod:
    dataset: str
    period: str
    load_id: int
    rows: int
    quarantine_rows: int


@dataclass
class RetentionResult:
    months: int
    first_kept: dt.date  # periods ending before this day are past the window
    retired: list[RetiredPeriod] = field(default_factory=list)
    # Past the window but not yet in the published marts: kept until they are.
    waiting: list[str] = field(default_factory=list)
    dry_run: bool = False

    def summary(self) -> str:
        verb = "would retire" if self.dry_run else "retired"
        done = ", ".join(f"{r.dataset} {r.period} ({r.rows:,} rows)" for r in self.retired)
        text = (
            f"retention {self.months} months (keeping periods from {self.first_kept:%Y-%m}): "
            f"{verb} {len(self.retired)} period(s)" + (f": {done}" if done else "")
        )
        if self.waiting:
            text += f"; kept until published: {', '.join(self.waiting)}"
        return text


def first_kept_month(as_of: dt.date, months: int) -> dt.date:
    """The first day of the oldest month inside the window of `months` months up to and
    including as_of's month."""
    index = as_of.year * 12 + as_of.month - 1 - (months - 1)
    return dt.date(index // 12, index % 12 + 1, 1)


def personal_datasets() -> list[Dataset]:
    """The datasets whose raw rows are about persons (the ones pseudonymised)."""
    return [d for d in DATASETS.values() if d.needs_key]


def _expired(conn, dataset: Dataset, first_kept: dt.date) -> list[tuple[str, int, bool]]:
    """(period, load in its partition, published?) for each raw period past the window."""
    rows = conn.execute(
        """with last_publication as (
             select watermarks from audit.publications
             where watermarks is not null and watermarks <> '{}'::jsonb
             order by publication_id desc limit 1
           )
           select p.period, l.load_id,
                  coalesce((
                    select bool_and(pg_visible_in_snapshot(l.commit_xid, w.value::pg_snapshot))
                    from last_publication, jsonb_each_text(last_publication.watermarks) w
                  ), false) as published
           from audit.raw_partitions p
           join lateral (
             select load_id, commit_xid from audit.extract_loads
             where dataset = %s and period = p.period and status = 'loaded'
             order by load_id desc limit 1
           ) l on true
           where p.table_name = %s
           order by p.period""",
        (dataset.name, dataset.table),
    ).fetchall()
    return [
        (period, load_id, published)
        for period, load_id, published in rows
        if (end := dataset.period_end(period)) is not None and end < first_kept
    ]


def retire_expired(
    dsn: str,
    months: int,
    as_of: dt.date | None = None,
    run_id: str | None = None,
    dry_run: bool = False,
) -> RetentionResult:
    """Drop the raw periods (and their quarantined rows) past the retention window whose
    aggregates are published. Each period in a transaction of its own, serialised with the
    loads of its table; rerunning is harmless (nothing left to retire)."""
    if months < 1:
        raise ValueError("the retention window is at least 1 month")
    first_kept = first_kept_month(as_of or dt.date.today(), months)
    result = RetentionResult(months=months, first_kept=first_kept, dry_run=dry_run)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for dataset in personal_datasets():
            for period, load_id, published in _expired(conn, dataset, first_kept):
                if not published:
                    result.waiting.append(f"{dataset.name} {period}")
                    continue
                if dry_run:
                    rows = _count(conn, dataset, period)
                    result.retired.append(RetiredPeriod(dataset.name, period, load_id, rows, 0))
                    continue
                retired = _retire(conn, dataset, period, load_id, months, run_id)
                if retired:
                    result.retired.append(retired)
                    log.info(
                        "retired raw.%s %s: %s rows and %s quarantined rows dropped "
                        "(load %s; the marts keep its aggregates)",
                        dataset.table,
                        period,
                        f"{retired.rows:,}",
                        f"{retired.quarantine_rows:,}",
                        load_id,
                    )
    if result.waiting:
        log.warning(
            "past the retention window but not yet in the published marts, kept: %s",
            ", ".join(result.waiting),
        )
    log.info("%s", result.summary())
    return result


def _count(conn, dataset: Dataset, period: str) -> int:
    part = sql.Identifier("raw", partition_name(dataset, period))
    return conn.execute(sql.SQL("select count(*) from {}").format(part)).fetchone()[0]


def _retire(
    conn, dataset: Dataset, period: str, load_id: int, months: int, run_id: str | None
) -> RetiredPeriod | None:
    with conn.transaction():
        # Loads of this table replace partitions under the same lock: none runs meanwhile.
        lock_raw_table(conn, dataset)
        current = conn.execute(
            """select max(load_id) from audit.extract_loads
               where dataset = %s and period = %s and status = 'loaded'""",
            (dataset.name, period),
        ).fetchone()[0]
        if current != load_id:
            return None  # reloaded or withdrawn since it was listed: next run decides
        rows = drop_partition(conn, dataset, period)
        if rows is None:
            return None
        quarantined = conn.execute(
            """delete from quarantine.rejected_rows q using audit.extract_loads l
               where q.load_id = l.load_id and l.dataset = %s and l.period = %s""",
            (dataset.name, period),
        ).rowcount
        close_loads(
            conn, dataset, period, "retired", f"retired after {months} months: raw rows dropped"
        )
        conn.execute(
            """insert into audit.retired_periods as r (table_name, period, dataset, load_id,
                 rows_removed, quarantine_rows_removed, retention_months, run_id)
               values (%s, %s, %s, %s, %s, %s, %s, %s)
               on conflict (table_name, period) do update set
                 load_id = excluded.load_id, rows_removed = excluded.rows_removed,
                 quarantine_rows_removed = excluded.quarantine_rows_removed,
                 retention_months = excluded.retention_months, run_id = excluded.run_id,
                 retired_at = now()""",
            (dataset.table, period, dataset.name, load_id, rows, quarantined, months, run_id),
        )
    return RetiredPeriod(dataset.name, period, load_id, rows, quarantined)
