"""`cakupan warehouse up` after a crash whose recovery outlasts pg_ctl's 10-second wait:
it waits, with progress, instead of failing with a traceback."""

from __future__ import annotations

import os
import subprocess
import time

from tests.helpers import CAKUPAN


def test_warehouse_up_waits_for_a_long_recovery(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CAKUPAN"))}
    env.update(CAKUPAN_LOCAL_DIR=str(tmp_path), CAKUPAN_STARTUP_TIMEOUT_S="120")
    subprocess.run([CAKUPAN, "warehouse", "up"], env=env, check=True, capture_output=True)
    subprocess.run([CAKUPAN, "warehouse", "down"], env=env, check=True, capture_output=True)
    # Archive recovery whose every restore takes 6 s: the server stays in recovery for
    # longer than pg_ctl waits, as a long crash recovery does, then comes up by itself.
    pgdata = tmp_path / "pgdata"
    (pgdata / "recovery.signal").touch()
    with open(pgdata / "postgresql.auto.conf", "a") as conf:
        conf.write("hot_standby = off\nrestore_command = 'sleep 6; exit 1'\n")
    started = time.monotonic()
    try:
        up = subprocess.run(
            [CAKUPAN, "warehouse", "up"], env=env, capture_output=True, text=True, timeout=180
        )
    finally:
        subprocess.run([CAKUPAN, "warehouse", "down"], env=env, capture_output=True)
    assert up.returncode == 0, up.stdout + up.stderr
    assert time.monotonic() - started > 10  # longer than pg_ctl's own wait
    assert "PostgreSQL is recovering" in up.stdout and "warehouse: postgresql://" in up.stdout
    assert "Traceback" not in up.stderr


def test_check_reports_what_a_server_killed_during_a_load_left(tmp_path):
    import csv
    import signal

    import psycopg

    from cakupan.contracts import ENROLLMENT
    from tests.conftest import REGIONS_CSV
    from tests.helpers import person

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CAKUPAN"))}
    env.update(CAKUPAN_LOCAL_DIR=str(tmp_path), CAKUPAN_NIK_HMAC_KEY="k" * 32)

    def cakupan(*args, check=False):
        proc = subprocess.run(
            [CAKUPAN, *args], env=env, capture_output=True, text=True, timeout=300
        )
        assert not check or proc.returncode == 0, (args, proc.stdout[-2000:], proc.stderr[-2000:])
        return proc

    cakupan("warehouse", "up", check=True)
    try:
        cakupan("load", "regions", str(REGIONS_CSV), check=True)
        extract = tmp_path / "enrollment_2025-01.csv"
        with open(extract, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(ENROLLMENT.columns)
            row = person(1)
            for i in range(800_000):
                writer.writerow([f"15{i:09d}", *[row[c] for c in ENROLLMENT.columns[1:]]])
        dsn = cakupan("warehouse", "dsn").stdout.strip()
        load = subprocess.Popen(
            [CAKUPAN, "load", "enrollment", str(extract)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        with psycopg.connect(dsn, autocommit=True) as conn:
            deadline = time.monotonic() + 120
            while not conn.execute(
                "select count(*) from pg_stat_progress_copy where bytes_processed > 20000000"
            ).fetchone()[0]:
                assert time.monotonic() < deadline and load.poll() is None
                time.sleep(0.05)
        postmaster = int((tmp_path / "pgdata" / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signal.SIGKILL)
        load.wait(60)
        # At once: the killed postmaster is still a zombie until its parent reaps it.
        cakupan("warehouse", "up", check=True)
        check = cakupan("warehouse", "check")
        assert check.returncode == 1, check.stdout + check.stderr
        assert "leftover staging table raw.enrollment_snapshot_p2025_01_01__load_2" in check.stdout
        assert "database warehouse: " in check.stdout and "orphaned file(s)" in check.stdout
        orphaned_mib = float(check.stdout.split("orphaned file(s), ")[1].split(" MiB")[0])
        assert orphaned_mib > 1  # the rows COPYed before the kill
    finally:
        cakupan("warehouse", "down")
