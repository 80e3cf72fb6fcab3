"""Plain-text summary of what the warehouse holds (printed at the end of `make demo`)."""

from __future__ import annotations

import psycopg

from cakupan.articles import ARTICLE_CODES


def _table(rows: list[tuple], header: tuple[str, ...]) -> str:
    cells = [header, *[tuple("" if v is None else str(v) for v in r) for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def print_summary(conn: psycopg.Connection) -> None:
    loads = conn.execute(
        """select dataset, period, file_name, rows_loaded, rows_rejected, status
           from (select *, row_number() over (partition by dataset, period
                                              order by load_id desc) as n
                 from audit.extract_loads) l
           where n = 1 order by dataset, period"""
    ).fetchall()
    print("Latest load per dataset and period (audit.extract_loads):")
    print(_table(loads, ("dataset", "period", "file", "loaded", "rejected", "status")))
    quarantined = conn.execute("select count(*) from quarantine.rejected_rows").fetchone()[0]
    print(f"\nRows in quarantine: {quarantined:,}")
    print_coverage(conn)


def print_coverage(conn: psycopg.Connection) -> None:
    exists = conn.execute("select to_regclass('marts.coverage_by_regency')").fetchone()[0]
    if not exists:
        print("\nmarts.coverage_by_regency not built yet (run the cakupan_transform DAG)")
        return
    rows = conn.execute(
        """select region_code, region_name, to_char(period, 'YYYY-MM'), working_population,
                  active_participants, round(coverage_rate * 100, 2),
                  round(target_rate * 100, 2), workers_to_target,
                  to_char(projected_target_month, 'YYYY-MM')
           from marts.coverage_by_regency
           where region_code = any(%s)
             and period = (select max(period) from marts.coverage_by_regency)
           order by region_code""",
        (list(ARTICLE_CODES),),
    ).fetchall()
    print("\nCoverage in the regencies of the source articles (marts.coverage_by_regency):")
    print(
        _table(
            rows,
            (
                "code",
                "regency",
                "month",
                "workers",
                "active",
                "coverage %",
                "target %",
                "to target",
                "target by",
            ),
        )
    )
