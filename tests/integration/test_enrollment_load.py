"""Enrollment snapshots: pseudonymised, COPY-loaded, replaced on rerun, faults quarantined."""

import re

import psycopg
import pytest

from cakupan.contracts import ENROLLMENT
from cakupan.errors import ExtractError
from cakupan.loader import load_extract
from cakupan.pseudonymise import NikPseudonymiser
from tests.helpers import person, table_checksum, write_csv

NIK_IN_CLEAR = re.compile(r"(?<!\d)\d{16}(?!\d)")


def good_rows(n=50):
    return [person(i) for i in range(n)]


def all_text_in(conn) -> str:
    """Every value in the raw and quarantine schemas, as text."""
    tables = conn.execute(
        """select table_schema, table_name from information_schema.tables
           where table_schema in ('raw', 'quarantine', 'audit')"""
    ).fetchall()
    out = []
    for schema, table in tables:
        out += [repr(r) for r in conn.execute(f'select * from "{schema}"."{table}"')]
    return "\n".join(out)


def test_load_pseudonymises_and_drops_names(dsn, key, tmp_path):
    rows = good_rows()
    rows.append(person(99, nik="150607060191"))  # invalid NIK goes to quarantine
    path = write_csv(tmp_path / "enrollment_2025-01.csv.gz", rows, gz=True)
    result = load_extract(dsn, "enrollment", str(path), key=key)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (51, 50, 1)
    with psycopg.connect(dsn) as conn:
        text = all_text_in(conn)
        tokens = {r[0] for r in conn.execute("select nik_token from raw.enrollment_snapshot")}
        fingerprint = conn.execute(
            "select key_fingerprint from audit.extract_loads where load_id = %s", (result.load_id,)
        ).fetchone()[0]
    assert not NIK_IN_CLEAR.search(text), "a 16-digit NIK reached the warehouse"
    assert "Agus Saputra" not in text and "150607060191" not in text
    assert NikPseudonymiser(key).token(rows[0]["nik"]) in tokens
    assert fingerprint == NikPseudonymiser(key).fingerprint


def test_rerun_replaces_never_duplicates(dsn, key, tmp_path):
    path = write_csv(tmp_path / "enrollment_2025-01.csv", good_rows(40))
    load_extract(dsn, "enrollment", str(path), key=key)
    write_csv(path, good_rows(30))  # a corrected resend of the same month
    load_extract(dsn, "enrollment", str(path), key=key)
    feb = write_csv(
        tmp_path / "enrollment_2025-02.csv",
        [person(i, last_paid_month="2025-02") for i in range(20)],
    )
    load_extract(dsn, "enrollment", str(feb), key=key)
    with psycopg.connect(dsn) as conn:
        counts = dict(
            conn.execute(
                "select snapshot_month::text, count(*) from raw.enrollment_snapshot group by 1"
            )
        )
        partitions = conn.execute(
            "select count(*) from pg_inherits where inhparent = 'raw.enrollment_snapshot'::regclass"
        ).fetchone()[0]
        loads = conn.execute(
            "select count(*) from audit.extract_loads where dataset = "
            "'enrollment' and status = 'loaded'"
        ).fetchone()[0]
    assert counts == {"2025-01-01": 30, "2025-02-01": 20}
    assert partitions == 2 and loads == 3


