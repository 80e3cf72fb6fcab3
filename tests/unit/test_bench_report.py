"""The benchmark report states its ratios from the measurements it is given."""

import os

from benchmarks.bench import report


def test_ratios_goals_and_projection():
    load = {
        "rows": 1_000_000,
        "loaded": 1_000_000,
        "runs": {
            "loader": [10.0, 11.0, 9.0],
            "copy": [2.0, 2.1, 1.9],
            "floor_csv": [2.5, 2.5, 2.6],
            "floor_binary": [2.0, 2.0, 2.0],
            "adbc": [4.0, 4.0, 4.0],
            "hook": [5.0, 5.0, 5.0],
        },
        "seconds": {
            "loader": 10.0, "copy": 2.0, "floor_csv": 2.5, "floor_binary": 2.0, "adbc": 4.0,
            "hook": 5.0,
        },
        "peaks": {"loader": 50.0, "adbc": 900.0, "hook": 60.0, "dlt": 300.0},
        "stored": {"adbc": 1_000_000, "hook": 1_000_000, "dlt": 100_000},
        "cpu": {"loader": 12.0, "server": 4.0},
        "small_rows": 200_000,
        "small_peak_mib": 49.0,
        "gz_loaded": 1_000_000,
        "gz_s": 12.5,
        "sample_rows": 100_000,
        "dlt_runs": [20.0, 20.0, 21.0],
        "dlt_s": 20.0,
        "pandas_s": 10.0,
        "output_mib": {"csv": 120.0, "binary": 140.0},
        "extract_mib": 40.0,
        "plain_mib": 100.0,
    }  # fmt: skip
    incremental = {
        "months": 6,
        "rows_per_month": 1000,
        "seconds": [2.0, 9.0, 1.9, 2.3, 2.4, 2.5],
        "rows": [1000, 1000, 1000, 1200, 1200, 1200],
    }  # one noisy run
    text = report(load, incremental, {"a.py": 0.01}, "2 cores usable, PostgreSQL 18.1")
    # loader 100,000 rows/s against 500,000 rows/s raw COPY
    assert "| 1,000,000 | 10.0 | 100,000 | 0.20x | 50 |" in text
    assert "Runs (s): loader 10.0 / 11.0 / 9.0; copy 2.0 / 2.1 / 1.9;" in text
    assert '0.6x of the raw `\\copy`": **not met** (0.20x)' in text
    # adbc 250,000 and hook 200,000 rows/s are faster; dlt 5,000 rows/s is not
    assert "dlt): **not met** (the loader's rate is 0.40x that of the fastest, adbc)" in text
    assert 'its own binary floor": **not met** (0.20x)' in text
    assert "from 0.80x to 1.00x of the raw" in text
    assert "| 1,000,000 | 12.5 | 80,000 | 0.16x | - |" in text  # gzip
    assert "| 100,000 | 20.0 | 5,000 | 0.01x | 300 |" in text  # dlt sample
    assert "(medians) = **1.20**" in text  # 2.4 / 2.0
    assert "per participant row, 1.00 (the months grow by 20% over the year)" in text
    assert "450,000" not in text and "8 minutes" in text  # 45 M rows at 100,000 rows/s
    assert "Machine: 2 cores usable, PostgreSQL 18.1." in text
    # The least time on this machine's cores: (12 + 4) CPU-seconds spread over them.
    cores = len(os.sched_getaffinity(0))
    least = 16.0 / cores
    assert f"(12.0 + 4.0) / {cores} = {least:.1f} s" in text
    assert f"{1_000_000 / least / 500_000:.2f}x of the raw `\\copy` at best" in text


