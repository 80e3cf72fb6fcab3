"""The real Kemendagri files load whole and reproduce the figures the data README states."""

import psycopg
import pytest

from cakupan.errors import ExtractError
from cakupan.loader import load_extract
from tests.conftest import POPULATION_CSV


def test_regions_reproduce_belitung_timur(dsn):
    with psycopg.connect(dsn) as conn:
        districts, villages = conn.execute(
            """select count(*), sum(village_count) from raw.regions
               where level = 3 and region_code like '19.06.%'"""
        ).fetchone()
        levels = dict(conn.execute("select level, count(*) from raw.regions group by 1"))
    assert (districts, villages) == (7, 39)
    assert levels[1] == 38 and levels[2] == 514


def test_population_figures(dsn):
    result = load_extract(dsn, "population", str(POPULATION_CSV))
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (553, 553, 0)
    with psycopg.connect(dsn) as conn:
        totals = dict(conn.execute("select region_code, total from raw.population_by_region"))
        audit = conn.execute(
            "select status, checksum_sha256, rows_loaded, period from audit.extract_loads "
            "where load_id = %s",
            (result.load_id,),
        ).fetchone()
    assert totals["19.06"] == 132_495
    assert totals["19.03"] == 216_079
    assert totals["21.03"] == 84_325
    assert totals["15.06"] == 336_978
    assert totals["64.74"] == 191_811
    assert totals["0"] == 284_973_643
    assert audit[0] == "loaded" and len(audit[1]) == 64 and audit[2] == 553
    assert audit[3] == "2025"


def test_population_row_faults_go_to_quarantine(dsn, tmp_path):
    lines = POPULATION_CSV.read_text().splitlines()
    lines[5] = "11.04,Kabupaten X,-5,10,5"  # negative count
    lines[6] = "99.99,Nowhere,1,1,2"  # unknown region
    lines[7] = lines[7].rsplit(",", 1)[0] + ",1"  # total != pria + wanita
    bad = tmp_path / "kemendagri_2025_population_by_region.csv"
    bad.write_text("\n".join(lines) + "\n")
    result = load_extract(dsn, "population", str(bad))
    assert result.rows_rejected == 3 and result.rows_loaded == 550
    with psycopg.connect(dsn) as conn:
        faults = conn.execute(
            "select line, column_name, reason from quarantine.rejected_rows "
            "where load_id = %s order by line",
            (result.load_id,),
        ).fetchall()
    assert faults[0][:2] == (6, "pria") and "negative count" in faults[0][2]
    assert faults[1][:2] == (7, "kode") and "unknown region" in faults[1][2]
    assert faults[2][:2] == (8, "total")


def test_file_without_period_in_name_is_refused(dsn, tmp_path):
    bad = tmp_path / "population.csv"
    bad.write_text(POPULATION_CSV.read_text())
    with pytest.raises(ExtractError, match="population.csv: cannot tell the period"):
        load_extract(dsn, "population", str(bad))
    with psycopg.connect(dsn) as conn:
        status, error = conn.execute(
            "select status, error from audit.extract_loads order by load_id desc limit 1"
        ).fetchone()
    assert status == "failed" and "cannot tell the period" in error
