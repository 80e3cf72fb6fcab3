"""Hostile and careless extracts, by class of fault, with personal data planted in them.

Each builder writes one file whose personal values (NIKs, names, impossible birth
dates) are listed in PLANTED, so a test can search every place a load writes to
(tables, server log, task logs, Data Docs, dbt artifacts) and prove none got out.
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

from cakupan.contracts import ENROLLMENT, POPULATION, REGIONS, WORKING_POPULATION
from tests.helpers import person

# NIK-shaped numbers (province 15, Jambi; a woman born 5 December 1987), names and
# birth dates that appear nowhere but in these files.
PLANTED_NIKS = [f"1506074512870{i:03d}" for i in range(1, 40)]
PLANTED_NAMES = [f"Rahasiawati Binti Bocor{i}" for i in range(1, 40)]
PLANTED_DATES = ["1987-02-30", "31/04/1985", "1979-13-17"]
PLANTED = [*PLANTED_NIKS, *PLANTED_NAMES, *PLANTED_DATES]


def planted_row(i: int, **changes) -> dict:
    """A good enrollment row carrying planted personal values (valid ones, apart from the
    birth date when asked): what a swapped or shifted column moves around."""
    row = person(i, birth_date="1987-12-05", sex="P")
    row["nik"] = PLANTED_NIKS[i % len(PLANTED_NIKS)]
    row["name"] = PLANTED_NAMES[i % len(PLANTED_NAMES)]
    row.update(changes)
    return row


def write_rows(path: Path, header, rows: list[list[str]], *, gz=False, delimiter=",") -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    data = buffer.getvalue().encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def enrollment_values(rows: list[dict]) -> list[list[str]]:
    return [[r[c] for c in ENROLLMENT.columns] for r in rows]


def swapped_columns(path: Path, n: int = 40) -> Path:
    """kpj and nik swapped, and name and segment: every NIK arrives under kpj."""
    rows = [planted_row(i) for i in range(n)]
    for r in rows:
        r["kpj"], r["nik"] = r["nik"], r["kpj"]
        r["segment"], r["name"] = r["name"], r["segment"]
    return write_rows(path, ENROLLMENT.columns, enrollment_values(rows), gz=True)


def header_missing(path: Path, n: int = 20) -> Path:
    """The first line is a data row."""
    return write_rows(path, None, enrollment_values([planted_row(i) for i in range(n)]))


def ragged_row(path: Path, n: int = 200) -> Path:
    """One row with a field too many: the columnar reader's error quotes it."""
    values = enrollment_values([planted_row(i) for i in range(n)])
    values[n // 2] = [*values[n // 2], PLANTED_NAMES[0]]
    return write_rows(path, ENROLLMENT.columns, values)


def impossible_dates(path: Path, n: int = 100) -> Path:
    """Birth dates that do not exist; one birth date where the registration date goes."""
    rows = [planted_row(i) for i in range(n)]
    for i, date in enumerate(PLANTED_DATES):
        rows[i]["birth_date"] = date
    rows[5]["registration_date"] = "1987-12-35"  # a date that is no date, in another column
    return write_rows(path, ENROLLMENT.columns, enrollment_values(rows))


def reference_with_niks(path: Path, dataset) -> Path:
    """A reference extract (regions, population, working population) with NIKs and birth
    dates in its code and text columns, and counts that overflow. (No names: these
    extracts hold region names by contract, which no check can tell from a person's.)"""
    if dataset is REGIONS:
        rows = [["11", "ACEH", "1", ""], [PLANTED_NIKS[0], "ACEH", "2", ""]]
        rows.append(["11.01", f"Kab {PLANTED_NIKS[1]}", "2", ""])
    elif dataset is POPULATION:
        rows = [
            ["11", f"ACEH {PLANTED_NIKS[2]} {PLANTED_DATES[1]}", "10", "10", "20"],
            [PLANTED_NIKS[3], "ACEH", "1", "1", "2"],
            ["11.01", "KAB X", "99999999999999999999", "1", "1"],
        ]
    else:
        assert dataset is WORKING_POPULATION
        rows = [
            ["15.06", "L", "20-24", "15", "100"],
            [PLANTED_NIKS[4], "P", PLANTED_DATES[0], "9", "5"],
            ["15.06", "L", "25-29", "15", "9" * 20],
        ]
    return write_rows(path, dataset.columns, rows)