def test_xlsx_and_semicolon_extracts_load(dsn, key, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(list(ENROLLMENT.columns))
    for r in good_rows(5):
        book.active.append([r[c] for c in list(ENROLLMENT.columns)])
    book.save(tmp_path / "enrollment_2025-01.xlsx")
    assert (
        load_extract(
            dsn, "enrollment", str(tmp_path / "enrollment_2025-01.xlsx"), key=key
        ).rows_loaded
        == 5
    )
    path = write_csv(
        tmp_path / "enrollment_2025-02.csv",
        [person(i, last_paid_month="2025-02") for i in range(7)],
        delimiter=";",
        bom=True,
    )
    assert load_extract(dsn, "enrollment", str(path), key=key).rows_loaded == 7


def quarantined(conn, load_id):
    return conn.execute(
        "select line, column_name, reason, value from quarantine.rejected_rows "
        "where load_id = %s order by line, column_name",
        (load_id,),
    ).fetchall()


@pytest.mark.parametrize(
    "changes,column,reason",
    [
        ({"birth_date": "1991-13-40"}, "birth_date", "not a date"),
        ({"registration_date": "kemarin"}, "registration_date", "not a date"),
        ({"nik": "1506070601911"}, "nik", "16 digits"),
        ({"domicile_region_code": "15.77.01"}, "domicile_region_code", "unknown region code"),
    ],
)
def test_row_faults_are_quarantined_with_line_and_column(
    dsn, key, tmp_path, changes, column, reason
):
    rows = good_rows(60)
    rows[9] = person(9, **changes)
    path = write_csv(tmp_path / "enrollment_2025-01.csv", rows)
    result = load_extract(dsn, "enrollment", str(path), key=key)
    assert result.rows_rejected == 1 and result.rows_loaded == 59
    with psycopg.connect(dsn) as conn:
        ((line, col, why, value),) = quarantined(conn, result.load_id)
    assert (line, col) == (11, column) and reason in why
    if column == "nik":
        assert value is None  # invalid NIKs are personal data too


def test_duplicate_kpj_keeps_first_and_quarantines_the_rest(dsn, key, tmp_path):
    rows = good_rows(30)
    rows.append(person(100, kpj=rows[3]["kpj"]))
    path = write_csv(tmp_path / "enrollment_2025-01.csv", rows)
    result = load_extract(dsn, "enrollment", str(path), key=key)
    assert (result.rows_loaded, result.rows_rejected) == (30, 1)
    with psycopg.connect(dsn) as conn:
        ((line, col, why, value),) = quarantined(conn, result.load_id)
        kept_line = conn.execute(
            "select _line from raw.enrollment_snapshot where kpj = %s", (rows[3]["kpj"],)
        ).fetchone()[0]
    assert (line, col, value) == (32, "kpj", rows[3]["kpj"])
    assert "first seen at line 5" in why and kept_line == 5


def test_negative_counts_quarantined(dsn, tmp_path, monkeypatch):
    from cakupan.contracts import WORKING_POPULATION

    rows = [
        {
            "region_code": "15.06",
            "sex": "L",
            "age_band": f"{20 + i * 5}-{24 + i * 5}",
            "occupation_code": "15",
            "population": "100",
        }
        for i in range(8)
    ]
    rows.append(
        {
            "region_code": "15.06",
            "sex": "P",
            "age_band": "65+",
            "occupation_code": "9",
            "population": "-3",
        }
    )
    path = write_csv(
        tmp_path / "working_population_2025-S1.csv", rows, header=list(WORKING_POPULATION.columns)
    )
    monkeypatch.setenv("CAKUPAN_MAX_REJECT_RATIO", "0.5")
    result = load_extract(dsn, "working_population", str(path))
    assert (result.rows_loaded, result.rows_rejected) == (8, 1)
    with psycopg.connect(dsn) as conn:
        ((line, col, why, value),) = quarantined(conn, result.load_id)
    assert (line, col, value) == (10, "population", "-3") and "negative count" in why


def _published_then_refused(dsn, key, tmp_path, write_bad, match):
    """Load a good January, then a bad resend: it is refused and January is untouched."""
    good = write_csv(tmp_path / "enrollment_2025-01.csv", good_rows(40))
    load_extract(dsn, "enrollment", str(good), key=key)
    with psycopg.connect(dsn) as conn:
        before = table_checksum(conn, "raw.enrollment_snapshot")
    bad = tmp_path / "resend" / "enrollment_2025-01.csv"
    bad.parent.mkdir()
    write_bad(bad)
    with pytest.raises(ExtractError, match=match) as info:
        load_extract(dsn, "enrollment", str(bad), key=key)
    assert "enrollment_2025-01.csv" in str(info.value)
    with psycopg.connect(dsn) as conn:
        assert table_checksum(conn, "raw.enrollment_snapshot") == before
        status, error = conn.execute(
            "select status, error from audit.extract_loads order by load_id desc limit 1"
        ).fetchone()
        leftovers = conn.execute(
            "select count(*) from pg_tables "
            "where schemaname = 'raw' and tablename like '%%__load_%%'"
        ).fetchone()[0]
    assert status == "failed" and error and leftovers == 0


def test_wrong_header_missing_column(dsn, key, tmp_path):
    header = [c for c in list(ENROLLMENT.columns) if c != "segment"]
    _published_then_refused(
        dsn,
        key,
        tmp_path,
        lambda p: write_csv(p, good_rows(5), header=header),
        r"line 1: wrong header: missing column\(s\) \['segment'\]",
    )


def test_wrong_header_extra_column(dsn, key, tmp_path):
    _published_then_refused(
        dsn,
        key,
        tmp_path,
        lambda p: write_csv(p, good_rows(5), header=[*list(ENROLLMENT.columns), "gaji"]),
        r"unexpected column\(s\) \['gaji'\]",
    )


def test_bad_encoding(dsn, key, tmp_path):
    def write(p):
        write_csv(p, good_rows(5))
        p.write_bytes(p.read_bytes().replace(b"Agus", b"Ag\xfcs", 1))

    _published_then_refused(dsn, key, tmp_path, write, r"line 2: not valid UTF-8")


def test_empty_file(dsn, key, tmp_path):
    _published_then_refused(dsn, key, tmp_path, lambda p: p.write_bytes(b""), "file is empty")


def test_header_only(dsn, key, tmp_path):
    _published_then_refused(
        dsn, key, tmp_path, lambda p: write_csv(p, []), "header but no data rows"
    )


def test_truncated_file(dsn, key, tmp_path):
    def write(p):
        write_csv(p, good_rows(10))
        p.write_bytes(p.read_bytes()[:-40])

    _published_then_refused(dsn, key, tmp_path, write, "file is truncated")


def test_too_many_bad_rows(dsn, key, tmp_path):
    rows = [person(i, birth_date="31/31/1991") if i % 3 == 0 else person(i) for i in range(30)]
    _published_then_refused(
        dsn, key, tmp_path, lambda p: write_csv(p, rows), r"too many rejected rows: 10 of 30"
    )


def test_long_loads_report_progress(dsn, key, tmp_path, monkeypatch):
    import logging

    class Collect(logging.Handler):
        messages: list[str] = []

        def emit(self, record):
            self.messages.append(record.getMessage())

    handler = Collect(level=logging.INFO)
    logger = logging.getLogger("cakupan.loader")
    old_level = logger.level
    logger.setLevel(logging.INFO)  # setLevel also clears the logger's level cache
    logger.addHandler(handler)
    monkeypatch.setattr("cakupan.readers.COLUMNAR_BLOCK_BYTES", 2000)  # a few rows per block
    monkeypatch.setenv("CAKUPAN_PROGRESS_EVERY_S", "0")
    path = write_csv(tmp_path / "enrollment_2025-01.csv", good_rows(45))
    try:
        load_extract(dsn, "enrollment", str(path), key=key)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    progress = [m for m in handler.messages if " rows read, 0 rejected, " in m]
    assert len(progress) >= 2, handler.messages
    assert "45 rows read" not in progress[0]  # reported while the file was still being read
    assert any("loaded 45 rows into raw.enrollment_snapshot" in m for m in handler.messages)


def _partition_rows(dsn) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "select * exclude_load from raw.enrollment_snapshot".replace(" exclude_load", "")
            .replace("*", ", ".join(
                ["_line", "snapshot_month", "kpj", "nik_token", "birth_date", "sex",
                 "regency_code", "district_code", "segment", "has_jkk", "has_jkm", "has_jht",
                 "has_jp", "has_jkp", "employer_npp", "occupation_code", "ecosystem",
                 "contribution_payer", "registration_date", "last_paid_month", "status",
                 "poverty_decile"]))
            + " order by _line"
        ).fetchall()  # fmt: skip


