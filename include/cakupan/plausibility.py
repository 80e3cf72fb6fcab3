"""Is an extract believable beside what is already loaded? Checked before it replaces
anything, so a careless or hostile file cannot become the published truth.

- Its period lies between CAKUPAN_FIRST_PERIOD and the current month plus
  CAKUPAN_MONTHS_AHEAD: `enrollment_2099-01.csv` is refused, not published.
- A reference edition (regions, population) or a working-population semester is not
  much smaller than the one in use, and its population total does not move by more
  than CAKUPAN_MAX_POPULATION_CHANGE: a six-row region list cannot become the
  reference every later load is checked against.

- A pseudonymised extract uses the NIK key of the months already in raw: tokens of two
  keys never match, so a key that changed silently (a secrets backend serving another
  key) would split every participant in two.

Edition checks can be overridden for one load (`accept_implausible`), the key check by
a key rotation (`accept_new_key`); the audit row records which ones were.
"""

from __future__ import annotations

import datetime as dt

from psycopg import sql

from cakupan.config import Settings
from cakupan.contracts import Dataset
from cakupan.errors import ExtractError


def period_start(dataset: Dataset, period: str) -> dt.date:
    """First day of a period: 2025-01-01 (month), 2025-S2 -> 2025-07-01, 2025 -> 2025-01-01."""
    if "-S" in period:
        year, half = period.split("-S")
        return dt.date(int(year), 1 if half == "1" else 7, 1)
    if len(period) == 4:
        return dt.date(int(period), 1, 1)
    return dt.date.fromisoformat(period)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def check_period(uri: str, dataset: Dataset, period: str, settings: Settings, today: dt.date):
    start = period_start(dataset, period)
    first = dt.date.fromisoformat(settings.first_period + "-01")
    last = _add_months(today.replace(day=1), settings.months_ahead)
    if start > last:
        raise ExtractError(
            uri,
            f"period {period} lies in the future (latest accepted: {last:%Y-%m}, the current "
            "month plus CAKUPAN_MONTHS_AHEAD); check the date in the file name",
        )
    if start < first:
        raise ExtractError(
            uri,
            f"period {period} is before the first period kept ({settings.first_period}, "
            "CAKUPAN_FIRST_PERIOD); check the date in the file name",
        )


# Per dataset: the rows whose total is the population the edition describes.
_POPULATION_TOTAL = {
    "population": sql.SQL("sum(total) filter (where length(region_code) = 2)"),
    "working_population": sql.SQL("sum(population)"),
}


def edition_faults(conn, dataset: Dataset, staging, period: str, settings: Settings) -> list[str]:
    """Why a reference edition is implausible beside the one in use (empty: plausible).
    `staging` holds the new edition's rows."""
    if not dataset.edition_checked:
        return []
    ident = sql.Identifier
    table = sql.SQL("raw.{}").format(ident(dataset.table))
    period_column = ident(dataset.period_column)
    current = conn.execute(
        sql.SQL("select max({p})::text from {t}").format(p=period_column, t=table)
    ).fetchone()[0]
    if current is None:
        return []
    total = _POPULATION_TOTAL.get(dataset.name, sql.SQL("null::numeric"))
    query = sql.SQL("select count(*), {total} from {t}")
    new_rows, new_total = conn.execute(query.format(total=total, t=staging)).fetchone()
    old_rows, old_total = conn.execute(
        sql.SQL("select count(*), {total} from {t} where {p}::text = {v}").format(
            total=total, t=table, p=period_column, v=sql.Literal(current)
        )
    ).fetchone()
    faults = []
    if new_rows < settings.min_edition_share * old_rows:
        faults.append(
            f"edition_size: {new_rows:,} rows against {old_rows:,} in the edition in use "
            f"({current}); an edition under {settings.min_edition_share:.0%} of it "
            "(CAKUPAN_MIN_EDITION_SHARE) is refused"
        )
    if old_total and new_total is not None:
        change = float(new_total) / float(old_total) - 1
        if abs(change) > settings.max_population_change:
            faults.append(
                f"population_total: {int(new_total):,} against {int(old_total):,} in the "
                f"edition in use ({current}), a change of {change:+.1%} (limit "
                f"{settings.max_population_change:.0%}, CAKUPAN_MAX_POPULATION_CHANGE)"
            )
    return faults


def key_faults(conn, dataset: Dataset, period: str, fingerprint: str | None) -> list[str]:
    """Why this load's NIK key differs from the key of the other months in raw (empty:
    same key, or nothing to compare with)."""
    if not dataset.needs_key or fingerprint is None:
        return []
    others = conn.execute(
        """with latest as (
             select distinct on (l.period) l.period, l.key_fingerprint
             from audit.extract_loads l
             join audit.raw_partitions p on p.table_name = %s and p.period = l.period
             where l.dataset = %s and l.status = 'loaded' and l.period <> %s
             order by l.period, l.load_id desc
           )
           select key_fingerprint, min(period), max(period), count(*) from latest
           where key_fingerprint is distinct from %s
           group by key_fingerprint order by 2""",
        (dataset.table, dataset.name, period, fingerprint),
    ).fetchall()
    return [
        f"key_change: this load's NIK key (fingerprint {fingerprint}) is not the key of "
        f"{count} month(s) in raw ({first} to {last}: {other}); their tokens would not match. "
        "Check the key's secrets backend; to rotate the key on purpose, reload every month "
        "with accept_new_key (README: Rotate the NIK key)"
        for other, first, last, count in others
    ]
