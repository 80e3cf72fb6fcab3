"""Synthetic extracts calibrated on the real Kemendagri 2025 population.

Writes, per month, an enrollment snapshot (`enrollment_YYYY-MM.csv.gz`) and, per
semester, a working-population extract (`working_population_YYYY-SN.csv`). The
five regencies of the source articles reproduce their published figures in the
calibration month (the last one generated); earlier months trend up to it.
`scale` shrinks workers and participants alike, so rates hold at any scale.
Deterministic for a given seed.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import logging
import os
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from cakupan.articles import ARTICLE_REGENCIES, BONTANG_VULNERABLE
from cakupan.config import PROJECT_ROOT
from cakupan.contracts import ENROLLMENT, WORKING_POPULATION

log = logging.getLogger(__name__)
REFERENCE = PROJECT_ROOT / "sample_data"

# Assumptions, not sources (synthetic data only): the share of the population that works
# where no figure is published, and the share aged 15 or more.
WORKING_SHARE = 0.46
ADULT_SHARE = 0.72
MONTHLY_GROWTH = 0.006  # participants grow towards the calibration month
MONTHLY_CHURN = 0.01  # share of actives lapsing each month

AGE_BANDS = (
    "15-19",
    "20-24",
    "25-29",
    "30-34",
    "35-39",
    "40-44",
    "45-49",
    "50-54",
    "55-59",
    "60-64",
    "65+",
)
AGE_WEIGHTS = (6, 10, 11, 11, 11, 10, 10, 9, 8, 7, 7)
NOT_WORKING = {1: 40, 2: 38, 3: 18, 4: 4}  # share within the non-working population
WORKING = {5: 4, 6: 1, 7: 1, 9: 22, 11: 6, 15: 24, 19: 12, 85: 2, 88: 20, 30: 4, 37: 4}
FIRST_NAMES = ("Agus", "Budi", "Siti", "Dewi", "Rudi", "Wati", "Andi", "Nur", "Eko", "Sri")
LAST_NAMES = ("Saputra", "Wijaya", "Hidayat", "Lestari", "Pratama", "Rahayu", "Nasution")


@dataclass(frozen=True)
class Regency:
    code: str
    name: str
    population: int
    districts: tuple[str, ...]


def read_regencies(reference: Path = REFERENCE) -> list[Regency]:
    districts: dict[str, list[str]] = {}
    with open(reference / "reference" / "kemendagri_2025_regions.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["level"] == "3":
                districts.setdefault(row["kode"][:5], []).append(row["kode"])
    out = []
    with open(
        reference / "population" / "kemendagri_2025_population_by_region.csv", encoding="utf-8"
    ) as f:
        for row in csv.DictReader(f):
            if len(row["kode"]) == 5 and row["kode"] in districts:
                out.append(
                    Regency(
                        row["kode"], row["nama"], int(row["total"]), tuple(districts[row["kode"]])
                    )
                )
    return out


def months(first: str, last: str) -> list[dt.date]:
    start, end = dt.date.fromisoformat(first + "-01"), dt.date.fromisoformat(last + "-01")
    out = []
    while start <= end:
        out.append(start)
        start = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return out


def _split(total: int, weights: dict | Iterable, rng: random.Random) -> list[int]:
    """Integer split of total by weights (largest remainder): parts always sum to total."""
    w = list(weights.values()) if isinstance(weights, dict) else list(weights)
    s = sum(w)
    raw = [total * x / s for x in w]
    parts = [int(r) for r in raw]
    order = sorted(range(len(w)), key=lambda i: raw[i] - parts[i], reverse=True)
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def plan(regency: Regency, seed: int, scale: float) -> tuple[int, float]:
    """Workers (scaled) and calibration-month coverage of a regency."""
    workers, coverage, _source = ARTICLE_REGENCIES.get(regency.code, (None, None, None))
    rng = random.Random(f"{seed}:{regency.code}:plan")
    if workers is None:
        workers = round(regency.population * WORKING_SHARE * rng.uniform(0.9, 1.1))
    if coverage is None:
        coverage = rng.uniform(0.2, 0.7)
    return max(1, round(workers * scale)), coverage


def write_working_population(path: Path, regencies: list[Regency], seed: int, scale: float):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(WORKING_POPULATION.columns)
        for reg in regencies:
            rng = random.Random(f"{seed}:{reg.code}:wp")
            workers, _ = plan(reg, seed, scale)
            adults = max(workers, round(reg.population * ADULT_SHARE * scale))
            for occupations, total in ((WORKING, workers), (NOT_WORKING, adults - workers)):
                for occ, occ_total in zip(
                    occupations, _split(total, occupations, rng), strict=True
                ):
                    for sex, sex_total in zip("LP", _split(occ_total, (55, 45), rng), strict=True):
                        for band, n in zip(
                            AGE_BANDS, _split(sex_total, AGE_WEIGHTS, rng), strict=True
                        ):
                            if n:
                                w.writerow([reg.code, sex, band, occ, n])


# The contract's columns, in its order: _Pool._person returns its fields in this order.
ENROLLMENT_HEADER = list(ENROLLMENT.columns)


class _Pool:
    """The participants a regency ever has. Person i is drawn from its own seed, so the
    same person comes back every month without keeping anyone in memory (national
    scale is about 45 million people)."""

    def __init__(self, reg: Regency, seed: int, vulnerable: tuple[int, int] | None):
        self.reg, self.seed, self.vulnerable = reg, seed, vulnerable
        self._base = (seed * 1_000_003 + int(reg.code.replace(".", ""))) * 100_000_007
        self.rng = random.Random()

    def get(self, i: int) -> list[str]:
        self.rng.seed(self._base + i)
        return self._person(i)

    def _person(self, i: int) -> list[str]:
        rng, code = self.rng, self.reg.code
        sex = "L" if rng.random() < 0.6 else "P"
        birth = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 45))
        district = rng.choice(self.reg.districts)
        day = birth.day + (40 if sex == "P" else 0)
        nik = (
            f"{district.replace('.', '')}{day:02d}{birth.month:02d}{birth.year % 100:02d}"
            f"{i % 10000:04d}"
        )
        kpj = f"{code.replace('.', '')}{i:07d}"
        lo, hi = self.vulnerable or (0, 0)
        if lo <= i < hi:
            segment, eco, payer, occ = "BPU", "rentan", "apbd_regency", rng.choice((9, 11, 19))
        else:
            r = rng.random()
            segment = "PU" if r < 0.55 else "BPU" if r < 0.93 else "JAKON" if r < 0.97 else "PMI"
            eco, payer, occ = "", "employer", rng.choice((15, 15, 15, 5, 6, 7, 30, 37))
            if segment == "BPU":
                occ = rng.choice((9, 11, 19, 88, 88, 85))
                eco = (
                    "desa"
                    if occ == 85
                    else rng.choice(("pasar", "umkm", "ecommerce", "rentan", ""))
                )
                # Where an article fixes the city-paid vulnerable count (Bontang), only the
                # calibrated block is city-paid; other vulnerable workers get other payers.
                government = (
                    ("apbd_province", "apbn")
                    if self.vulnerable
                    else ("apbd_regency", "apbd_province", "apbn")
                )
                payer = (
                    "apbd_regency"
                    if occ == 85
                    else rng.choice(government)
                    if eco == "rentan"
                    else "participant"
                )
            elif segment == "JAKON":
                occ = 19
            elif segment == "PMI":
                payer, occ = "participant", rng.choice((15, 19))
        programs = {
            "PU": "JKK|JKM|JHT|JP" + ("|JKP" if rng.random() < 0.7 else ""),
            "BPU": "JKK|JKM" + ("|JHT" if rng.random() < 0.3 else ""),
            "JAKON": "JKK|JKM",
            "PMI": "JKK|JKM|JHT",
        }[segment]
        npp = (
            f"{code.replace('.', '')}{rng.randrange(1, 400):04d}"
            if segment in ("PU", "JAKON")
            else ""
        )
        decile = (
            str(rng.randint(1, 3))
            if eco == "rentan"
            else (str(rng.randint(4, 10)) if rng.random() < 0.2 else "")
        )
        registered = dt.date(2015, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 9))
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        return [
            kpj,
            nik,
            name,
            birth.isoformat(),
            sex,
            district,
            segment,
            programs,
            npp,
            str(occ),
            eco,
            payer,
            registered.isoformat(),
            decile,
        ]


def _owner_only(path: Path):
    """A file only its owner may read: enrollment extracts hold NIKs, names, birth dates."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # also when the file existed with wider permissions
    return os.fdopen(fd, "wb")


