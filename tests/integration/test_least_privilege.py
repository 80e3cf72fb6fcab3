"""Least privilege: each duty connects as its own role, does its whole job with it, and
cannot do another duty's work."""

from __future__ import annotations

import psycopg
import pytest

from cakupan.generate import generate
from cakupan.report_page import build_report
from tests.helpers import load_landing, transform_and_publish


def refused(dsn: str, statement: str) -> bool:
    """True if the role behind dsn may not run the statement (nothing is changed)."""
    with psycopg.connect(dsn) as conn:
        try:
            conn.execute(statement)
        except (psycopg.errors.InsufficientPrivilege, psycopg.OperationalError):
            return True
        finally:
            conn.rollback()
    return False


def test_each_duty_does_its_whole_job_with_its_own_role(duties, key, tmp_path):
    landing = tmp_path / "landing"
    generate(landing, "2025-01", "2025-02", seed=3, scale=0.1, regions=["19.06"])
    loader, transformer = duties["loader"], duties["transformer"]
    load_landing(loader, landing, key, ("2025-01", "2025-02"))
    counts = transform_and_publish(transformer, tmp_path / "target", "least-privilege")
    assert counts["coverage_by_regency"] == 2
    page = build_report(duties["bi"], tmp_path / "report").read_text()
    assert "Kabupaten Belitung Timur" in page

    with psycopg.connect(transformer) as conn:
        (partition,) = conn.execute(
            "select tablename from pg_tables where schemaname = 'raw' "
            "and tablename like 'enrollment_snapshot_p2025_01%%'"
        ).fetchone()
    # The loader writes raw, quarantine and its audit rows: nothing of the transform's.
    for statement in (
        "create table marts_build.x (i int)",
        "select * from marts.coverage_by_regency",
        "update audit.transform_watermarks set snapshot = null",
        "insert into audit.quality_runs (run_id, checkpoint, suite, success, "
        "failed_expectations) values ('x', 'x', 'x', true, 0)",
        "delete from audit.publications",
    ):
        assert refused(loader, statement), statement
    # The transformer reads raw and audit, and changes neither.
    for statement in (
        "insert into raw.enrollment_snapshot select * from raw.enrollment_snapshot limit 1",
        f"drop table raw.{partition}",
        "update audit.extract_loads set status = 'failed'",
        "insert into quarantine.rejected_rows (load_id, file_name, reason) values (1, 'x', 'x')",
        "create table raw.x (i int)",
    ):
        assert refused(transformer, statement), statement
    # BI reads the published marts, nothing else, and makes no temporary tables.
    for statement in (
        "select * from raw.enrollment_snapshot",
        "select * from audit.extract_loads",
        "select * from quarantine.rejected_rows",
        "select * from marts_build.coverage_by_regency",
        "select * from intermediate.int_enrollment__regency_month",
        "create temporary table scratch (i int)",
        "delete from marts.coverage_by_regency",
    ):
        assert refused(duties["bi"], statement), statement
    with psycopg.connect(duties["bi"]) as conn:
        assert conn.execute("select count(*) from marts.coverage_by_regency").fetchone() == (2,)


def test_bi_reader_may_not_connect_to_airflows_database(pg_server):
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    from cakupan.embedded import close_airflow_database

    with psycopg.connect(pg_server.get_uri("postgres"), autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = 'airflow'").fetchone():
            conn.execute("create database airflow")
        close_airflow_database(conn)
    params = conninfo_to_dict(pg_server.get_uri("airflow"))
    for role in ("bi_reader", "cakupan_loader", "cakupan_transformer"):
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            psycopg.connect(make_conninfo(**dict(params, user=role))).close()
