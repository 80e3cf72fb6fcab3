"""Retention: raw months with personal data past the window are dropped (with their
quarantined rows) once published, audited; the marts keep their aggregates through later
transforms, gates and publications; unpublished months wait; a full refresh that would
lose retired months is refused. Run with each duty's own role."""

from __future__ import annotations

import datetime as dt
import gzip

import psycopg
import pytest

from cakupan.generate import generate
from cakupan.loader import load_extract
from cakupan.retention import first_kept_month, retire_expired
from tests.helpers import load_landing, run_dbt, transform_and_publish

MARTS = ("coverage_by_regency", "coverage_by_segment", "coverage_by_district")


def mart_rows(dsn: str, period: str) -> dict[str, list]:
    with psycopg.connect(dsn) as conn:
        return {
            mart: conn.execute(
                f"select * from marts.{mart} where period = %s order by 1, 2, 3", (period,)
            ).fetchall()
            for mart in MARTS
        }


def raw_periods(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "select period from audit.raw_partitions where table_name = 'enrollment_snapshot'"
        ).fetchall()
    return {r[0] for r in rows}


@pytest.fixture
def history(duties, key, tmp_path):
    """Two months published, a third loaded and not yet transformed; January's file has a
    repeated row, so January has a quarantined row."""
    landing = tmp_path / "landing"
    generate(landing, "2025-01", "2025-03", seed=5, scale=0.1, regions=["19.06"])
    january = landing / "enrollment" / "enrollment_2025-01.csv.gz"
    with gzip.open(january, "rt", encoding="utf-8") as f:
        last_line = f.read().splitlines()[-1]
    with gzip.open(january, "at", encoding="utf-8") as f:
        f.write(last_line + "\n")  # a second gzip member: the same participant again
    loader = duties["loader"]
    load_landing(loader, landing, key, ("2025-01", "2025-02"))
    transform_and_publish(duties["transformer"], tmp_path / "target", "first")
    march = landing / "enrollment" / "enrollment_2025-03.csv.gz"
    load_extract(loader, "enrollment", str(march), key=key)
    return duties


def test_window():
    assert first_kept_month(dt.date(2026, 11, 23), 24) == dt.date(2024, 12, 1)
    assert first_kept_month(dt.date(2025, 4, 1), 1) == dt.date(2025, 4, 1)
    assert first_kept_month(dt.date(2025, 1, 31), 13) == dt.date(2024, 1, 1)


def test_old_months_leave_raw_and_the_marts_keep_them(history, tmp_path):
    loader, transformer = history["loader"], history["transformer"]
    before = {p: mart_rows(transformer, p) for p in ("2025-01-01", "2025-02-01")}
    assert all(rows for month in before.values() for rows in month.values())
    with psycopg.connect(loader) as conn:
        quarantined = conn.execute(
            """select count(*) from quarantine.rejected_rows q join audit.extract_loads l
               using (load_id) where l.period = '2025-01-01'"""
        ).fetchone()[0]
        loaded = dict(
            conn.execute(
                "select period, rows_loaded from audit.extract_loads "
                "where dataset = 'enrollment' and status = 'loaded'"
            ).fetchall()
        )
    assert quarantined == 1

    as_of = dt.date(2025, 4, 15)  # a one-month window keeps April only
    dry = retire_expired(loader, 1, as_of=as_of, dry_run=True)
    assert [r.period for r in dry.retired] == ["2025-01-01", "2025-02-01"]
    assert dry.waiting == ["enrollment 2025-03-01"]  # loaded, not yet published
    assert raw_periods(loader) == {"2025-01-01", "2025-02-01", "2025-03-01"}

    result = retire_expired(loader, 1, as_of=as_of, run_id="retention-test")
    assert [(r.period, r.rows) for r in result.retired] == [
        ("2025-01-01", loaded["2025-01-01"]),
        ("2025-02-01", loaded["2025-02-01"]),
    ]
    assert result.retired[0].quarantine_rows == 1
    assert result.waiting == ["enrollment 2025-03-01"]
    assert raw_periods(loader) == {"2025-03-01"}
    with psycopg.connect(loader) as conn:
        assert conn.execute(
            "select count(*) from raw.enrollment_snapshot where snapshot_month < '2025-03-01'"
        ).fetchone() == (0,)
        assert conn.execute(
            """select count(*) from quarantine.rejected_rows q join audit.extract_loads l
               using (load_id) where l.period = '2025-01-01'"""
        ).fetchone() == (0,)
        statuses = conn.execute(
            "select period, status from audit.extract_loads where dataset = 'enrollment' "
            "group by 1, 2 order by 1"
        ).fetchall()
        assert statuses == [
            ("2025-01-01", "retired"),
            ("2025-02-01", "retired"),
            ("2025-03-01", "loaded"),
        ]
        audit = conn.execute(
            "select period, rows_removed, quarantine_rows_removed, retention_months, run_id "
            "from audit.retired_periods order by period"
        ).fetchall()
    assert audit == [
        ("2025-01-01", loaded["2025-01-01"], 1, 1, "retention-test"),
        ("2025-02-01", loaded["2025-02-01"], 0, 1, "retention-test"),
    ]
    # Rerun: nothing more to do.
    assert retire_expired(loader, 1, as_of=as_of).retired == []

    # The next monthly run: March arrives in the marts, January and February stay as they
    # were, and the gate reconciles the retired months against their loads' counts.
    transform_and_publish(transformer, tmp_path / "target", "after-retention")
    for period, rows in before.items():
        assert mart_rows(transformer, period) == rows, period
    assert all(mart_rows(transformer, "2025-03-01").values())

    # Now published, March goes too; the marts still hold all three months afterwards.
    assert [r.period for r in retire_expired(loader, 1, as_of=as_of).retired] == ["2025-03-01"]
    assert raw_periods(loader) == set()
    transform_and_publish(transformer, tmp_path / "target", "empty-raw")
    for period, rows in before.items():
        assert mart_rows(transformer, period) == rows, period
    with psycopg.connect(transformer) as conn:
        assert conn.execute(
            "select count(distinct period) from marts.coverage_by_regency"
        ).fetchone() == (3,)


def test_a_full_refresh_that_would_lose_retired_months_is_refused(history, tmp_path):
    loader, transformer = history["loader"], history["transformer"]
    retire_expired(loader, 1, as_of=dt.date(2025, 3, 1))
    assert raw_periods(loader) == {"2025-03-01"}
    out = run_dbt(
        transformer,
        tmp_path / "target",
        "build",
        "--full-refresh",
        "--select",
        "int_enrollment__regency_month",
        check=False,
    )
    assert "would lose the aggregates of 2 month(s) retention dropped from raw" in out
    with psycopg.connect(transformer) as conn:
        months = conn.execute(
            "select count(distinct snapshot_month) from intermediate.int_enrollment__regency_month"
        ).fetchone()
    assert months == (2,)


def test_the_transformer_cannot_retire(history):
    """Dropping raw months is the loader's (raw's owner) alone."""
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        retire_expired(history["transformer"], 1, as_of=dt.date(2025, 4, 1))
    assert raw_periods(history["loader"]) == {"2025-01-01", "2025-02-01", "2025-03-01"}
