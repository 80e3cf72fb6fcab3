"""The benchmark report states its ratios from the measurements it is given."""

from benchmarks.bench import report


def test_ratios_and_projection():
    load = {
        "rows": 1_000_000,
        "loaded": 1_000_000,
        "loader_s": 10.0,
        "loader_runs": [10.0, 11.0, 9.0],
        "copy_runs": [2.0, 2.1, 1.9],
        "output_runs": [2.5, 2.5, 2.6],
        "copy_s": 2.0,
        "pandas_rows": 100_000,
        "pandas_s": 10.0,
        "loader_peak_mib": 50.0,
        "small_rows": 200_000,
        "small_peak_mib": 49.0,
        "gz_loaded": 1_000_000,
        "gz_s": 12.5,
        "output_s": 2.5,
        "output_mib": 120.0,
        "extract_mib": 40.0,
        "plain_mib": 100.0,
    }
    incremental = {
        "months": 6,
        "rows_per_month": 1000,
        "seconds": [2.0, 9.0, 1.9, 2.3, 2.4, 2.5],
        "rows": [1000, 1000, 1000, 1200, 1200, 1200],
    }  # one noisy run
    text = report(load, incremental, {"a.py": 0.01}, "2 cores usable, PostgreSQL 18.1")
    assert "| 1,000,000 | 10.0 | 100,000 | **0.20x** |" in text  # loader vs 500,000 rows/s COPY
    assert "Runs (s): loader 10.0 / 11.0 / 9.0; psql CSV 2.0 / 2.1 / 1.9;" in text
    assert 'many times faster than `to_sql`": **met** (10.0x)' in text
    assert '0.7x of raw COPY": **not met** (0.20x)' in text
    assert "| 1,000,000 | 12.5 | 80,000 | 0.16x |" in text  # gzip
    assert "server's share alone | 1,000,000 | 2.5 | 400,000 | 0.80x |" in text
    assert "(medians) = **1.20**" in text  # 2.4 / 2.0
    assert "per participant row, 1.00 (the months grow by 20% over the year)" in text
    assert "450,000" not in text and "8 minutes" in text  # 45 M rows at 100,000 rows/s
    assert "Machine: 2 cores usable, PostgreSQL 18.1." in text


def test_national_report_states_rates_and_totals():
    from benchmarks.national import report as national_report

    text = national_report(45_000_000, 1300.0, 700.0, 150.0, 480.0, 30.0, "8 cores usable")
    assert "| 150 | 300,000 rows/s; peak memory 480 MiB |" in text
    assert "| **load + transform** | **180** | 3.0 minutes |" in text


def test_history_report_states_flatness_and_dbt_overhead():
    from benchmarks.history import report as history_report

    def month(i, total, dbt):
        stages = {"load_enrollment": 5.0, "dbt": dbt, "quality_gate": 10.0}
        return {"month": f"2025-{i:02d}", "rows": 1000, "raw_rows": 1000 * i, "stages": stages,
                "total": total}  # fmt: skip

    results = [month(i, t, d) for i, (t, d) in enumerate(
        [(100, 40), (90, 40), (110, 40), (100, 41), (120, 44), (105, 42)], 1)]  # fmt: skip
    modes = {"local": {"dbt": 45.0, "run": 80.0}, "watcher": {"dbt": 33.0, "run": 60.0}}
    text = history_report(results, 30.0, 0.01, "2 cores usable", modes)
    assert "105 s / 100 s = **1.05** (goal: at most 1.15: **met**)" in text
    assert "42 s; one bare `dbt build` of the same project: 30 s; ratio **1.40**" in text
    assert "| 6 | 6,000 | 5.0 | 42.0 | 10.0 | 0.0 | 0.0 | 105 |" in text
    assert "| watcher | 33 | 1.10 | 60 |" in text and "| local | 45 | 1.50 | 80 |" in text
