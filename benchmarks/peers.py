"""The loaders a team would pick instead of Cakupan's, each loading the same enrollment
CSV into the same server, each in a fresh process (its peak memory is its own; the
clock starts after imports). What each does and does not do is in PEERS, so the
comparison in RESULTS.md is read fairly.

Installed by `make bench` from benchmarks/requirements.txt (pinned in constraints.txt):
ADBC's PostgreSQL driver and dlt. Airflow's PostgresHook and pandas are already there.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import time
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

# name -> (label in the table, what it does, what it does not do)
PEERS = {
    "adbc": (
        "ADBC `adbc_ingest` of the file read by `pyarrow.csv`",
        "Arrow types inferred from the file (NIK and KPJ become bigint, dates date), binary COPY",
        "no validation, no pseudonymisation (NIK and name stored in clear), whole file in memory",
    ),
    "dlt": (
        "dlt: `filesystem` + `read_csv` source, postgres destination (CSV load files, COPY)",
        "pandas chunks, types inferred and evolved per chunk, load packages and state tables",
        "no validation, no pseudonymisation (NIK and name stored in clear)",
    ),
    "hook": (
        "Airflow `PostgresHook.copy_expert` into a typed table of the file's columns",
        "the server parses dates and small integers; a bad value fails the whole file",
        "no row-level checks, no quarantine, no pseudonymisation (NIK and name in clear)",
    ),
}

# The source file's columns with the types a careful Airflow user would give them.
HOOK_TABLE = """create table hook_peer (
    kpj text, nik text, name text, birth_date date, sex char(1), domicile_region_code text,
    segment text, programs text, employer_npp text, occupation_code smallint,
    ecosystem text, contribution_payer text, registration_date date, last_paid_month text,
    status text, poverty_decile smallint)"""


def tcp_uri(dsn: str, port: int) -> str:
    """The same database over TCP (dlt wants a host name, not a socket folder)."""
    info = conninfo_to_dict(dsn)
    return f"postgresql://{info['user']}@localhost:{port}/{info['dbname']}"


def _adbc(dsn: str, path: Path, work: Path) -> int:
    import adbc_driver_postgresql.dbapi as adbc
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(path)
    with adbc.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("drop table if exists adbc_peer")
        rows = cur.adbc_ingest("adbc_peer", table, mode="create")
        conn.commit()
    return rows


def _dlt(dsn: str, path: Path, work: Path) -> int:
    import dlt
    from dlt.sources.filesystem import filesystem, read_csv

    source = (
        filesystem(bucket_url=path.parent.as_uri(), file_glob=path.name) | read_csv()
    ).with_name("enrollment")
    pipeline = dlt.pipeline(
        pipeline_name="bench_dlt",
        destination=dlt.destinations.postgres(credentials=dsn.replace("@", ":bench@", 1)),
        dataset_name="dlt_peer",
        pipelines_dir=str(work / "dlt"),
    )
    pipeline.run(source, write_disposition="replace", loader_file_format="csv")
    with pipeline.sql_client() as client:
        return client.execute_sql("select count(*) from enrollment")[0][0]


def _hook(dsn: str, path: Path, work: Path) -> int:
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    info = conninfo_to_dict(dsn)
    os.environ["AIRFLOW_CONN_BENCH_PEER"] = json.dumps(
        {"conn_type": "postgres", "host": info["host"], "port": int(info.get("port", 5432)),
         "login": info["user"], "schema": info["dbname"]}
    )  # fmt: skip
    hook = PostgresHook(postgres_conn_id="bench_peer")
    hook.run("drop table if exists hook_peer")
    hook.run(HOOK_TABLE)
    hook.copy_expert("copy hook_peer from stdin with (format csv, header true)", str(path))
    return hook.get_first("select count(*) from hook_peer")[0]


# Imported before the clock starts: a long-running worker has them loaded already.
IMPORTS = {
    "adbc": ("adbc_driver_postgresql.dbapi", "pyarrow.csv"),
    "dlt": ("dlt", "dlt.sources.filesystem"),
    "hook": ("airflow.providers.postgres.hooks.postgres",),
}


def _child(name: str, dsn: str, path: str, work: str, queue) -> None:
    import importlib

    function = {"adbc": _adbc, "dlt": _dlt, "hook": _hook}[name]
    for module in IMPORTS[name]:
        importlib.import_module(module)
    start = time.perf_counter()
    rows = function(dsn, Path(path), Path(work))
    seconds = time.perf_counter() - start
    queue.put((rows, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def run_peer(name: str, dsn: str, path: Path, work: Path) -> tuple[int, float, float]:
    """(rows stored, seconds, peak MiB) of one peer's load of the file."""
    spawn = multiprocessing.get_context("spawn")
    queue = spawn.Queue()
    child = spawn.Process(target=_child, args=(name, dsn, str(path), str(work), queue))
    child.start()
    child.join()
    if child.exitcode:
        raise RuntimeError(f"peer {name} failed (exit {child.exitcode})")
    return queue.get()
