"""Small builders for test extracts."""

from __future__ import annotations

import csv
import gzip
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cakupan.contracts import ENROLLMENT

# The `cakupan` CLI of the venv running the tests.
CAKUPAN = str(Path(sys.executable).parent / "cakupan")

GOOD_ROW = {
    "kpj": "15060000001",
    "nik": "1506070601910001",
    "name": "Agus Saputra",
    "birth_date": "1991-01-06",
    "sex": "L",
    "domicile_region_code": "15.06.07",
    "segment": "PU",
    "programs": "JKK|JKM|JHT|JP",
    "employer_npp": "15060221",
    "occupation_code": "15",
    "ecosystem": "",
    "contribution_payer": "employer",
    "registration_date": "2019-09-13",
    "last_paid_month": "2025-01",
    "status": "active",
    "poverty_decile": "",
}


def person(i: int, **changes) -> dict:
    row = dict(GOOD_ROW, kpj=f"150600{i:05d}", nik=f"150607060191{i % 10000:04d}")
    row.update(changes)
    return row


def write_csv(
    path: Path,
    rows: list[dict],
    header=ENROLLMENT.columns,
    delimiter=",",
    bom=False,
    gz=False,
) -> Path:
    opener = gzip.open if gz else open
    with opener(path, "wt", newline="", encoding="utf-8-sig" if bom else "utf-8") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(header)
        for r in rows:
            w.writerow([r.get(c, "") for c in header])
    return path


def table_checksum(conn, table: str) -> str:
    rows = conn.execute(f"select * from {table} order by 1, 2, 3").fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def run_dbt(dsn: str, target: Path, *args: str, check: bool = True) -> str:
    """Real dbt on the given warehouse, with its own target dir (the repo's stays intact);
    `check`: the run must succeed."""
    env = dict(os.environ, CAKUPAN_WAREHOUSE_DSN=dsn)
    proc = subprocess.run(
        [CAKUPAN, "dbt", *args, "--target-path", str(target)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check:
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc.stdout


def load_landing(dsn: str, landing: Path, key: bytes, months: tuple[str, ...] = ()) -> None:
    """The real population file, then a generated landing folder's 2025-S1 working
    population and the given months' enrollment extracts."""
    from cakupan.loader import load_extract
    from tests.conftest import POPULATION_CSV

    load_extract(dsn, "population", str(POPULATION_CSV))
    load_extract(
        dsn,
        "working_population",
        str(landing / "working_population" / "working_population_2025-S1.csv"),
    )
    for month in months:
        path = landing / "enrollment" / f"enrollment_{month}.csv.gz"
        load_extract(dsn, "enrollment", str(path), key=key)


def transform_and_publish(dsn: str, target: Path, run_id: str) -> dict[str, int]:
    """dbt build, a quality gate that must pass, then publication; the published counts."""
    from cakupan.publish import publish
    from cakupan.quality import run_gate

    run_dbt(dsn, target, "build")
    gate = run_gate(dsn, run_id)
    assert gate.passed, gate.summary()
    return publish(dsn, run_id)


# Debian's headless chromium, for pages (the report, GX Data Docs).
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
needs_browser = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="chromium not installed (.ci/run installs it: apt-get install chromium)",
)


def chromium(tmp_path, *args) -> str:
    proc = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout
