"""`make bench-national`: one national month (about 45 million participants) pushed
through the real DAGs, every stage timed.

The month is generated for all 514 regencies under .local/bench-national/generated, and
the earlier months (--earlier-months, default 2) under generated-earlier; both are kept
for later runs (about 15 minutes a month to generate). Each run starts a fresh embedded
PostgreSQL and Airflow home beside them, runs the population DAG, pushes the earlier
months through the DAGs, then lands the measured month and runs ingestion -> transform
(dbt via Cosmos, quality gate, publication) -> report with `airflow dags test`, as
`make bench-history` does for smaller months. Stage times come from Airflow's metadata.
Then the month is loaded again before one bare `dbt
build`, and again before a run of the transform DAG triggered on a live Airflow (the
scheduler as production runs it): what one Airflow task per dbt model costs at national
scale. Results go to benchmarks/NATIONAL.md. Needs about 90 minutes the first time
(generation included), then about 40, and 35 GB of disk on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from pathlib import Path

from benchmarks.common import (
    NATIONAL_ROWS,
    ROWS_PER_MONTH_AT_SCALE_1,
    machine,
    month_span,
    save_measurements,
    timed,
)
from benchmarks.history import (
    DBT_GOAL,
    Bench,
    against_bare_build,
    prepare,
    push_month,
)
from cakupan.config import PROJECT_ROOT
from cakupan.generate import generate

log = logging.getLogger(__name__)
WORK = PROJECT_ROOT / ".local" / "bench-national"
MONTH = "2025-01"
GOAL_SECONDS = 600  # issue 11: a national month's whole run in at most 10 minutes
STAGES = (
    ("load_enrollment", "ingestion: parse, validate, HMAC, binary COPY, dedupe, partition swap"),
    ("dbt", "dbt build of every model and its tests (Cosmos, one task per model)"),
    ("quality_gate", "GX gate on the new month and the marts"),
    ("publish_marts", "marts_build copied into marts, atomically"),
    ("coverage_report", "the HTML report and its charts"),
)


def _generated(folder: Path, labels: list[str], seed: int, rows: int) -> float | None:
    """The months' extracts under folder, generated unless a run already did (seconds)."""
    if all((folder / "enrollment" / f"enrollment_{m}.csv.gz").exists() for m in labels):
        return None
    shutil.rmtree(folder, ignore_errors=True)
    log.info("generating %d national month(s) (about %s participants each)", len(labels),
             f"{rows:,}")  # fmt: skip
    scale = rows / ROWS_PER_MONTH_AT_SCALE_1
    seconds, _ = timed(generate, folder, labels[0], labels[-1], seed=seed, scale=scale)
    return seconds


def run(rows: int = NATIONAL_ROWS, earlier_months: int = 2, work: Path = WORK) -> str:
    staged, earlier = work / "generated", work / "generated-earlier"
    extract = staged / "enrollment" / f"enrollment_{MONTH}.csv.gz"
    earlier_labels = month_span(MONTH, -earlier_months, earlier_months)
    # Seconds spent generating in this run; None when every extract came from an earlier one.
    generated = [_generated(staged, [MONTH], 45, rows)]
    if earlier_labels:
        generated.append(_generated(earlier, earlier_labels, 44, rows))
        # Their semesters' working population, landed with the reference extracts.
        for path in (earlier / "working_population").iterdir():
            if not (staged / "working_population" / path.name).exists():
                shutil.copy(path, staged / "working_population" / path.name)
    for path in work.iterdir():  # a fresh server and Airflow home; the extracts are kept
        if path not in (staged, earlier):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    bench = Bench(work)
    bench.run("warehouse", "up")
    try:
        airflow_dsn, warehouse_dsn = prepare(bench, staged)
        history = [
            push_month(bench, earlier, m, airflow_dsn, warehouse_dsn) for m in earlier_labels
        ]
        row = push_month(bench, staged, MONTH, airflow_dsn, warehouse_dsn)
        row["earlier"] = [{k: h[k] for k in ("month", "rows", "total")} for h in history]
        landed = str(work / "landing" / "enrollment" / extract.name)
        row["bare_dbt"], runs = against_bare_build(bench, airflow_dsn, landed, ("local",))
        if "error" in runs["local"]:
            raise RuntimeError(f"the scheduled transform failed: {runs['local']['error']}")
        row["scheduled"] = runs["local"]
        measured_on = machine(warehouse_dsn)
    finally:
        bench.run("warehouse", "down")
    ran = [s for s in generated if s is not None]
    measured = {
        "row": row,
        "extract_mib": extract.stat().st_size / 2**20,
        "generate_s": sum(ran) if ran else None,
        "measured_on": measured_on,
        "at": time.time(),
    }
    if work != WORK:  # a trial run elsewhere: printed, not recorded
        text = report(**measured)
        print(text)
        return text
    save_measurements(MEASURED, measured)
    return render(measured)


# The measurements behind NATIONAL.md, re-rendered by `--render` when the report changes.
MEASURED = PROJECT_ROOT / "benchmarks" / "national.json"