def _quarantined(dsn, load_id) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            """select line, column_name, reason from quarantine.rejected_rows
               where load_id = %s order by line, column_name""",
            (load_id,),
        ).fetchall()


def test_columnar_and_row_by_row_readers_load_the_same(dsn, key, tmp_path, monkeypatch):
    """The fast (Arrow) reader and the general one agree row for row, faults included."""
    rows = good_rows(40)
    rows[3] = person(3, birth_date="06/01/1991")  # valid, but left to the per-row parser
    rows[5] = person(5, programs="JKM, JKK")  # same
    rows[7] = person(7, nik="1506070601")  # refused
    rows[9] = person(1)  # duplicate kpj of line 3
    rows[11] = person(11, domicile_region_code="15.06")  # regency only: no district
    # Nulls and values in every typed column the binary COPY encodes.
    rows[13] = person(13, last_paid_month="", status="non_active")
    rows[15] = person(15, ecosystem="rentan", poverty_decile="3", programs="JKK|JKM")
    path = write_csv(tmp_path / "enrollment_2025-01.csv", rows)

    fast = load_extract(dsn, "enrollment", str(path), key=key)
    fast_rows, fast_faults = _partition_rows(dsn), _quarantined(dsn, fast.load_id)

    from cakupan import readers

    def refuse(*args):
        raise readers.NotColumnar("forced for the test")

    monkeypatch.setattr(readers, "copy_columnar", refuse)
    slow = load_extract(dsn, "enrollment", str(path), key=key)
    assert (fast.rows_read, fast.rows_loaded, fast.rows_rejected) == (40, 38, 2)
    assert (slow.rows_read, slow.rows_loaded, slow.rows_rejected) == (40, 38, 2)
    assert _partition_rows(dsn) == fast_rows
    assert _quarantined(dsn, slow.load_id) == fast_faults
    assert [f[0] for f in fast_faults] == [9, 11]  # NIK fault at line 9, duplicate at 11
    with psycopg.connect(dsn) as conn:
        typed = conn.execute(
            """select count(*) filter (where poverty_decile = 3 and ecosystem = 'rentan'),
                      count(*) filter (where last_paid_month is null),
                      count(*) filter (where district_code is null)
               from raw.enrollment_snapshot"""
        ).fetchone()
    assert typed == (1, 1, 1)


