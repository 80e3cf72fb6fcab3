"""The coverage report each run publishes: one HTML page (templates/report_page.html,
Jinja2, autoescaped) with PNG charts, read from the published marts only (what BI users
see).

Sections: the five regencies of the source articles, coverage against target per
regency (chart), the regencies furthest from target, province roll-ups and trend lines.
"""

from __future__ import annotations

import logging
from pathlib import Path

import psycopg
from psycopg.rows import namedtuple_row

from cakupan.articles import ARTICLE_CODES, ARTICLE_REGENCIES

log = logging.getLogger(__name__)
FURTHEST = 15


def _pyplot():
    """pyplot on the file-only Agg backend (tasks and CI have no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _chart_against_target(rows: list[tuple], path: Path) -> None:
    plt = _pyplot()

    rows = sorted(rows, key=lambda r: float(r[2] or 0))
    names = [r[1].replace("Kabupaten ", "").replace("Kota ", "Kota ") for r in rows]
    rates = [float(r[2] or 0) * 100 for r in rows]
    targets = [float(r[3]) * 100 if r[3] is not None else None for r in rows]
    fig, ax = plt.subplots(figsize=(9, max(3, 0.32 * len(rows) + 1)))
    ax.barh(names, rates, color="#2f6f9f", label="coverage")
    for i, target in enumerate(targets):
        if target is not None:
            ax.plot(
                [target, target],
                [i - 0.4, i + 0.4],
                color="#d9480f",
                linewidth=2,
                label="target" if i == 0 else None,
            )
    ax.set_xlabel("% of the working population with active BPJS Ketenagakerjaan")
    ax.legend(loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _chart_trends(series: dict[str, list[tuple]], path: Path) -> None:
    plt = _pyplot()

    fig, ax = plt.subplots(figsize=(9, 4.5))
    for name, points in series.items():
        ax.plot(
            [p[0] for p in points], [float(p[1] or 0) * 100 for p in points], marker="o", label=name
        )
    import matplotlib.dates as mdates

    ax.set_ylabel("coverage %")
    ax.grid(alpha=0.3)
    ax.xaxis.set_major_locator(mdates.MonthLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _vulnerable_row(row) -> dict:
    """Vulnerable workers' coverage of a regency; over_full flags a rate above 100%,
    which the report prints with its caveat instead of as a plain figure."""
    rate = row.participants / row.working_vulnerable if row.working_vulnerable else None
    return {**row._asdict(), "rate": rate, "over_full": rate is not None and rate > 1}


def build_report(dsn: str, out_dir: Path) -> Path:
    """Write index.html and its PNG charts into out_dir; returns the page's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with psycopg.connect(dsn, row_factory=namedtuple_row) as conn:
        period = conn.execute("select max(period) from marts.coverage_by_regency").fetchone()[0]
        if period is None:
            raise RuntimeError("marts.coverage_by_regency is empty: nothing to report")
        latest = conn.execute(
            """select region_code, region_name, coverage_rate, target_rate, working_population,
                      active_participants, workers_to_target, coverage_rate_change_mom,
                      projected_target_month, target_source, province_name
               from marts.coverage_by_regency where period = %s order by region_code""",
            (period,),
        ).fetchall()
        provinces = conn.execute(
            """select province_code, province_name, coverage_rate, target_rate,
                      working_population, active_participants, workers_to_target,
                      regencies_reporting, regencies_total, is_partial, regencies_at_target
               from marts.coverage_by_province where period = %s order by coverage_rate""",
            (period,),
        ).fetchall()
        trend_rows = conn.execute(
            """select region_name, period, coverage_rate from marts.coverage_by_regency
               where region_code = any(%s) order by region_name, period""",
            (list(ARTICLE_CODES),),
        ).fetchall()
        vulnerable = conn.execute(
            """select region_code, region_name,
                      sum(active_participants) as participants,
                      coalesce(sum(active_participants)
                               filter (where payer_group = 'government'), 0) as government_paid,
                      max(working_vulnerable_population) as working_vulnerable
               from marts.coverage_by_payer where period = %s
               group by region_code, region_name order by region_code""",
            (period,),
        ).fetchall()
    vulnerable = [_vulnerable_row(r) for r in vulnerable]
    over_full = [r for r in vulnerable if r["over_full"]]
    if over_full:
        log.warning(
            "vulnerable workers' coverage above 100%% in %d regencies (%s): the rentan "
            "ecosystem enrols workers outside the vulnerable occupations counted",
            len(over_full),
            ", ".join(r["region_name"] for r in over_full[:10]),
        )
    by_code = {r.region_code: r for r in latest}
    articles = [by_code[c] for c in ARTICLE_CODES if c in by_code]
    furthest = sorted(
        (r for r in latest if r.target_rate is not None and r.coverage_rate is not None),
        key=lambda r: float(r.target_rate) - float(r.coverage_rate),
        reverse=True,
    )[:FURTHEST]
    series: dict[str, list[tuple]] = {}
    for name, month, rate in trend_rows:
        series.setdefault(name, []).append((month, rate))

    _chart_against_target(
        [(r[0], r[1], r[2], r[3]) for r in (articles or latest)], out_dir / "coverage_vs_target.png"
    )
    _chart_trends(series, out_dir / "trends.png")

    from jinja2 import Environment, PackageLoader

    page = (
        Environment(loader=PackageLoader("cakupan", "templates"), autoescape=True)
        .get_template("report_page.html")
        .render(
            period=period,
            regency_count=len(latest),
            articles=articles,
            article_sources=[ARTICLE_REGENCIES[r.region_code][2] for r in articles],
            furthest=furthest,
            vulnerable=[r for r in vulnerable if r["region_code"] in ARTICLE_CODES],
            vulnerable_over_full=over_full,
            provinces=provinces,
            target_sources=sorted(
                {f"{r.region_name}: {r.target_source}" for r in articles if r.target_source}
            ),
        )
    )
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    log.info("coverage report for %s written to %s", period, index)
    return index