def test_national_report_states_stages_goal_and_airflow_overhead():
    from benchmarks.national import report as national_report

    stages = {"load_enrollment": 150.0, "dbt": 200.0, "quality_gate": 100.0,
              "publish_marts": 5.0, "coverage_report": 15.0, "dbt_docs": 10.0}  # fmt: skip
    row = {"rows": 45_000_000, "stages": stages, "total": 530.0}
    text = national_report(row, 1300.0, None, "8 cores usable")
    assert "| load_enrollment | 150 | 3.3 |" in text
    assert "| other tasks | 10 |" in text
    assert "| Airflow itself | 50 |" in text  # the whole run minus all its tasks
    assert "| **whole monthly run** | **530** | 11.8 | 8.8 minutes |" in text
    assert "at most 10 minutes on 2 cores: **met** (8.8 minutes)" in text
    assert "300,000 rows/s" in text
    slow = national_report({**row, "total": 700.0}, 1300.0, 900.0, "8 cores usable")
    assert "**not met** (11.7 minutes)" in slow and "generated in 900 s" in slow
    assert "bare `dbt build`" not in slow  # measured only when the run got that far
    assert "Earlier months: none, this run starts from an empty raw table" in slow
    earlier = [{"month": "2024-11", "rows": 44_000_000, "total": 480.0},
               {"month": "2024-12", "rows": 44_100_000, "total": 470.0}]  # fmt: skip
    stacked = national_report({**row, "earlier": earlier}, 1300.0, None, "8 cores usable")
    assert "2 national months were pushed through the same DAGs first (2024-11: " \
        "44,000,000 participants, 480 s, 2024-12: 44,100,000 participants, 470 s), so raw " \
        "held 88,100,000 participants" in stacked  # fmt: skip
    timed = {**row, "bare_dbt": 160.0, "scheduled": {"dbt": 200.0, "run": 330.0}}
    text = national_report(timed, 1300.0, None, "8 cores usable")
    assert "took 200 s (whole DAG 330 s); one bare `dbt build` of the same month 160 s: " \
        "**1.25x** (goal: at most 1.5x, **met**)" in text  # fmt: skip


def test_history_report_states_flatness_and_dbt_overhead():
    from benchmarks.history import report as history_report

    def month(i, total, dbt):
        stages = {"load_enrollment": 5.0, "dbt": dbt, "quality_gate": 10.0}
        return {"month": f"2025-{i:02d}", "rows": 1000, "raw_rows": 1000 * i, "stages": stages,
                "total": total}  # fmt: skip

    results = [month(i, t, d) for i, (t, d) in enumerate(
        [(100, 40), (90, 40), (110, 40), (100, 41), (120, 44), (105, 42)], 1)]  # fmt: skip
    modes = {"local": {"dbt": 46.0, "run": 80.0}, "watcher": {"dbt": 33.0, "run": 60.0}}
    text = history_report(results, 30.0, 0.01, "2 cores usable", modes)
    assert "105 s / 100 s = **1.05** (goal: at most 1.15: **met**)" in text
    assert "42 s; one bare `dbt build` of the same project: 30 s; ratio 1.40." in text
    assert "| 6 | 6,000 | 5.0 | 42.0 | 10.0 | 0.0 | 0.0 | 0.0 | 105 |" in text
    assert "| watcher | 33 | 1.10 | met | 60 |" in text
    assert "| local | 46 | 1.53 | not met | 80 |" in text
    floor = {"local": {"dbt": 46.0, "run": 80.0}, "Airflow alone": {"dbt": 20.0, "run": 22.0}}
    text = history_report(results, 30.0, 0.01, "2 cores usable", floor)
    assert "Airflow alone takes 20 s (0.67x the bare build)" in text
    assert "| Airflow alone | 20 | 0.67 | (no dbt) | 22 |" in text
    assert "the fastest mode spends 26 s more in dbt (0.87x the bare build" in text
    assert "out of reach" not in text
    floor["Airflow alone"]["dbt"] = 50.0
    above = history_report(results, 30.0, 0.01, "2 cores usable", floor)
    assert "goal is out of reach with one task per model" in above
    failed = history_report(results, 30.0, 0.01, "2 cores", {"watcher": {"error": "boom"}})
    assert "| watcher | failed: boom | | | |" in failed


def test_month_spans_cross_a_year():
    from benchmarks.common import month_span

    assert month_span("2025-01", -2, 2) == ["2024-11", "2024-12"]
    assert month_span("2025-03", 0, 0) == []
    assert month_span("2025-01", 0, 13)[-2:] == ["2025-12", "2026-01"]
