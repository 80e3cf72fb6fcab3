"""Checks an operator runs after a crash: what a killed load or server left behind.

- Orphaned relation files: a server killed during a load leaves the files of the rows
  it was writing (the staging table's new relfilenode); PostgreSQL never removes them
  and they hold disk, and personal-data tokens, until deleted by hand.
- Leftover staging tables (raw.*__load_N) whose load is no longer running (the next
  load drops those of abandoned loads; this shows them before it runs).

Read-only: it reports, with what to do. Orphaned files are checked on the embedded
server only, whose data directory is on this machine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

# Data files: <relfilenode>[_fsm|_vm|_init][.<segment>]; temp relations (t<n>_<m>) are
# the server's own business.
_DATA_FILE = re.compile(r"^(\d+)(?:_(?:fsm|vm|init))?(?:\.\d+)?$")


@dataclass
class Orphans:
    database: str
    files: list[Path]

    @property
    def bytes(self) -> int:
        return sum(f.stat().st_size for f in self.files if f.exists())


def orphaned_files(server_dsn: str, pgdata: Path) -> list[Orphans]:
    """Per database, the data files under base/<oid>/ that no relation points to."""
    out = []
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        databases = conn.execute(
            "select oid, datname from pg_database where datallowconn"
        ).fetchall()
    for oid, name in databases:
        folder = pgdata / "base" / str(oid)
        # Listed before the catalog is read: a relation created in between is known by
        # then. A load running meanwhile would show its uncommitted files (see busy()).
        listed = [
            (f, int(m[1])) for f in sorted(folder.iterdir()) if (m := _DATA_FILE.match(f.name))
        ]
        params = conninfo_to_dict(server_dsn)
        params["dbname"] = name
        with psycopg.connect(make_conninfo(**params), autocommit=True) as conn:
            known = {
                r[0]
                for r in conn.execute(
                    "select pg_relation_filenode(oid) from pg_class "
                    "where pg_relation_filenode(oid) is not null"
                )
            }
        files = [f for f, node in listed if node not in known]
        if files:
            out.append(Orphans(name, files))
    return out


def busy(server_dsn: str) -> list[str]:
    """Sessions in a transaction other than ours: their new files would look orphaned."""
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        return [
            f"{r[0]} ({r[1]})"
            for r in conn.execute(
                "select coalesce(nullif(application_name, ''), usename), datname "
                "from pg_stat_activity where pid <> pg_backend_pid() "
                "and backend_type = 'client backend' and xact_start is not null"
            )
        ]


def leftover_staging_tables(dsn: str) -> list[str]:
    """raw.*__load_N tables whose load is not running (killed, crashed, failed)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return [
            r[0]
            for r in conn.execute(
                """select t.tablename from pg_tables t
                   left join audit.extract_loads l
                     on l.load_id = substring(t.tablename from '__load_(\\d+)$')::bigint
                   where t.schemaname = 'raw' and t.tablename ~ '__load_\\d+$'
                     and (l.status is distinct from 'running'
                          or pg_try_advisory_lock(hashtext('cakupan.load'), l.load_id::integer)
                             and pg_advisory_unlock(hashtext('cakupan.load'), l.load_id::integer))
                   order by 1"""
            )
        ]
