"""The coverage report, rendered in a real headless browser (Debian chromium)."""

from __future__ import annotations

import logging
import re
import struct

import psycopg

from cakupan.report_page import build_report
from tests.helpers import chromium, needs_browser, run_dbt


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_report_content_and_charts(dsn, published, tmp_path):
    index = build_report(dsn, tmp_path / "report")
    page = index.read_text()
    assert "Kabupaten Belitung Timur" in page and "61.00%" in page
    # The month-over-month change is in percentage points, signed.
    assert re.search(r"<td>[+-]\d+\.\d{2}</td>", page)
    assert "Where the demo figures come from: Belitung Timur: coverage 31%" in page
    # Only Belitung Timur reports: its province's figure is a partial sum, and says so.
    assert re.search(r"<td>1 of 7 <span class=\"partial\"[^>]*>\(partial\)</span></td>", page)
    for chart in ("coverage_vs_target.png", "trends.png"):
        width, height = png_size(tmp_path / "report" / chart)
        assert width >= 600 and height >= 300
        assert chart in page


@needs_browser
def test_report_renders_in_headless_chromium(dsn, published, tmp_path):
    index = build_report(dsn, tmp_path / "report")
    dom = chromium(tmp_path, "--dump-dom", index.as_uri())
    assert "Regencies in the news" in dom and "Kabupaten Belitung Timur" in dom
    assert "Furthest from target" in dom and "Kepulauan Bangka Belitung" in dom
    shot = tmp_path / "screenshot.png"
    chromium(tmp_path, "--window-size=1200,2000", f"--screenshot={shot}", index.as_uri())
    assert png_size(shot) == (1200, 2000)
    assert shot.stat().st_size > 50_000  # a blank page compresses to a few KB


def test_vulnerable_coverage_above_full_is_flagged(dsn, published, tmp_path, caplog):
    """A vulnerable workers' coverage above 100% is printed with its caveat, logged, and
    flagged by dbt's warning test; the run goes on (it is a caveat, not an error)."""
    page = build_report(dsn, tmp_path / "before").read_text()
    assert 'id="vulnerable"' in page and "Kabupaten Belitung Timur" in page
    assert "above 100%" not in page and 'id="vulnerable-warning"' not in page

    for schema in ("marts", "marts_build"):
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                f"update {schema}.coverage_by_payer set working_vulnerable_population = 10 "
                "where region_code = '19.06'"
            )
    with caplog.at_level(logging.WARNING, logger="cakupan.report_page"):
        page = build_report(dsn, tmp_path / "after").read_text()
    assert re.search(r'<tr class="over-full">\s*<td>19\.06</td>', page)
    assert 'id="vulnerable-warning"' in page and "rentan (vulnerable) ecosystem" in page
    assert "above 100% in 1 regencies (Kabupaten Belitung Timur)" in caplog.text

    out = run_dbt(dsn, tmp_path / "target", "test", "--select", "coverage_by_payer")
    assert re.search(r"WARN \d+ group_sum_at_most_coverage_by_payer_active_participants", out)
    assert "Completed with 1 warning" in out
