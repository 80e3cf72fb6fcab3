"""Checks read only what was loaded since the last passed gate, so their cost does not
grow with history; and nothing they guard goes unguarded: every raw expectation still
fails on bad data in a new period, and the scoped dbt tests catch it there."""

from __future__ import annotations

import shutil

import psycopg
import pytest

from cakupan.contracts import DATASETS, ENROLLMENT
from cakupan.loader import load_extract
from cakupan.quality import run_gate
from cakupan.quality_suites import raw_suite
from tests.conftest import POPULATION_CSV, REGIONS_CSV
from tests.helpers import run_dbt

# Bad data written past the loader (as a hand edit or a bug would), one statement per
# fault, into the new period of each raw table. {p}: the partition.
VIOLATIONS = {
    "regions": [
        "update {p} set level = 4 where region_code = '11'",
        "update {p} set region_code = 'X1' where region_code = '12'",
        "update {p} set village_count = 5000 where region_code = '11.01.01'",
        "update {p} set region_code = '11.99.01' where region_code = '11.01.02'",
        "delete from {p} where region_code like '3%%'",  # under 7,000 rows left
    ],
    "population": [
        "update {p} set total = -5 where region_code = '11.01'",
        "update {p} set region_code = '99.99' where region_code = '11.02'",
        "update {p} set total = total + 1, male = male + 1 where region_code = '0'",
        "insert into {p} select * from {p} where region_code = '12.01'",
    ],
    "working_population": [
        "update {p} set sex = 'X' where ctid = (select min(ctid) from {p})",
        "update {p} set occupation_code = 99 where ctid = (select max(ctid) from {p})",
        "update {p} set population = -1 where occupation_code = 15 and sex = 'L' "
        "and age_band = '20-24'",
        "update {p} set regency_code = '99.99' where occupation_code = 9 and sex = 'P' "
        "and age_band = '30-34'",
        "update {p} set population = 1000000000 where occupation_code = 88 and sex = 'L' "
        "and age_band = '40-44'",
        "delete from {p} where occupation_code = 5 and sex = 'L' and age_band = '25-29'",
    ],
    "enrollment": [
        "update {p} set nik_token = repeat('Z', 64) where _line = 2",
        "update {p} set kpj = 'abc' where _line = 3",
        "update {p} set segment = 'XX' where _line = 4",
        "update {p} set status = 'gone' where _line = 5",
        "update {p} set contribution_payer = 'nobody' where _line = 6",
        "update {p} set ecosystem = 'moon' where _line = 7",
        "update {p} set poverty_decile = 11 where _line = 8",
        "update {p} set regency_code = '99.99' where _line = 9",
        "update {p} set has_jkk = false where _line = 10",
        "delete from {p} where _line = 11",
    ],
}


def expectation_key(expectation) -> tuple:
    config = expectation.configuration
    return (config.type, config.kwargs.get("column"), config.description)


def failure_key(failure) -> tuple:
    return (failure.expectation, failure.column, failure.description)


@pytest.fixture
def checked_history(dsn, key, published, tmp_path):
    """Published history whose gate passed, then a new period of every raw table."""
    new = tmp_path / "new"
    new.mkdir()
    editions = {
        "regions": shutil.copy(REGIONS_CSV, new / "kemendagri_2026_regions.csv"),
        "population": shutil.copy(POPULATION_CSV, new / "kemendagri_2026_population_by_region.csv"),
        "working_population": shutil.copy(
            published / "working_population" / "working_population_2025-S1.csv",
            new / "working_population_2025-S2.csv",
        ),
        "enrollment": published / "enrollment" / "enrollment_2025-03.csv.gz",
    }
    periods = {}
    for name, path in editions.items():
        result = load_extract(dsn, name, str(path), key=key)
        periods[name] = result.period
    return periods


def _partition(dataset_name: str, period: str) -> str:
    from cakupan.partitions import partition_name

    return f"raw.{partition_name(DATASETS[dataset_name], period)}"


def test_every_raw_expectation_fails_on_bad_data_in_a_new_period(dsn, checked_history):
    with psycopg.connect(dsn) as conn:
        for name, statements in VIOLATIONS.items():
            for statement in statements:
                conn.execute(statement.format(p=_partition(name, checked_history[name])))
        for dataset in DATASETS.values():  # a column the contract does not know
            conn.execute(f"alter table raw.{dataset.table} add column smuggled text")
    gate = run_gate(dsn, "bad-new-periods")
    assert not gate.passed
    for name, dataset in DATASETS.items():
        suite = f"raw.{dataset.table} {checked_history[name]}"
        failed = {failure_key(f) for f in gate.failures if f.suite == suite}
        expected = {expectation_key(e) for e in raw_suite(dataset)}
        assert expected <= failed, (suite, expected - failed)


def test_periods_already_checked_are_not_read_again(dsn, checked_history, tmp_path):
    """Bad data hand-written into a month an earlier gate passed is not read again (the
    reason the gate's cost stays flat; such a month changes only through a load, which
    makes it new again, and whole-history invariants watch the partitions)."""
    run_dbt(dsn, tmp_path / "target", "build")
    with psycopg.connect(dsn) as conn:
        conn.execute(
            f"update {_partition('enrollment', '2025-01-01')} set status = 'gone' where _line = 2"
        )
    gate = run_gate(dsn, "old-month")
    raw_suites = {s for s in gate.suites if s.startswith("raw.")}
    assert raw_suites == {
        "raw.regions 2026",
        "raw.population_by_region 2026",
        "raw.working_population 2025-S2",
        "raw.enrollment_snapshot 2025-03-01",
    }
    assert gate.passed, gate.summary()


def test_scoped_dbt_tests_read_the_new_month_only(dsn, checked_history, tmp_path):
    with psycopg.connect(dsn) as conn:
        conn.execute(
            f"update {_partition('enrollment', '2025-03-01')} set segment = 'XX' where _line = 2"
        )
        conn.execute(
            f"update {_partition('enrollment', '2025-01-01')} "
            "set contribution_payer = 'nobody' where _line = 2"
        )
    target = tmp_path / "target"
    out = run_dbt(dsn, target, "build", "--select", "stg_bpjs__enrollment", check=False)
    # The new month's bad segment is caught; January's bad payer is not re-read.
    assert "FAIL 1 relationships_stg_bpjs__enrollment_segment" in out, out[-3000:]
    assert "PASS relationships_stg_bpjs__enrollment_contribution_payer" in out, out[-3000:]
    compiled = target / "compiled"  # tests compile under the yml file that declares them
    tests = [p.read_text() for p in compiled.rglob("_staging.yml/*stg_bpjs__enrol*.sql")]
    assert tests and all(f"{ENROLLMENT.period_column} in ('2025-03-01')" in t for t in tests)
