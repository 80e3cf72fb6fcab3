"""Connections to the warehouse and its bootstrap.

Which warehouse: CAKUPAN_WAREHOUSE_DSN, else the Airflow-style URI in
AIRFLOW_CONN_WAREHOUSE (a libpq URI too), else the embedded server under
.local/. Inside Airflow tasks the `warehouse` connection is read through
Airflow, so any secrets backend works.
"""

from __future__ import annotations

import hashlib
from importlib.resources import files
from urllib.parse import urlsplit, urlunsplit

import psycopg

from cakupan.errors import ConfigurationError

WAREHOUSE_DB = "warehouse"
AIRFLOW_CONN_ID = "warehouse"
# Each duty connects as its own role (bootstrap.sql grants what each may do): the Airflow
# connection warehouse_<duty>, or for the CLI CAKUPAN_<DUTY>_DSN, else the warehouse DSN
# with the role as user (enough where local logins are trusted, as on the embedded server).
DUTY_ROLES = {
    "loader": "cakupan_loader",
    "transformer": "cakupan_transformer",
    "bi": "bi_reader",
}


def _libpq_uri(airflow_uri: str) -> str:
    """Airflow connection URIs are libpq URIs once the scheme is postgresql and extras go."""
    parts = urlsplit(airflow_uri)
    return urlunsplit(("postgresql", parts.netloc, parts.path, "", ""))


def airflow_conn_id(duty: str) -> str:
    return f"{AIRFLOW_CONN_ID}_{duty}"


def dsn_from_airflow(duty: str) -> str:
    """The DSN of a duty's Airflow connection (warehouse_loader, ...; any secrets backend)."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    from cakupan.errors import ConfigurationError

    try:
        c = BaseHook.get_connection(airflow_conn_id(duty))
    except AirflowNotFoundException:
        raise ConfigurationError(
            f"the Airflow connection '{airflow_conn_id(duty)}' is not defined: the "
            f"{duty} connects to the warehouse as role {DUTY_ROLES[duty]} with it"
        ) from None
    return psycopg.conninfo.make_conninfo(
        host=c.host or None,
        port=c.port or None,
        user=c.login or None,
        password=c.password or None,
        dbname=c.schema or WAREHOUSE_DB,
    )


def warehouse_dsn() -> str:
    from cakupan.config import settings

    config = settings()
    if config.warehouse_dsn:
        return config.warehouse_dsn
    if config.airflow_warehouse_uri:
        return _libpq_uri(config.airflow_warehouse_uri)
    from cakupan.embedded import running_server_uri

    return running_server_uri(WAREHOUSE_DB)


def duty_dsn(duty: str, base: str | None = None) -> str:
    """The DSN a duty uses outside Airflow: CAKUPAN_<DUTY>_DSN, else `base` (default: the
    warehouse DSN) with the duty's role as user."""
    from cakupan.config import settings

    configured = settings().duty_dsns.get(duty)
    if configured:
        return configured
    params = psycopg.conninfo.conninfo_to_dict(base or warehouse_dsn())
    params["user"] = DUTY_ROLES[duty]
    params.pop("password", None)
    return psycopg.conninfo.make_conninfo(**params)


def connect(dsn: str | None = None, **kwargs) -> psycopg.Connection:
    return psycopg.connect(dsn or warehouse_dsn(), application_name="cakupan", **kwargs)


def bootstrap(conn: psycopg.Connection) -> None:
    """Create schemas, tables and the bi_reader role if missing; safe to run at any time.

    The DDL runs only when bootstrap.sql changed since it last ran on this database (its
    hash is kept in audit.bootstrap): on every other call this is one cheap query, and
    no load takes DDL locks that would stall readers or other loads.

    The bi_reader role has no password here: set one with
    `alter role bi_reader password '...'` (or manage the role in your platform)."""
    text = files("cakupan").joinpath("sql/bootstrap.sql").read_text()
    grants = files("cakupan").joinpath("sql/database_grants.sql").read_text()
    digest = hashlib.sha256((text + grants).encode()).hexdigest()
    # Its own committed transaction: the DDL's locks must not outlive the bootstrap.
    with conn.transaction():
        if _bootstrapped(conn, digest):
            return
        # Serialise concurrent bootstraps (parallel load tasks) on one advisory lock.
        conn.execute("select pg_advisory_xact_lock(hashtext('cakupan.bootstrap'))")
        if _bootstrapped(conn, digest):
            return
        try:
            _run_sql(conn, text)
            grant_database(conn)
        except psycopg.errors.InsufficientPrivilege:
            raise ConfigurationError(
                "the warehouse's schema is not at this version, and this role may not "
                "migrate it: run `cakupan warehouse up` (or `cakupan warehouse migrate` with "
                "CAKUPAN_WAREHOUSE_DSN of its owner) first"
            ) from None
        conn.execute("insert into audit.bootstrap (sha256) values (%s)", (digest,))


def set_duty_passwords(conn: psycopg.Connection) -> list[str]:
    """Give each duty's role the password in CAKUPAN_<DUTY>_PASSWORD (for logins over
    the network; PostgreSQL stores it as a SCRAM verifier). Returns the roles changed."""
    from psycopg import sql

    from cakupan.config import settings

    changed = []
    with conn.transaction():
        for duty, password in settings().duty_passwords.items():
            role = DUTY_ROLES[duty]
            conn.execute(
                sql.SQL("alter role {} password {}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )
            changed.append(role)
    return changed


def _run_sql(conn: psycopg.Connection, text: str) -> None:
    db = conn.execute("select quote_ident(current_database())").fetchone()[0]
    conn.execute(text.replace("current_database_placeholder", db))


def grant_database(conn: psycopg.Connection) -> None:
    """The current database's connect and temp grants (database_grants.sql)."""
    _run_sql(conn, files("cakupan").joinpath("sql/database_grants.sql").read_text())


def _bootstrapped(conn: psycopg.Connection, digest: str) -> bool:
    if conn.execute("select to_regclass('audit.bootstrap')").fetchone()[0] is None:
        return False
    return conn.execute(
        "select exists (select 1 from audit.bootstrap where sha256 = %s)", (digest,)
    ).fetchone()[0]


def sqlalchemy_url(dsn: str) -> str:
    """The same connection as a SQLAlchemy URL (Airflow metadata DB, GX, pandas); a unix
    socket directory travels as the `host` query parameter."""
    from sqlalchemy.engine import URL

    p = psycopg.conninfo.conninfo_to_dict(dsn)
    host = str(p.get("host") or "localhost")
    socket = host.startswith("/")
    return URL.create(
        "postgresql+psycopg2",
        username=p.get("user"),
        password=p.get("password") or None,
        host=None if socket else host,
        port=int(p["port"]) if p.get("port") and not socket else None,
        database=p.get("dbname"),
        # A socket's file is named after the port: it travels beside the directory.
        query=({"host": host} | ({"port": p["port"]} if p.get("port") else {})) if socket else {},
    ).render_as_string(hide_password=False)
