"""Write-audit-publish: the GX gate stops bad data before BI tools see it."""

from __future__ import annotations

import gzip

import psycopg
import pytest

from cakupan.loader import load_extract
from cakupan.publish import publish
from cakupan.quality import run_gate
from tests.helpers import run_dbt

MARTS = (
    "coverage_by_regency",
    "coverage_by_province",
    "coverage_by_segment",
    "dim_region",
    "coverage_by_payer",
)


def marts_checksums(dsn) -> dict[str, str]:
    with psycopg.connect(dsn) as conn:
        return {
            t: conn.execute(
                f"select md5(coalesce(string_agg(x::text, '|' order by x::text), '')) "
                f"from marts.{t} x"
            ).fetchone()[0]
            for t in MARTS
        }


def ten_times(month_file, out):
    """The month's extract with every participant repeated 10x under new KPJ numbers."""
    lines = gzip.decompress(month_file.read_bytes()).decode().splitlines()
    rows = lines[1:]
    copies = [f"{d}{row[1:]}" for d in "023456789" for row in rows]
    out.write_text("\n".join([lines[0], *rows, *copies]) + "\n")
    return out


def test_a_10x_jump_is_stopped_at_the_gate_and_marts_do_not_change(dsn, key, published, tmp_path):
    before = marts_checksums(dsn)
    bad = ten_times(
        published / "enrollment" / "enrollment_2025-03.csv.gz", tmp_path / "enrollment_2025-03.csv"
    )
    result = load_extract(dsn, "enrollment", str(bad), key=key)
    assert result.rows_rejected == 0  # it passes loading: every row is well-formed

    run_dbt(dsn, tmp_path / "target", "build")
    gate = run_gate(dsn, "bad-run")
    assert not gate.passed
    failed = {(f.suite, f.description) for f in gate.critical}
    assert (
        "marts.coverage_by_regency",
        "No regency's active participants jump or fall more than 5x in a month",
    ) in failed
    assert any("between 0 and 150%" in (d or "") for _, d in failed)
    assert marts_checksums(dsn) == before

    with psycopg.connect(dsn) as conn:
        runs = dict(
            conn.execute("select suite, success from audit.quality_runs where run_id = 'bad-run'")
        )
        published_periods = conn.execute(
            "select count(*) from marts.coverage_by_regency"
        ).fetchone()[0]
    assert runs["marts.coverage_by_regency"] is False
    # Raw checks cover only what was loaded since the last passed gate: the new month.
    assert runs["raw.enrollment_snapshot 2025-03-01"] is True
    assert not any(suite.startswith("raw.regions") for suite in runs)
    assert published_periods == 2


def test_warnings_do_not_block(dsn, published):
    with psycopg.connect(dsn) as conn:
        conn.execute("update marts_build.coverage_by_regency set coverage_rate = 1.2")
    gate = run_gate(dsn, "warning-run")
    assert gate.passed
    assert [f.severity for f in gate.failures] == ["warning"]
    assert "above 100%" in gate.failures[0].description


def test_publish_is_atomic_and_keeps_grants(dsn, published):
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create role gate_reader nologin")
        conn.execute("grant usage on schema marts to gate_reader")
        conn.execute("grant select on marts.coverage_by_regency to gate_reader")
        conn.execute("alter table marts_build.dim_region rename column region_name to name_x")
    before = marts_checksums(dsn)
    # dim_region's columns changed, so it is recreated; a failure later in the same
    # publication undoes it all: here a table that is no longer a mart (renamed) cannot
    # be dropped because a BI user's view depends on it.
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create table marts.old_mart_name (x int)")
        conn.execute("create view marts.bi_chart as select * from marts.old_mart_name")
    with pytest.raises(RuntimeError, match=r"marts.old_mart_name is no longer a mart.*bi_chart"):
        publish(dsn, "broken-run")
    assert marts_checksums(dsn) == before
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("drop view marts.bi_chart")
    publish(dsn, "fixed-run")
    with psycopg.connect(dsn) as conn:
        grants = conn.execute(
            "select has_table_privilege('gate_reader', 'marts.coverage_by_regency', 'select')"
        ).fetchone()[0]
        columns = [
            r[0]
            for r in conn.execute(
                "select column_name from information_schema.columns where table_schema = 'marts' "
                "and table_name = 'dim_region'"
            )
        ]
        comment = conn.execute(
            "select obj_description('marts.coverage_by_regency'::regclass, 'pg_class')"
        ).fetchone()[0]
    assert grants and "name_x" in columns and "Grain" in comment
    with psycopg.connect(dsn) as conn:  # the stale table is gone: nothing refreshes it
        assert conn.execute("select to_regclass('marts.old_mart_name')").fetchone() == (None,)


def test_publication_never_blocks_readers_for_long(dsn, published, monkeypatch):
    """A BI query holding one mart makes the publication retry; meanwhile readers of the
    other marts are never held behind it for more than the lock timeout."""
    import threading
    import time

    monkeypatch.setenv("CAKUPAN_PUBLISH_LOCK_TIMEOUT_S", "0.5")
    long_query = psycopg.connect(dsn)
    # dim_region is published last: publishing one mart after another would hold the
    # others locked behind this query.
    long_query.execute("select count(*) from marts.dim_region").fetchone()
    outcome = {}

    def run_publish():
        started = time.monotonic()
        outcome["counts"] = publish(dsn, "waiting-run")
        outcome["seconds"] = time.monotonic() - started

    publisher = threading.Thread(target=run_publish)
    publisher.start()
    slowest = 0.0
    with psycopg.connect(dsn, autocommit=True) as reader:
        reader.execute("set statement_timeout = '5s'")
        until = time.monotonic() + 4
        while time.monotonic() < until:
            started = time.monotonic()
            reader.execute("select count(*) from marts.coverage_by_regency").fetchone()
            slowest = max(slowest, time.monotonic() - started)
            time.sleep(0.05)
    assert publisher.is_alive()  # still waiting for the long query
    long_query.commit()  # the BI query ends
    long_query.close()
    publisher.join(60)
    assert outcome["counts"]["coverage_by_regency"] == 2 and outcome["seconds"] >= 4
    assert slowest < 1.5, f"a reader waited {slowest:.1f} s behind the publication"
