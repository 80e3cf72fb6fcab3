"""BI tools log in as bi_reader: published marts readable, nothing else."""

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from cakupan.publish import publish


def as_bi_reader(dsn: str) -> str:
    params = conninfo_to_dict(dsn)
    params["user"] = "bi_reader"
    return make_conninfo(**params)


@pytest.fixture
def with_marts(dsn):
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create schema if not exists marts_build")
        conn.execute(
            "create table marts_build.coverage_by_regency as "
            "select '19.06'::text as region_code, 0.31::numeric as coverage_rate"
        )
    publish(dsn, "bi-test")
    return dsn


def test_bi_reader_reads_published_marts(with_marts):
    with psycopg.connect(as_bi_reader(with_marts)) as conn:
        assert conn.execute("select region_code from marts.coverage_by_regency").fetchall() == [
            ("19.06",)
        ]


@pytest.mark.parametrize(
    "table",
    [
        "raw.enrollment_snapshot",
        "raw.regions",
        "audit.extract_loads",
        "quarantine.rejected_rows",
        "marts_build.coverage_by_regency",
    ],
)
def test_bi_reader_cannot_read_anything_else(with_marts, table):
    with (
        psycopg.connect(as_bi_reader(with_marts)) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute(f"select * from {table} limit 1")


def test_bi_reader_cannot_write_marts(with_marts):
    with (
        psycopg.connect(as_bi_reader(with_marts)) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("delete from marts.coverage_by_regency")
