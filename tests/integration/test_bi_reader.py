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
    """Every mart dbt defines, as small stand-ins (the access rules, not the data, are
    under test here); coverage_by_regency holds one row."""
    from psycopg import sql

    from cakupan.manifest import mart_columns

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create schema if not exists marts_build")
        for mart, columns in mart_columns().items():
            conn.execute(
                sql.SQL("create table marts_build.{} ({})").format(
                    sql.Identifier(mart),
                    sql.SQL(", ").join(
                        sql.SQL("{} text").format(sql.Identifier(c)) for c in columns
                    ),
                )
            )
        conn.execute(
            "insert into marts_build.coverage_by_regency (region_code, coverage_rate) "
            "values ('19.06', '0.31')"
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
