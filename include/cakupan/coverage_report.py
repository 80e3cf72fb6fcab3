"""The coverage report each run publishes: one HTML page with PNG charts, read from the
published marts only (what BI users see).

Sections: the five regencies of the source articles, coverage against target per
regency (chart), the regencies furthest from target, province roll-ups and trend lines.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

import psycopg

log = logging.getLogger(__name__)
ARTICLE_REGENCIES = ("15.06", "19.03", "19.06", "21.03", "64.74")
FURTHEST = 15


def _pct(value) -> str:
    return "" if value is None else f"{float(value) * 100:.2f}%"


def _num(value) -> str:
    return "" if value is None else f"{int(value):,}"


def _table(headers: list[str], rows: list[list[str]], css: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows
    )
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _fetch(conn, query: str, params=()) -> list[tuple]:
    return conn.execute(query, params).fetchall()


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


STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 1100px; }
h1 { margin-bottom: 0; } .sub { color: #666; margin-top: .2em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 14px; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: right; }
th:nth-child(-n+2), td:nth-child(-n+2) { text-align: left; }
th { background: #f3f5f7; } img { max-width: 100%; border: 1px solid #eee; }
"""


def build_report(dsn: str, out_dir: Path) -> Path:
    """Write index.html and its PNG charts into out_dir; returns the page's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with psycopg.connect(dsn) as conn:
        period = _fetch(conn, "select max(period) from marts.coverage_by_regency")[0][0]
        if period is None:
            raise RuntimeError("marts.coverage_by_regency is empty: nothing to report")
        latest = _fetch(
            conn,
            """select region_code, region_name, coverage_rate, target_rate, working_population,
                      active_participants, workers_to_target, coverage_rate_change_mom,
                      projected_target_month, target_source, province_name
               from marts.coverage_by_regency where period = %s order by region_code""",
            (period,),
        )
        provinces = _fetch(
            conn,
            """select province_code, province_name, coverage_rate, target_rate,
                      working_population, active_participants, workers_to_target,
                      regencies_reporting, regencies_at_target
               from marts.coverage_by_province where period = %s order by coverage_rate""",
            (period,),
        )
        trend_rows = _fetch(
            conn,
            """select region_name, period, coverage_rate from marts.coverage_by_regency
               where region_code = any(%s) order by region_name, period""",
            (list(ARTICLE_REGENCIES),),
        )
    by_code = {r[0]: r for r in latest}
    articles = [by_code[c] for c in ARTICLE_REGENCIES if c in by_code]
    furthest = sorted(
        (r for r in latest if r[3] is not None and r[2] is not None),
        key=lambda r: float(r[3]) - float(r[2]),
        reverse=True,
    )[:FURTHEST]
    series: dict[str, list[tuple]] = {}
    for name, month, rate in trend_rows:
        series.setdefault(name, []).append((month, rate))

    _chart_against_target(
        [(r[0], r[1], r[2], r[3]) for r in (articles or latest)], out_dir / "coverage_vs_target.png"
    )
    _chart_trends(series, out_dir / "trends.png")

    def regency_row(r):
        projected = r[8].strftime("%Y-%m") if r[8] else "not at current trend"
        return [
            r[0],
            r[1],
            _pct(r[2]),
            _pct(r[3]),
            _num(r[4]),
            _num(r[5]),
            _num(r[6]),
            _pct(r[7]),
            projected,
        ]

    regency_headers = [
        "code",
        "regency",
        "coverage",
        "target",
        "working population",
        "active",
        "to target",
        "change vs last month (points)",
        "target reached at trend",
    ]
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Cakupan: workers' social-security coverage {period:%Y-%m}</title>
<style>{STYLE}</style></head><body>
<h1>Workers' social-security coverage</h1>
<p class="sub">BPJS Ketenagakerjaan active participants against the working population,
month {period:%Y-%m}. {len(latest)} regencies/cities. Source: published marts.</p>
<h2 id="articles">Regencies in the news</h2>
{_table(regency_headers, [regency_row(r) for r in articles], "articles")}
<h2 id="against-target">Coverage against target</h2>
<img src="coverage_vs_target.png" alt="Coverage against target per regency">
<h2 id="furthest">Furthest from target</h2>
{_table(regency_headers, [regency_row(r) for r in furthest], "furthest")}
<h2 id="provinces">Provinces</h2>
{
        _table(
            [
                "code",
                "province",
                "coverage",
                "target",
                "working population",
                "active",
                "to target",
                "regencies",
                "at target",
            ],
            [
                [
                    p[0],
                    p[1],
                    _pct(p[2]),
                    _pct(p[3]),
                    _num(p[4]),
                    _num(p[5]),
                    _num(p[6]),
                    _num(p[7]),
                    _num(p[8]),
                ]
                for p in provinces
            ],
            "provinces",
        )
    }
<h2 id="trends">Trends</h2>
<img src="trends.png" alt="Coverage per month">
<p class="sub">Targets and their sources: {
        html.escape("; ".join(sorted({f"{r[1]}: {r[9]}" for r in articles if r[9]})))
    }</p>
</body></html>"""
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    log.info("coverage report for %s written to %s", period, index)
    return index
