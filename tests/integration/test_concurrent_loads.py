"""Loads that run at the same time (two CLI runs, a backfill beside the schedule) both
succeed, and the raw table ends with one partition per month."""

from __future__ import annotations

import threading

import psycopg
import pytest

from cakupan.loader import load_extract
from tests.helpers import person, write_csv


def _month(tmp_path, month: str, n: int, tag: str):
    rows = [person(i, last_paid_month=month) for i in range(n)]
    path = tmp_path / tag / f"enrollment_{month}.csv"
    path.parent.mkdir(exist_ok=True)
    return write_csv(path, rows)


@pytest.mark.parametrize("months", [("2025-01", "2025-01"), ("2025-01", "2025-02")])
def test_two_reloads_at_once_both_succeed(dsn, key, tmp_path, months):
    # Both months exist first, so each reload replaces a partition of the same parent.
    for month in sorted(set(months)):
        load_extract(dsn, "enrollment", str(_month(tmp_path, month, 100, "first")), key=key)
    paths = [_month(tmp_path, month, 20_000 + i, f"reload{i}") for i, month in enumerate(months)]
    start = threading.Barrier(len(paths))
    outcomes: list = [None] * len(paths)

    def reload(i):
        start.wait()
        try:
            outcomes[i] = load_extract(dsn, "enrollment", str(paths[i]), key=key)
        except Exception as exc:  # reported below, with its type
            outcomes[i] = exc

    threads = [threading.Thread(target=reload, args=(i,)) for i in range(len(paths))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert all(not isinstance(o, Exception) for o in outcomes), outcomes
    with psycopg.connect(dsn) as conn:
        partitions = conn.execute(
            "select count(*) from pg_inherits where inhparent = 'raw.enrollment_snapshot'::regclass"
        ).fetchone()[0]
        per_month = dict(
            conn.execute(
                "select snapshot_month::text, count(*) from raw.enrollment_snapshot group by 1"
            )
        )
        leftovers = conn.execute(
            "select count(*) from pg_tables "
            "where schemaname = 'raw' and tablename like '%%__load_%%'"
        ).fetchone()[0]
    assert partitions == len(set(months)) and leftovers == 0
    if months[0] == months[1]:  # the same month twice: the one that committed last won
        assert per_month["2025-01-01"] in (20_000, 20_001)
    else:
        assert per_month == {"2025-01-01": 20_000, "2025-02-01": 20_001}
