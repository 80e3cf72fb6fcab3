"""`cakupan warehouse up` after a crash whose recovery outlasts pg_ctl's 10-second wait:
it waits, with progress, instead of failing with a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

CAKUPAN = str(Path(sys.executable).parent / "cakupan")


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
