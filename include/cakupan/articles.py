"""The regencies of the source articles (news/NNN: the files of ../shared/news, summarised
in DOMAIN.md) and
the figures the demo data is calibrated on. One list: the generator, the report page
and the CLI summary read it from here.

Each figure names its source; where no source gives one, it says so.
"""

from __future__ import annotations

# region code -> (workers at scale 1, or None for the generator's share rule;
#                 coverage in the calibration month; where that coverage comes from)
ARTICLE_REGENCIES: dict[str, tuple[int | None, float, str]] = {
    "15.06": (
        112_000,
        42_000 / 112_000,
        "Tanjung Jabung Barat: 42,000 of about 112,000 workers enrolled (jambilife.com, news/003)",
    ),
    "19.06": (
        None,
        0.31,
        "Belitung Timur: coverage 31% (Dewas BPJS Ketenagakerjaan, 2024-09-11, news/000)",
    ),
    "19.03": (None, 0.21, "Bangka Selatan: coverage about 21% (ANTARA, news/001)"),
    "21.03": (None, 0.5929, "Natuna: coverage share 59.29% (Warta Rakyat, news/002)"),
    "64.74": (
        None,
        0.62,
        "Kota Bontang: ASSUMPTION, no source gives its coverage rate; its article gives "
        "34,782 vulnerable workers paid by the city (2023-10-13, news/004)",
    ),
}
# Vulnerable workers enrolled and paid by Kota Bontang (2023-10-13, news/004).
BONTANG_VULNERABLE = ("64.74", 34_782)
ARTICLE_CODES = tuple(ARTICLE_REGENCIES)
