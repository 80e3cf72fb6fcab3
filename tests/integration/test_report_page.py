"""The coverage report, rendered in a real headless browser (Debian chromium)."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess

import pytest

from cakupan.report_page import build_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
needs_browser = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="chromium not installed (.ci/run installs it: apt-get install chromium)",
)


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def chromium(tmp_path, *args) -> str:
    proc = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


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
