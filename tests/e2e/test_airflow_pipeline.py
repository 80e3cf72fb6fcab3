"""Real Airflow runs (`airflow dags test`) of the ingestion and transform DAGs on their own embedded
PostgreSQL, landing folder and Airflow home, as `make demo` does."""

from __future__ import annotations

import contextlib
import email
import json
import os
import subprocess
from pathlib import Path

import psycopg
import pytest

from tests.helpers import CAKUPAN, table_checksum

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    local_dir = tmp_path_factory.mktemp("local")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CAKUPAN"))}
    env.update(CAKUPAN_LOCAL_DIR=str(local_dir), AIRFLOW__CORE__LOAD_EXAMPLES="False")

    def run(*args, check=True, extra_env=None):
        proc = subprocess.run(
            [CAKUPAN, *args],
            env={**env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=600,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"cakupan {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
            )
        return proc

    run.env = env
    run("warehouse", "up")
    run(
        "landing",
        "init",
        "--regions",
        "19.06",
        "--scale",
        "0.2",
        "--from",
        "2025-01",
        "--to",
        "2025-02",
    )
    run("airflow", "db", "migrate")
    run("airflow", "dags", "reserialize")
    dsn = run("warehouse", "dsn").stdout.strip()
    yield run, dsn, local_dir
    run("warehouse", "down", check=False)


def test_ingestion_dags_load_everything(local):
    run, dsn, local_dir = local
    for dag in ("cakupan_ingest_population", "cakupan_ingest_enrollment", "cakupan_transform"):
        out = run("airflow", "dags", "test", dag)
        assert "state=success" in out.stdout + out.stderr
    # The gate's verdict is a log line of its own, so `make demo` (which shows the
    # cakupan.* lines of each DAG's log) echoes it.
    assert any(
        "quality gate PASSED" in line and "cakupan.quality" in line
        for line in (out.stdout + out.stderr).splitlines()
    )
    # Machine-readable output is only that: a script can parse it.
    listed = json.loads(run("airflow", "dags", "list", "-o", "json").stdout)
    assert {d["dag_id"] for d in listed} >= {"cakupan_transform", "cakupan_report"}
    with psycopg.connect(dsn) as conn:
        loads = conn.execute(
            """select dataset, period, status, run_id, dag_id from audit.extract_loads
               order by load_id"""
        ).fetchall()
        months = conn.execute(
            "select count(distinct snapshot_month) from raw.enrollment_snapshot"
        ).fetchone()[0]
        population = conn.execute(
            "select total from raw.population_by_region where region_code = '19.06'"
        ).fetchone()[0]
    # Reference extracts load first (the enrollment check needs the regions); the
    # months are mapped tasks, so their order between themselves is free.
    assert [(d, p, s) for d, p, s, _, _ in loads[:3]] == [
        ("regions", "2025", "loaded"),
        ("population", "2025", "loaded"),
        ("working_population", "2025-S1", "loaded"),
    ]
    assert sorted((d, p, s) for d, p, s, _, _ in loads[3:]) == [
        ("enrollment", "2025-01-01", "loaded"),
        ("enrollment", "2025-02-01", "loaded"),
    ]
    assert all(
        r.startswith("manual__") and dag.startswith("cakupan_ingest_") for *_, r, dag in loads
    )
    assert months == 2 and population == 132_495
    with psycopg.connect(dsn) as conn:
        coverage = conn.execute(
            """select coverage_rate, target_rate from marts.coverage_by_regency
               where region_code = '19.06' and period = '2025-02-01'"""
        ).fetchone()
    assert round(float(coverage[0]), 2) == 0.31 and float(coverage[1]) == 0.61

    # OpenLineage: the loader's raw table, dbt's reads and writes (Cosmos) and the
    # published marts reach the local file transport as a lineage backend would get them.
    events = [
        json.loads(line)
        for line in (local_dir / "openlineage" / "events.jsonl").read_text().splitlines()
    ]
    outputs = {
        (e["job"]["name"], o["name"])
        for e in events
        if e["eventType"] == "COMPLETE"
        for o in e.get("outputs", [])
    }
    assert ("cakupan_ingest_enrollment.load_enrollment", "warehouse.raw.enrollment_snapshot") in (
        outputs
    )
    assert ("cakupan_transform.publish_marts", "warehouse.marts.coverage_by_regency") in outputs
    dbt_inputs = {
        i["name"]
        for e in events
        if e["job"]["name"] == "cakupan_transform.dbt.stg_bpjs__enrollment_model_build"
        for i in e.get("inputs", [])
    }
    assert "warehouse.raw.enrollment_snapshot" in dbt_inputs
    assert all(e["job"]["namespace"] == "cakupan" for e in events)

    # A second run finds nothing new: idempotent.
    out = run("airflow", "dags", "test", "cakupan_ingest_enrollment")
    assert "unchanged since its last load, skipped" in out.stdout + out.stderr
    with psycopg.connect(dsn) as conn:
        assert conn.execute("select count(*) from audit.extract_loads").fetchone()[0] == 5


def test_report_dag_writes_the_report_and_dbt_docs_the_ui_serves(local):
    """cakupan_report after a publication: the report page, and dbt docs that the real
    api-server shows through Cosmos's plugin (Browse > dbt docs)."""
    import socket
    import time
    import urllib.request

    run, _, local_dir = local
    out = run("airflow", "dags", "test", "cakupan_report")
    assert "state=success" in out.stdout + out.stderr
    page = (local_dir / "report" / "index.html").read_text()
    assert 'id="vulnerable"' in page and "Kabupaten Belitung Timur" in page
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (local_dir / "api-server.log").open("w")
    server = subprocess.Popen(
        [CAKUPAN, "airflow", "api-server", "--port", str(port)],
        env=run.env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/v2/version", timeout=2)
                break
            except OSError:
                assert server.poll() is None, (local_dir / "api-server.log").read_text()[-3000:]
                time.sleep(1)
        view = urllib.request.urlopen(f"{base}/cosmos/cakupan/dbt_docs", timeout=30).read()
        assert b'<iframe src="/cosmos/cakupan/dbt_docs_index.html"' in view
        index = urllib.request.urlopen(f"{base}/cosmos/cakupan/dbt_docs_index.html", timeout=30)
        assert index.status == 200 and b"dbt" in index.read()
        manifest = json.load(urllib.request.urlopen(f"{base}/cosmos/cakupan/manifest.json"))
        assert "model.cakupan.coverage_by_regency" in manifest["nodes"]
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()


@contextlib.contextmanager
def smtp_sink():
    """A real SMTP server on localhost (the standard library's) that keeps what it gets."""
    import asyncore
    import smtpd
    import threading

    mails: list[tuple[list[str], str]] = []

    class Sink(smtpd.SMTPServer):
        def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
            mails.append((rcpttos, data.decode() if isinstance(data, bytes) else data))

    server = Sink(("127.0.0.1", 0), None)
    thread = threading.Thread(target=asyncore.loop, kwargs={"timeout": 0.1}, daemon=True)
    thread.start()
    try:
        yield server.socket.getsockname()[1], mails
    finally:
        server.close()
        thread.join(timeout=5)


def test_bad_resend_fails_the_run_and_changes_nothing(local):
    run, dsn, local_dir = local
    with psycopg.connect(dsn) as conn:
        before = table_checksum(conn, "raw.enrollment_snapshot")
    bad = local_dir / "landing" / "enrollment" / "enrollment_2025-01.csv.gz"
    import gzip

    bad.write_bytes(gzip.compress(b"kpj;nik;nama\n15060000001;1506070601910001;Agus\n"))
    with smtp_sink() as (port, mails):
        alerts = {
            "CAKUPAN_ALERT_EMAIL": "ops@example.org",
            "AIRFLOW_CONN_SMTP_DEFAULT": json.dumps(
                {
                    "conn_type": "smtp",
                    "host": "127.0.0.1",
                    "port": port,
                    "extra": {
                        "from_email": "cakupan@example.org",
                        "disable_ssl": True,
                        "disable_tls": True,
                    },
                }
            ),
        }
        out = run(
            "airflow", "dags", "test", "cakupan_ingest_enrollment", check=False, extra_env=alerts
        )
    logs = out.stdout + out.stderr
    assert "state=failed" in logs
    assert "Extract refused" in logs and "enrollment_2025-01.csv.gz, line 1: wrong header" in logs
    # The failure line reached the operator by e-mail, through a real SMTP exchange, and
    # the mail quotes nothing of the file.
    assert len(mails) == 1, logs[-3000:]
    recipients, raw = mails[0]
    assert recipients == ["ops@example.org"]
    message = email.message_from_string(raw)
    body = "".join(
        part.get_payload(decode=True).decode()
        for part in message.walk()
        if part.get_content_type() == "text/html"
    )
    assert message["Subject"].startswith("CAKUPAN FAILURE dag=cakupan_ingest_enrollment task=")
    assert "CAKUPAN FAILURE dag=cakupan_ingest_enrollment" in body and "wrong header" in body
    assert "1506070601910001" not in raw + body and "Agus" not in raw + body
    with psycopg.connect(dsn) as conn:
        assert table_checksum(conn, "raw.enrollment_snapshot") == before
        assert (
            conn.execute(
                "select status from audit.extract_loads order by load_id desc limit 1"
            ).fetchone()[0]
            == "failed"
        )


def test_hostile_files_of_every_dataset_leak_nothing(local, tmp_path):
    """Hostile extracts of each dataset, through real DAG runs: every one is refused, the
    published marts do not change, and no planted NIK, name or birth date is anywhere a
    run writes to: warehouse tables (quarantine and audit included), the PostgreSQL log,
    task logs, GX Data Docs, dbt artifacts."""
    from cakupan.contracts import POPULATION, REGIONS, WORKING_POPULATION
    from tests import hostile

    run, dsn, local_dir = local
    with psycopg.connect(dsn) as conn:
        published = table_checksum(conn, "marts.coverage_by_regency")
    folders = {name: tmp_path / name for name in ("regions", "population", "wp", "enrollment")}
    for folder in folders.values():
        folder.mkdir()
    hostile.reference_with_niks(folders["regions"] / "kemendagri_2024_regions.csv", REGIONS)
    reference = Path(__file__).resolve().parents[2] / "sample_data" / "reference"
    lines = (reference / "kemendagri_2025_regions.csv").read_text().splitlines(keepends=True)
    (folders["regions"] / "kemendagri_2026_regions.csv").write_text("".join(lines[:7]))
    hostile.reference_with_niks(
        folders["population"] / "kemendagri_2024_population_by_region.csv", POPULATION
    )
    hostile.reference_with_niks(
        folders["wp"] / "working_population_2024-S2.csv", WORKING_POPULATION
    )
    enrollment = folders["enrollment"]
    hostile.swapped_columns(enrollment / "enrollment_2025-03.csv.gz")
    hostile.header_missing(enrollment / "enrollment_2025-04.csv")
    hostile.ragged_row(enrollment / "enrollment_2025-05.csv", n=10)
    hostile.impossible_dates(enrollment / "enrollment_2025-06.csv", n=20)

    outputs = []
    sources = {
        "CAKUPAN_SOURCE_REGIONS": str(folders["regions"]),
        "CAKUPAN_SOURCE_POPULATION": str(folders["population"]),
        "CAKUPAN_SOURCE_WORKING_POPULATION": str(folders["wp"]),
        "CAKUPAN_SOURCE_ENROLLMENT": str(folders["enrollment"]),
    }
    for dag in ("cakupan_ingest_population", "cakupan_ingest_enrollment"):
        out = run("airflow", "dags", "test", dag, check=False, extra_env=sources)
        logs = out.stdout + out.stderr
        assert "state=failed" in logs and "Extract refused" in logs, logs[-3000:]
        outputs.append(logs)
    hostile_files = sorted(p.name for folder in folders.values() for p in folder.iterdir())
    with psycopg.connect(dsn) as conn:
        refusals = dict(
            conn.execute(
                "select file_name, status from audit.extract_loads where file_name = any(%s)",
                (hostile_files,),
            )
        )
        quarantined = conn.execute("select count(*) from quarantine.rejected_rows").fetchone()[0]
    assert refusals == dict.fromkeys(hostile_files, "failed") and quarantined > 40

    out = run("airflow", "dags", "test", "cakupan_transform")
    outputs.append(out.stdout + out.stderr)
    assert "state=success" in outputs[-1]
    with psycopg.connect(dsn) as conn:
        assert table_checksum(conn, "marts.coverage_by_regency") == published
        tables = conn.execute(
            """select table_schema, table_name from information_schema.tables
               where table_schema not in ('pg_catalog', 'information_schema')"""
        ).fetchall()
        warehouse = "\n".join(
            repr(row)
            for schema, table in tables
            for row in conn.execute(f'select * from "{schema}"."{table}"')
        )
    root = Path(__file__).resolve().parents[2]
    places = {"warehouse tables": warehouse, "dags test output": "\n".join(outputs)}
    for label, folder in [
        ("PostgreSQL log", local_dir / "pgdata"),
        ("Airflow task logs", local_dir / "airflow" / "logs"),
        ("GX Data Docs", root / "expectations" / "gx" / "uncommitted"),
        ("dbt target", root / "dbt_project" / "target"),
        ("OpenLineage events", local_dir / "openlineage"),
    ]:
        files = [p for p in folder.rglob("*") if p.is_file() and p.suffix not in (".so",)]
        if label == "PostgreSQL log":
            files = [folder / "log"]
        places[label] = "\n".join(p.read_bytes().decode("utf-8", "replace") for p in files)
    assert places["PostgreSQL log"] and places["GX Data Docs"] and places["OpenLineage events"]
    found = {
        label: [value for value in hostile.PLANTED if value in text]
        for label, text in places.items()
    }
    assert found == {label: [] for label in places}


def test_retention_dag_drops_published_months_and_the_marts_keep_them(local):
    """The cakupan_retention DAG, with a one-month window: every published raw month goes
    (audited, quarantine included), and the next transform publishes the same marts."""
    run, dsn, _ = local
    with psycopg.connect(dsn) as conn:
        published = table_checksum(conn, "marts.coverage_by_regency")
        months = [
            r[0]
            for r in conn.execute(
                "select period from audit.raw_partitions "
                "where table_name = 'enrollment_snapshot' order by 1"
            )
        ]
    assert months == ["2025-01-01", "2025-02-01"]
    out = run("airflow", "dags", "test", "cakupan_retention", "-c", '{"retention_months": 1}')
    logs = out.stdout + out.stderr
    assert "state=success" in logs and "retired 2 period(s)" in logs, logs[-3000:]
    with psycopg.connect(dsn) as conn:
        assert conn.execute("select count(*) from raw.enrollment_snapshot").fetchone() == (0,)
        retired = conn.execute(
            "select period, run_id like 'manual__%%' from audit.retired_periods order by 1"
        ).fetchall()
        assert retired == [("2025-01-01", True), ("2025-02-01", True)]
        assert conn.execute(
            """select count(*) from quarantine.rejected_rows q join audit.extract_loads l
               using (load_id) where l.period = any(%s)""",
            (months,),
        ).fetchone() == (0,)
    out = run("airflow", "dags", "test", "cakupan_transform")
    assert "state=success" in out.stdout + out.stderr
    with psycopg.connect(dsn) as conn:
        assert table_checksum(conn, "marts.coverage_by_regency") == published
