"""Publish: copy the audited marts (schema marts_build) into `marts` in one transaction.

Readers of `marts` see the old tables or the new ones, never a mix: the tables are
truncated and refilled inside one transaction (TRUNCATE's lock makes readers wait
for the commit). Truncate-and-refill keeps each table's identity, so grants to BI
roles and views that BI users built on top survive. A table whose columns changed
is recreated from its build twin (LIKE ... INCLUDING ALL keeps comments/constraints).
"""

from __future__ import annotations

import json
import logging
import time

import psycopg
from psycopg import sql

from cakupan.config import settings
from cakupan.manifest import mart_columns

log = logging.getLogger(__name__)
BUILD_SCHEMA = "marts_build"
PUBLISHED_SCHEMA = "marts"


def _columns(conn, schema: str, table: str) -> list[tuple[str, str]]:
    return conn.execute(
        """select column_name, data_type from information_schema.columns
           where table_schema = %s and table_name = %s order by ordinal_position""",
        (schema, table),
    ).fetchall()


_TABLES = "select tablename from pg_tables where schemaname = %s"


def _drop_stale(conn, schema: str, table: str) -> None:
    try:
        with conn.transaction():
            conn.execute(
                sql.SQL("drop table {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
            )
    except psycopg.errors.DependentObjectsStillExist as exc:
        raise RuntimeError(
            f"{schema}.{table} is no longer a mart (renamed or removed), but "
            f"{exc.diag.message_detail or 'other objects'}: update or drop them, then publish "
            "again; nothing was published"
        ) from None
    log.info("dropped %s.%s: no longer a mart", schema, table)


def publish(dsn: str, run_id: str | None = None) -> dict[str, int]:
    """Publish every mart dbt defines (its manifest); returns rows per mart. A table in
    `marts` that is no longer a mart (renamed or removed) is dropped in the same
    transaction: BI tools must not go on reading a table nothing refreshes.

    The publication first takes every mart's lock at once, each attempt waiting at most
    CAKUPAN_PUBLISH_LOCK_TIMEOUT_S: a long BI query on one mart makes the publication
    retry, instead of holding the marts already refilled locked behind that query. So
    readers wait at most that long, plus the refill itself."""
    config = settings()
    deadline = time.monotonic() + config.publish_max_wait_s
    attempt = 0
    while True:
        attempt += 1
        try:
            return _publish_once(dsn, run_id, config.publish_lock_timeout_s)
        except psycopg.errors.LockNotAvailable:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"publication gave up after {attempt} attempts in "
                    f"{config.publish_max_wait_s:.0f} s: BI queries kept the marts locked "
                    "(CAKUPAN_PUBLISH_MAX_WAIT_S); nothing was published"
                ) from None
            log.info("publication: a reader holds a mart, retrying (attempt %d)", attempt)
            time.sleep(min(2.0**attempt / 4, 10.0))


def _publish_once(dsn: str, run_id: str | None, lock_timeout_s: float) -> dict[str, int]:
    ident = sql.Identifier
    counts: dict[str, int] = {}
    marts = list(mart_columns())
    with psycopg.connect(dsn) as conn, conn.transaction():
        # What the build had read, taken before the copy: a transform committing meanwhile
        # makes the record older than the copy, never newer (retention relies on it).
        watermarks = dict(
            conn.execute(
                "select model, snapshot::text from audit.transform_watermarks "
                "where snapshot is not null"
            ).fetchall()
        )
        built = {r[0] for r in conn.execute(_TABLES, (BUILD_SCHEMA,))}
        missing = [m for m in marts if m not in built]
        if missing:
            raise RuntimeError(f"nothing to publish: {BUILD_SCHEMA} lacks {missing}; run dbt")
        published = {r[0] for r in conn.execute(_TABLES, (PUBLISHED_SCHEMA,))}
        conn.execute(
            sql.SQL("set local lock_timeout = {}").format(
                sql.Literal(f"{int(lock_timeout_s * 1000)}ms")
            )
        )
        if published:
            conn.execute(
                sql.SQL("lock table {} in access exclusive mode").format(
                    sql.SQL(", ").join(
                        sql.SQL("{}.{}").format(ident(PUBLISHED_SCHEMA), ident(t))
                        for t in sorted(published)
                    )
                )
            )
        conn.execute("set local lock_timeout = 0")  # held now: the rest waits on nothing
        for table in marts:
            src = sql.SQL("{}.{}").format(ident(BUILD_SCHEMA), ident(table))
            dst = sql.SQL("{}.{}").format(ident(PUBLISHED_SCHEMA), ident(table))
            if _columns(conn, PUBLISHED_SCHEMA, table) != _columns(conn, BUILD_SCHEMA, table):
                conn.execute(sql.SQL("drop table if exists {}").format(dst))
                conn.execute(sql.SQL("create table {} (like {} including all)").format(dst, src))
                conn.execute(sql.SQL("grant select on {} to bi_reader").format(dst))
            else:
                conn.execute(sql.SQL("truncate {}").format(dst))
            counts[table] = conn.execute(
                sql.SQL("insert into {} select * from {}").format(dst, src)
            ).rowcount
            comment = conn.execute(
                "select obj_description(%s::regclass, 'pg_class')",
                (f"{BUILD_SCHEMA}.{table}",),
            ).fetchone()[0]
            if comment:
                conn.execute(sql.SQL("comment on table {} is {}").format(dst, sql.Literal(comment)))
        for schema in (PUBLISHED_SCHEMA, BUILD_SCHEMA):
            stale = sorted({r[0] for r in conn.execute(_TABLES, (schema,))} - set(marts))
            for table in stale:
                _drop_stale(conn, schema, table)
        conn.execute(
            "insert into audit.publications (run_id, tables, watermarks) values (%s, %s, %s)",
            (run_id, json.dumps(counts), json.dumps(watermarks)),
        )
    log.info(
        "published %d marts: %s", len(counts), ", ".join(f"{t} ({n:,})" for t, n in counts.items())
    )
    return counts
