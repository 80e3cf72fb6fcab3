"""The raw partition of one period: a staging table that replaces it in one transaction.

Rows are COPYed into a fresh table; repeated keys are moved to quarantine; the
table is then swapped in as the period's partition, so a rerun replaces and never
duplicates, and readers see the old partition or the new one, never a mix.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from psycopg import sql

from cakupan.contracts import Dataset
from cakupan.pseudonymise import TOKEN_KEY_CHARS
from cakupan.quarantine import Quarantine
from cakupan.repeated_keys import repeats_left
from cakupan.warehouse import DUTY_ROLES


def partition_name(dataset: Dataset, period: str) -> str:
    return f"{dataset.table}_p{period.replace('-', '_').lower()}"


# Loads of the same raw table take this lock (per table) before anything that locks the
# parent table: two reloads would otherwise deadlock on each other's parent locks.
_SWAP_LOCK = "pg_advisory_xact_lock(hashtext('cakupan.swap'), hashtext({}))"


def lock_raw_table(conn, dataset: Dataset) -> None:
    """Serialise with other loads of the same raw table, until the transaction ends."""
    conn.execute(sql.SQL("select " + _SWAP_LOCK).format(sql.Literal(dataset.table)))


def drop_partition(conn, dataset: Dataset, period: str) -> int | None:
    """Drop a period's raw partition (in the caller's transaction); its row count, or
    None when raw holds no such partition."""
    name = partition_name(dataset, period)
    if not conn.execute("select to_regclass(%s) is not null", (f"raw.{name}",)).fetchone()[0]:
        return None
    part = sql.Identifier("raw", name)
    rows = conn.execute(sql.SQL("select count(*) from {}").format(part)).fetchone()[0]
    conn.execute(sql.SQL("drop table {}").format(part))
    return rows


def close_loads(conn, dataset: Dataset, period: str, status: str, note: str) -> None:
    """The period's loaded extracts leave raw: their audit rows get `status` and `note`."""
    conn.execute(
        """update audit.extract_loads set status = %s,
             error = coalesce(error || '; ', '') || %s
           where dataset = %s and period = %s and status = 'loaded'""",
        (status, note, dataset.name, period),
    )