def _month_label(d: dt.date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def write_enrollment(
    out_dir: Path,
    regencies: list[Regency],
    month_list: list[dt.date],
    seed: int,
    scale: float,
    progress: Callable[[int], None] | None = None,
):
    """One gzip CSV per month. Active window slides (churn) and grows towards calibration."""
    last = len(month_list) - 1
    pools = {}
    windows = {}
    for reg in regencies:
        workers, coverage = plan(reg, seed, scale)
        active_cal = round(workers * coverage)
        churn = max(0, round(active_cal * MONTHLY_CHURN))
        vulnerable = None
        if reg.code == BONTANG_VULNERABLE[0]:
            start_cal = churn * last
            vulnerable = (start_cal, start_cal + round(BONTANG_VULNERABLE[1] * scale))
        pools[reg.code] = _Pool(reg, seed, vulnerable)
        windows[reg.code] = (active_cal, churn)
    paths = []
    for m_index, month in enumerate(month_list):
        path = out_dir / f"enrollment_{_month_label(month)}.csv.gz"
        label = _month_label(month)
        # mtime=0: the same seed gives byte-identical files, so reruns are recognised as unchanged.
        with (
            _owner_only(path) as raw,
            gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=3) as gz,
            io.TextIOWrapper(gz, encoding="utf-8", newline="") as f,
        ):
            w = csv.writer(f)
            w.writerow(ENROLLMENT_HEADER)
            for reg in regencies:
                active_cal, churn = windows[reg.code]
                behind = last - m_index
                active = round(active_cal / (1 + MONTHLY_GROWTH) ** behind)
                start = churn * m_index
                pool = pools[reg.code]
                for i in range(start + active):
                    p = pool.get(i)
                    if i >= start:
                        paid, status = label, "active"
                    else:
                        lapsed = (start - i) // max(churn, 1) + 3
                        paid = _month_label(month - dt.timedelta(days=30 * lapsed))
                        status = "non_active"
                    registered = min(p[12], month.isoformat())
                    w.writerow([*p[:12], registered, paid, status, p[13]])
                if progress:
                    progress(start + active)
        paths.append(path)
    return paths


def semesters(month_list: list[dt.date]) -> list[str]:
    return sorted({f"{m.year}-S{1 if m.month <= 6 else 2}" for m in month_list})


def generate(
    out_dir: Path,
    first_month: str,
    last_month: str,
    *,
    seed: int = 2025,
    scale: float = 1.0,
    regions: list[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[Path]:
    regencies = read_regencies()
    if regions:
        wanted = set(regions)
        regencies = [r for r in regencies if r.code in wanted or r.code[:2] in wanted]
    month_list = months(first_month, last_month)
    (out_dir / "working_population").mkdir(parents=True, exist_ok=True)
    (out_dir / "enrollment").mkdir(parents=True, exist_ok=True)
    (out_dir / "enrollment").chmod(0o700)  # its files hold NIKs and names
    paths = []
    for sem in semesters(month_list):
        path = out_dir / "working_population" / f"working_population_{sem}.csv"
        write_working_population(path, regencies, seed, scale)
        paths.append(path)
    paths += write_enrollment(out_dir / "enrollment", regencies, month_list, seed, scale, progress)
    log.info("generated %d files for %d regencies in %s", len(paths), len(regencies), out_dir)
    return paths