def render(measured: dict) -> str:
    text = report(**measured)
    (PROJECT_ROOT / "benchmarks" / "NATIONAL.md").write_text(text)
    print(text)
    return text


def report(
    row: dict, extract_mib: float, generate_s: float | None, measured_on: str,
    at: float | None = None,
) -> str:  # fmt: skip
    stages, total = row["stages"], row["total"]
    airflow_s = total - sum(stages.values())
    lines = [
        "# One national month through the DAGs, measured",
        "",
        f"Run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(at))}. Machine: {measured_on}.",
        "Reproduce with `make bench-national` (`NATIONAL_EARLIER` earlier months; about "
        "90 minutes the first time, 35 GB of disk). The month is synthetic and "
        "national-shaped: every regency, "
        f"{row['rows']:,} participants loaded, {extract_mib:,.0f} MiB gzipped "
        f"(generated in {'an earlier run' if generate_s is None else f'{generate_s:.0f} s'}, "
        "not part of the pipeline).",
        "",
        "The extract lands, then `airflow dags test` runs `cakupan_ingest_enrollment`, "
        "`cakupan_transform` and `cakupan_report`, as the scheduler would on the Asset "
        "events. Stage seconds are Airflow's task times.",
        "",
        "| stage | seconds | per million participants | what it does |",
        "| --- | ---: | ---: | --- |",
    ]
    per_million = row["rows"] / 1e6
    for stage, what in STAGES:
        seconds = stages.get(stage, 0.0)
        lines.append(f"| {stage} | {seconds:.0f} | {seconds / per_million:.1f} | {what} |")
    other = sum(v for k, v in stages.items() if k not in dict(STAGES))
    lines += [
        f"| other tasks | {other:.0f} | | finding the extract, dbt docs for the Airflow UI |",
        f"| Airflow itself | {airflow_s:.0f} | | three `airflow dags test` start-ups, task "
        "bookkeeping |",
        f"| **whole monthly run** | **{total:.0f}** | {total / per_million:.1f} | "
        f"{total / 60:.1f} minutes |",
        "",
        f"- Goal: the whole run of a national month in at most {GOAL_SECONDS // 60} minutes "
        f"on 2 cores: **{'met' if total <= GOAL_SECONDS else 'not met'}** "
        f"({total / 60:.1f} minutes).",
        f"- Loading ran at {row['rows'] / stages['load_enrollment']:,.0f} rows/s inside "
        "Airflow (`make bench` measures the loader alone against its peers).",
        *_dbt_overhead(row),
        _earlier(row),
        "",
    ]
    return "\n".join(lines)


def _earlier(row: dict) -> str:
    earlier = row.get("earlier", [])
    scoped = (
        "The gate and the dbt tests read only the periods loaded since the last "
        "publication and the incremental models scan only the new month; `make "
        "bench-history` measures a year of smaller months ([HISTORY.md](HISTORY.md))."
    )
    if not earlier:
        return f"- Earlier months: none, this run starts from an empty raw table. {scoped}"
    runs = ", ".join(
        f"{e['month']}: {e['rows']:,} participants, {e['total']:.0f} s" for e in earlier
    )
    held = sum(e["rows"] for e in earlier)
    return (
        f"- Earlier months: {len(earlier)} national months were pushed through the same DAGs "
        f"first ({runs}), so raw held {held:,} participants before this month. {scoped}"
    )


def _dbt_overhead(row: dict) -> list[str]:
    """What running dbt as one Airflow task per model costs, against one bare `dbt build`."""
    if "bare_dbt" not in row:
        return []
    bare, scheduled = row["bare_dbt"], row["scheduled"]["dbt"]
    ratio = scheduled / bare
    return [
        f"- dbt as Airflow tasks: the dbt part of a transform run triggered on a live "
        f"Airflow (`airflow standalone`, LocalExecutor) took {scheduled:.0f} s (whole DAG "
        f"{row['scheduled']['run']:.0f} s); one bare `dbt build` of the same month "
        f"{bare:.0f} s: **{ratio:.2f}x** (goal: at most {DBT_GOAL}x, "
        f"**{'met' if ratio <= DBT_GOAL else 'not met'}**). Under `airflow dags test` above, "
        f"{row['stages'].get('dbt', 0):.0f} s.",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.national", description=__doc__)
    parser.add_argument(
        "--rows",
        type=int,
        default=NATIONAL_ROWS,
        help="participants in the generated month (default: %(default)s)",
    )
    parser.add_argument(
        "--earlier-months",
        type=int,
        default=2,
        help="national months pushed through the DAGs before the measured one "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=WORK,
        help="folder for the server, Airflow home and extracts; NATIONAL.md is written "
        "only for the default (default: %(default)s)",
    )
    parser.add_argument(
        "--render",
        action="store_true",
        help=f"only write NATIONAL.md again from the last run's {MEASURED.name}",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.render:
        render(json.loads(MEASURED.read_text()))
    else:
        run(args.rows, args.earlier_months, args.work)


if __name__ == "__main__":
    main()
