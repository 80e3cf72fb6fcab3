"""BI tools over TCP: `cakupan warehouse up --port N` on a server of its own, bi_reader
logs in with the password from its secret file and reads every published mart; a wrong
password, the superuser and another database are refused."""

from __future__ import annotations

import os
import re
import socket
import subprocess

import psycopg
import pytest
from psycopg import sql

from cakupan.generate import generate
from cakupan.loader import load_extract
from cakupan.manifest import mart_columns
from tests.conftest import REGIONS_CSV
from tests.helpers import CAKUPAN, load_landing, transform_and_publish

PASSWORD = "bi-secret-for-this-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cakupan(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CAKUPAN, *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def tcp_warehouse(tmp_path_factory):
    """An embedded server listening on localhost with one published month of Belitung
    Timur; yields (port, env of its CLI)."""
    root = tmp_path_factory.mktemp("tcp")
    secret = root / "bi_password"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o600)
    env = dict(
        os.environ,
        CAKUPAN_LOCAL_DIR=str(root / "local"),
        CAKUPAN_BI_PASSWORD_FILE=str(secret),
    )
    port = _free_port()
    up = _cakupan(env, "warehouse", "up", "--port", str(port))
    assert up.returncode == 0, up.stdout + up.stderr
    assert f"BI tools: host localhost port {port} database warehouse user bi_reader" in up.stdout
    assert "password set for bi_reader" in up.stdout
    try:
        dsn = _cakupan(env, "warehouse", "dsn").stdout.strip()
        load_extract(dsn, "regions", str(REGIONS_CSV))
        landing = root / "landing"
        generate(landing, "2025-01", "2025-01", seed=5, scale=0.2, regions=["19.06"])
        load_landing(dsn, landing, b"k" * 32, ("2025-01",))
        transform_and_publish(dsn, root / "target", "tcp-run")
        yield port, env
    finally:
        _cakupan(env, "warehouse", "down")


def _bi(port: int, password: str, user: str = "bi_reader", dbname: str = "warehouse"):
    return psycopg.connect(
        host="localhost",
        port=port,
        user=user,
        password=password,
        dbname=dbname,
        connect_timeout=10,
    )


def test_bi_reader_reads_every_mart_over_tcp(tcp_warehouse):
    port, _ = tcp_warehouse
    with _bi(port, PASSWORD) as conn:
        assert conn.execute("select inet_server_addr() is not null").fetchone()[0]  # TCP
        for mart in mart_columns():
            rows = conn.execute(
                sql.SQL("select count(*) from marts.{}").format(sql.Identifier(mart))
            ).fetchone()[0]
            assert rows > 0, f"marts.{mart} is empty"
        # Unqualified names find the marts; information_schema (what most BI tools'
        # pickers read) shows bi_reader no other schema of the warehouse.
        assert conn.execute("show search_path").fetchone()[0] == "marts"
        assert conn.execute("select count(*) from coverage_by_regency").fetchone()[0] > 0
        schemas = conn.execute(
            "select schema_name from information_schema.schemata order by 1"
        ).fetchall()
        assert [s for (s,) in schemas] == ["information_schema", "marts", "pg_catalog"]
        # Every mart carries the names it is grouped by; a province summed over some of
        # its regencies is flagged.
        for mart, columns in mart_columns().items():
            if "region_code" in columns and mart != "dim_region":
                assert {"region_name", "province_code", "province_name"} <= set(columns), mart
        assert conn.execute(
            "select distinct regencies_reporting, regencies_total, is_partial "
            "from coverage_by_province"
        ).fetchall() == [(1, 7, True)]
        comments = conn.execute(
            "select c.relname, obj_description(c.oid, 'pg_class') from pg_class as c "
            "where c.relnamespace = 'marts'::regnamespace and c.relkind = 'r'"
        ).fetchall()
        assert {name for name, _ in comments} == set(mart_columns())
        for name, comment in comments:
            assert "Grain:" in (comment or "") and "Sources:" in comment, name
        # The password travels as SCRAM and is stored as its verifier, never in clear.
        method = conn.execute("select current_setting('password_encryption')").fetchone()[0]
        assert method == "scram-sha-256"


@pytest.mark.parametrize(
    ("user", "password", "dbname", "refusal"),
    [
        ("bi_reader", "wrong", "warehouse", "password authentication failed"),
        ("postgres", "", "warehouse", "pg_hba.conf rejects connection"),
        ("bi_reader", PASSWORD, "airflow", "pg_hba.conf rejects connection"),
        ("cakupan_loader", "anything", "warehouse", "password authentication failed"),
    ],
)
def test_tcp_refuses_everyone_else(tcp_warehouse, user, password, dbname, refusal):
    port, _ = tcp_warehouse
    with pytest.raises(psycopg.OperationalError, match=refusal):
        _bi(port, password, user=user, dbname=dbname).close()


def test_port_in_use_is_one_clear_line(tcp_warehouse, tmp_path):
    port, env = tcp_warehouse
    other = dict(env, CAKUPAN_LOCAL_DIR=str(tmp_path / "other"))
    try:
        up = _cakupan(other, "warehouse", "up", "--port", str(port))
        assert up.returncode == 1
        last = up.stderr.strip().splitlines()[-1]
        assert re.fullmatch(
            rf"cakupan: error: PostgreSQL could not listen on localhost:{port} \(could not "
            r'bind IPv[46] address "[^"]+": Address already in use\); it runs on its socket '
            r"only\. Choose a free port",
            last,
        ), last
        assert "Traceback" not in up.stderr
    finally:
        _cakupan(other, "warehouse", "down")