def test_fault_found_late_falls_back_without_double_quarantine(dsn, key, tmp_path, monkeypatch):
    """A ragged row near the end sends the file to the per-row reader, which reads it
    again: rows the columnar reader had quarantined must not be recorded twice."""
    monkeypatch.setattr("cakupan.readers.COLUMNAR_BLOCK_BYTES", 1000)  # several blocks
    monkeypatch.setattr("cakupan.quarantine.QUARANTINE_BATCH", 1)  # written at once
    rows = good_rows(60)
    rows[2] = person(2, kpj="bad")
    path = write_csv(tmp_path / "enrollment_2025-01.csv", rows)
    lines = path.read_text().splitlines(keepends=True)
    lines[28] = lines[28].rstrip("\n") + ",extra\n"  # one field too many on line 29
    path.write_text("".join(lines))
    result = load_extract(dsn, "enrollment", str(path), key=key)
    assert (result.rows_read, result.rows_rejected) == (60, 2)
    faults = _quarantined(dsn, result.load_id)
    assert [(line, column) for line, column, _ in faults] == [(4, "kpj"), (29, "*")]


def test_blank_lines_are_skipped_and_line_numbers_kept(dsn, key, tmp_path):
    rows = good_rows(40)
    rows[30] = person(30, kpj="bad")  # on line 32 of the file, 33 after the blank line
    path = write_csv(tmp_path / "enrollment_2025-01.csv", rows)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join([*lines[:11], "\n", *lines[11:]]))  # blank line 12
    result = load_extract(dsn, "enrollment", str(path), key=key)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (40, 39, 1)
    assert [line for line, _, _ in _quarantined(dsn, result.load_id)] == [33]