class StagingTable:
    """The table one load COPYs its rows into, which then replaces the period's partition.
    The one owner of its name, its creation, the removal of repeated keys and the swap.

    It is created in a short transaction of its own (creating it LIKE the parent locks
    the parent until commit), emptied again inside the load's transaction (so COPY FREEZE
    applies), and dropped if the load fails."""

    def __init__(self, conn, dataset: Dataset, period: str, load_id: int):
        self.conn, self.dataset, self.period, self.load_id = conn, dataset, period, load_id
        self.partition = partition_name(dataset, period)
        self.name = f"{self.partition}__load_{load_id}"
        self.ident = sql.Identifier("raw", self.name)

    def create(self) -> None:
        """An empty table shaped like the raw table, committed at once. Its period check is
        added while it is empty: ATTACH then trusts it without a scan, and adding it after
        the load would scan every row once more."""
        ident = sql.Identifier
        with self.conn.transaction():
            self.conn.execute(
                sql.SQL("create table {} (like {} including defaults)").format(
                    self.ident, ident("raw", self.dataset.table)
                )
            )
            self.conn.execute(
                sql.SQL("alter table {} add constraint {} check ({} = {})").format(
                    self.ident,
                    ident(f"{self.partition}_period"),
                    ident(self.dataset.period_column),
                    sql.Literal(self.period),
                )
            )
            # The gate reads each period as its own partition; default privileges cover
            # tables the loader role creates, not those of an owner or superuser session.
            self.conn.execute(
                sql.SQL("grant select on {} to {}").format(
                    self.ident, ident(DUTY_ROLES["transformer"])
                )
            )

    def empty(self) -> None:
        """Truncate it in the current (sub)transaction, which lets COPY FREEZE write
        frozen rows (no later vacuum pass over a fresh month)."""
        self.conn.execute(sql.SQL("truncate {}").format(self.ident))

    def lock_parent(self) -> None:
        """Serialise with other loads of the same raw table, until the transaction ends."""
        lock_raw_table(self.conn, self.dataset)

    def drop(self) -> None:
        """Remove it after a failed load, in a transaction of its own."""
        with self.conn.transaction():
            self.conn.execute(sql.SQL("drop table if exists {}").format(self.ident))

    @contextmanager
    def load_and_period_defaults(self) -> Iterator[None]:
        """The load id and period are the same on every row: column defaults while rows
        are COPYed, instead of COPY data."""
        period = sql.Identifier(self.dataset.period_column)
        self.conn.execute(
            sql.SQL(
                "alter table {} alter column _load_id set default {}, "
                "alter column {} set default {}"
            ).format(self.ident, sql.Literal(self.load_id), period, sql.Literal(self.period))
        )
        yield
        self.conn.execute(
            sql.SQL(
                "alter table {} alter column _load_id drop default, alter column {} drop default"
            ).format(self.ident, period)
        )

    def drop_repeated_keys(self, quarantine: Quarantine, only: list[str] | None = None) -> list:
        """Keep the first row of each unique key; later ones go to quarantine. Set-based.
        `only`: the key values already known to repeat (single-column keys), to skip a
        full scan. Returns one entry per removed row: its NIK token key (an int, as
        repeated_keys counts them) where the dataset has tokens, else None."""
        dataset = self.dataset
        key = sql.SQL(", ").join(sql.Identifier(c) for c in dataset.unique_key)
        key_text = sql.SQL(" || '/' || ").join(
            sql.SQL("{}::text").format(sql.Identifier(c)) for c in dataset.unique_key
        )
        token = sql.SQL(
            f"left(nik_token, {TOKEN_KEY_CHARS})" if dataset.needs_key else "null::text"
        )
        where = sql.SQL("")
        if only is not None:
            where = sql.SQL("where {} = any({})").format(
                sql.Identifier(dataset.unique_key[0]), sql.Literal(only)
            )
        dupes = self.conn.execute(
            sql.SQL(
                """with ranked as (
                     select ctid, _line, {key_text} as key_value, {token} as token_key,
                            first_value(_line) over w as first_line,
                            row_number() over w as n
                     from {table} {where}
                     window w as (partition by {key} order by _line)
                   ), removed as (
                     delete from {table} t using ranked r
                     where t.ctid = r.ctid and r.n > 1
                     returning r._line, r.key_value, r.first_line, r.token_key
                   )
                   select _line, key_value, first_line, token_key from removed order by _line"""
            ).format(key_text=key_text, token=token, table=self.ident, key=key, where=where)
        ).fetchall()
        label = "/".join(dataset.unique_key)
        for line, value, first_line, _ in dupes:
            quarantine.add(
                line, label, f"duplicate {label} (first seen at line {first_line})", value
            )
        return [None if t is None else int(t, 16) for *_, t in dupes]

    def repeated_nik_rows(self, token_counts: dict[int, int] | None, removed: list) -> int:
        """Rows whose NIK token already appeared under another KPJ (one person, two
        participant numbers). `token_counts`: how often each repeated token key was
        read (columnar reader), so no row is read back; `removed`: the token keys of
        the rows drop_repeated_keys took out since. None: counted over the table."""
        if token_counts is not None:
            return repeats_left(token_counts, removed)
        return self.conn.execute(
            sql.SQL("select count(*) - count(distinct nik_token) from {}").format(self.ident)
        ).fetchone()[0]

    def swap(self) -> None:
        """Replace the period's partition with this table (in the caller's transaction,
        after lock_parent)."""
        ident = sql.Identifier
        part = ident("raw", self.partition)
        self.conn.execute(sql.SQL("drop table if exists {}").format(part))
        self.conn.execute(
            sql.SQL("alter table {} rename to {}").format(self.ident, ident(self.partition))
        )
        self.conn.execute(
            sql.SQL("alter table {} attach partition {} for values in ({})").format(
                ident("raw", self.dataset.table), part, sql.Literal(self.period)
            )
        )
        self.conn.execute(sql.SQL("analyze {}").format(part))


def withdraw_period(conn, dataset: Dataset, period: str, reason: str) -> int:
    """Remove a period's partition from raw (a file that should never have been loaded);
    its loads become 'withdrawn' in the audit. Returns the rows removed. The incremental
    models drop the period at their next run (dbt macro drop_vanished_periods)."""
    with conn.transaction():
        lock_raw_table(conn, dataset)  # not in the middle of a reload of the same table
        rows = drop_partition(conn, dataset, period)
        if rows is None:
            return -1
        close_loads(conn, dataset, period, "withdrawn", f"withdrawn: {reason}")
    return rows
