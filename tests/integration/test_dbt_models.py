"""The dbt project on real PostgreSQL: the article figures, incremental months, reruns."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from cakupan.generate import generate
from cakupan.loader import load_extract
from tests.helpers import load_landing
from tests.helpers import run_dbt as dbt

REGIONS = ["15.06", "19.06", "21.03"]
# The incremental models and their period column.
INCREMENTAL_MODELS = {
    "int_enrollment__regency_month": "snapshot_month",
    "int_enrollment__district_month": "snapshot_month",
    "coverage_by_segment": "period",
}


@pytest.fixture
def landed(dsn, key, tmp_path):
    """Real population files plus generated extracts for three article regencies."""
    out = tmp_path / "landing"
    generate(out, "2025-01", "2025-03", seed=7, scale=1.0, regions=REGIONS)
    load_landing(dsn, out, key)
    return out


def load_month(dsn, key, landing: Path, month: str):
    return load_extract(
        dsn, "enrollment", str(landing / "enrollment" / f"enrollment_{month}.csv.gz"), key=key
    )


def test_article_figures_incremental_months_and_reruns(dsn, key, landed, tmp_path):
    target = tmp_path / "dbt_target"
    for month in ("2025-01", "2025-02", "2025-03"):
        load_month(dsn, key, landed, month)
    out = dbt(dsn, target, "build")
    assert "Completed successfully" in out

    with psycopg.connect(dsn) as conn:
        rows = {
            r[0]: r[1:]
            for r in conn.execute(
                """select region_code, working_population, active_participants, coverage_rate,
                      target_rate, workers_to_target, target_source
               from marts_build.coverage_by_regency where period = '2025-03-01'"""
            )
        }
        wp, active, rate, target_rate, to_target, source = rows["15.06"]
        assert (wp, active) == (112_000, 42_000)
        assert float(rate) == 0.375 and float(target_rate) == 0.55
        assert to_target == 19_600 and "Jambi" in source
        assert round(float(rows["19.06"][2]), 2) == 0.31 and float(rows["19.06"][3]) == 0.61
        assert round(float(rows["21.03"][2]) * 100, 2) == 59.29
        # Province and region dimension line up with the real Kemendagri figures.
        assert conn.execute(
            "select population_total, village_count from marts_build.dim_region "
            "where region_code = '19.06'"
        ).fetchone() == (132_495, 39)
        segments = conn.execute(
            """select sum(coverage_rate) from marts_build.coverage_by_segment
               where region_code = '15.06' and period = '2025-03-01'"""
        ).fetchone()[0]
        assert abs(float(segments) - 0.375) < 1e-5
        # Documentation reaches PostgreSQL for BI tools.
        comment = conn.execute(
            """select col_description(attrelid, attnum) from pg_attribute
               where attrelid = 'marts_build.coverage_by_regency'::regclass
                 and attname = 'workers_to_target'"""
        ).fetchone()[0]
        assert "still needed" in comment
        january_rows = conn.execute(
            """select xmin::text::bigint, ctid from intermediate.int_enrollment__regency_month
               where snapshot_month = '2025-01-01' order by ctid"""
        ).fetchall()
        february = conn.execute(
            """select sum(active_participants) from intermediate.int_enrollment__regency_month
               where snapshot_month = '2025-02-01'"""
        ).fetchone()[0]

    # A corrected resend of February: only February is recomputed, and replaced.
    resend = landed / "resend" / "enrollment_2025-02.csv"
    resend.parent.mkdir()
    import gzip

    lines = (
        gzip.decompress((landed / "enrollment" / "enrollment_2025-02.csv.gz").read_bytes())
        .decode()
        .splitlines()
    )
    kept = [lines[0]] + [line for line in lines[1:] if not line.startswith("1506")]
    resend.write_text("\n".join(kept) + "\n")  # Tanjung Jabung Barat rows withdrawn
    load_extract(dsn, "enrollment", str(resend), key=key)
    dbt(dsn, target, "build", "--select", *(f"{m}+" for m in INCREMENTAL_MODELS))
    # period_replace names the replaced month as a literal (an index scan of that month),
    # not dbt's `in (select distinct ...)` that PostgreSQL runs over every month held.
    for model, column in INCREMENTAL_MODELS.items():
        run_sql = next((target / "run").rglob(f"{model}.sql")).read_text()
        assert f"where \"{column}\" in ('2025-02-01');" in run_sql, model
        assert "select distinct" not in run_sql.split("delete from", 1)[1], model
    with psycopg.connect(dsn) as conn:
        assert (
            conn.execute(
                """select xmin::text::bigint, ctid from intermediate.int_enrollment__regency_month
               where snapshot_month = '2025-01-01' order by ctid"""
            ).fetchall()
            == january_rows
        )
        new_february = conn.execute(
            """select sum(active_participants) from intermediate.int_enrollment__regency_month
               where snapshot_month = '2025-02-01'"""
        ).fetchone()[0]
        per_month = dict(
            conn.execute(
                """select period::text, count(*) from marts_build.coverage_by_regency group by 1"""
            )
        )
        tjb_february = conn.execute(
            """select count(*) from marts_build.coverage_by_regency
               where region_code = '15.06' and period = '2025-02-01'"""
        ).fetchone()[0]
    assert new_february < february
    assert per_month == {"2025-01-01": 3, "2025-02-01": 2, "2025-03-01": 3}
    assert tjb_february == 0
