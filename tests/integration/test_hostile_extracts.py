"""Hostile and careless suppliers: no personal data gets out, work stays bounded, every
fault is one clear error naming file, line and cause, and nothing published changes."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import openpyxl
import psycopg
import pytest

from cakupan.contracts import ENROLLMENT, POPULATION, REGIONS, WORKING_POPULATION
from cakupan.errors import ExtractError
from cakupan.loader import LoadOptions, load_extract, mark_abandoned_loads
from tests import hostile
from tests.conftest import POPULATION_CSV, REGIONS_CSV
from tests.helpers import CAKUPAN, person, table_checksum, write_csv


def warehouse_text(dsn) -> str:
    """Every value of every table in the warehouse, as text."""
    with psycopg.connect(dsn) as conn:
        tables = conn.execute(
            """select table_schema, table_name from information_schema.tables
               where table_schema not in ('pg_catalog', 'information_schema')"""
        ).fetchall()
        return "\n".join(
            repr(row)
            for schema, table in tables
            for row in conn.execute(f'select * from "{schema}"."{table}"')
        )


def leaked(text: str) -> list[str]:
    return [value for value in hostile.PLANTED if value in text]


@pytest.fixture
def server_log(pg_server):
    """What the PostgreSQL server writes to its log during the test."""
    log = Path(pg_server.pgdata) / "log"
    start = log.stat().st_size

    def read() -> str:
        with open(log, "rb") as f:
            f.seek(start)
            return f.read().decode("utf-8", "replace")

    return read


def refused(dsn, key, path, dataset="enrollment", **kwargs) -> ExtractError:
    with pytest.raises(ExtractError) as info:
        load_extract(dsn, dataset, str(path), key=key, **kwargs)
    return info.value


def last_load(dsn) -> tuple:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "select load_id, status, error, rows_read, rows_rejected, overrides "
            "from audit.extract_loads order by load_id desc limit 1"
        ).fetchone()


def quarantined(dsn, load_id) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "select line, column_name, reason, value from quarantine.rejected_rows "
            "where load_id = %s order by line nulls last, column_name",
            (load_id,),
        ).fetchall()


# --- personal data never leaves in clear ----------------------------------------------


def test_swapped_columns_keep_no_nik_or_name_in_quarantine(dsn, key, tmp_path, server_log):
    path = hostile.swapped_columns(tmp_path / "enrollment_2025-01.csv.gz")
    error = refused(dsn, key, path)
    assert "too many rejected rows: 40 of 40" in str(error)
    load_id = last_load(dsn)[0]
    records = quarantined(dsn, load_id)
    values = {column: value for _, column, _, value in records}
    # What arrived under kpj was a NIK, under segment a name: kept as their shapes.
    assert values["kpj"] == "9" * 16 and values["segment"] == "Aaaaaaaaaaa Aaaaa Aaaaa9"
    assert values["nik"] is None  # a personal column keeps nothing, even invalid
    assert leaked(warehouse_text(dsn)) == [] and leaked(server_log()) == []


def test_data_row_as_header_quotes_nothing(dsn, key, tmp_path):
    error = refused(dsn, key, hostile.header_missing(tmp_path / "enrollment_2025-01.csv"))
    message = str(error)
    assert "enrollment_2025-01.csv, line 1: wrong header: none of the 16 expected columns" in (
        message
    )
    assert leaked(message) == [] and leaked(last_load(dsn)[2]) == []


def test_header_quotes_only_names_that_look_like_columns(dsn, key, tmp_path):
    header = [*ENROLLMENT.columns[:-1], hostile.PLANTED_NIKS[0], "gaji bulanan"]
    path = write_csv(tmp_path / "enrollment_2025-01.csv", [person(1)], header=header)
    message = str(refused(dsn, key, path))
    assert "missing column(s) ['poverty_decile']" in message
    assert "unexpected column(s) ['<cell 1 withheld>', '<cell 2 withheld>']" in message
    assert leaked(message) == []


def test_ragged_row_reaches_neither_server_log_nor_quarantine(dsn, key, tmp_path, server_log):
    """Arrow's parse error quotes the whole row; it must not travel with the aborted COPY."""
    path = hostile.ragged_row(tmp_path / "enrollment_2025-01.csv")
    result = load_extract(dsn, "enrollment", str(path), key=key)
    assert (result.rows_read, result.rows_rejected) == (200, 1)
    ((line, column, reason, value),) = quarantined(dsn, result.load_id)
    assert (line, column, value) == (102, "*", None) and "17 fields" in reason
    assert leaked(server_log()) == [] and leaked(warehouse_text(dsn)) == []


def test_bad_dates_are_not_quoted(dsn, key, tmp_path):
    result = load_extract(
        dsn,
        "enrollment",
        str(hostile.impossible_dates(tmp_path / "enrollment_2025-01.csv")),
        key=key,
    )
    faults = quarantined(dsn, result.load_id)
    assert [(line, column) for line, column, _, _ in faults] == [
        (2, "birth_date"),
        (3, "birth_date"),
        (4, "birth_date"),
        (7, "registration_date"),
    ]
    assert faults[-1][3] == "9999-99-99"  # a date where a registration date goes: its shape
    assert leaked(warehouse_text(dsn)) == []
    assert "1987-12-35" not in warehouse_text(dsn)


@pytest.mark.parametrize("dataset", [REGIONS, POPULATION, WORKING_POPULATION])
def test_reference_extracts_keep_no_nik(dsn, key, tmp_path, dataset, monkeypatch):
    monkeypatch.setenv("CAKUPAN_MAX_REJECT_RATIO", "1")
    monkeypatch.setenv("CAKUPAN_MIN_EDITION_SHARE", "0")
    monkeypatch.setenv("CAKUPAN_MAX_POPULATION_CHANGE", "100")
    name = dataset.period_example.replace("2025", "2024")
    path = hostile.reference_with_niks(tmp_path / name, dataset)
    result = load_extract(dsn, dataset.name, str(path))
    faults = quarantined(dsn, result.load_id)
    assert result.rows_rejected == (3 if dataset is POPULATION else 2) and len(faults) >= 2
    assert leaked(warehouse_text(dsn)) == []
    # Overflowing counts are row faults with their column and file line, not a COPY error.
    if dataset is not REGIONS:
        column = "pria" if dataset is POPULATION else "population"
        assert (4, column) in [(line, col) for line, col, _, _ in faults]
        assert any("too large" in reason for _, _, reason, _ in faults)


# --- bounded work on any file ----------------------------------------------------------


def _bomb(path: Path, line: bytes, total: int) -> Path:
    """A small gzip that inflates to `total` bytes of `line` repeated after the header."""
    chunk = line * ((1 << 20) // len(line))
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(",".join(ENROLLMENT.columns).encode() + b"\n")
        for _ in range(total // len(chunk)):
            f.write(chunk)
    return path


def test_gzip_of_bad_lines_stops_early_with_capped_quarantine(dsn, key, tmp_path, monkeypatch):
    monkeypatch.setenv("CAKUPAN_MAX_QUARANTINE_ROWS", "1000")
    path = _bomb(tmp_path / "enrollment_2025-01.csv.gz", b"x\n", 200 << 20)  # 100 M lines
    assert path.stat().st_size < 1 << 20
    started = time.monotonic()
    error = refused(dsn, key, path)
    assert time.monotonic() - started < 60
    assert "stopped early" in str(error) and "enrollment_2025-01.csv.gz, line" in str(error)
    load_id, status, _, read, rejected, _ = last_load(dsn)
    assert status == "failed" and 0 < read < 5_000_000 and rejected == read
    records = quarantined(dsn, load_id)
    assert len(records) == 1001  # the cap, then one closing record for the column
    assert records[-1][0] is None and "not recorded" in records[-1][2]


def _cli_load(dsn, key, path, env_extra=None) -> tuple[subprocess.CompletedProcess, int]:
    """`cakupan load` in its own process: (result, its peak memory in bytes)."""
    env = dict(os.environ, CAKUPAN_WAREHOUSE_DSN=dsn, CAKUPAN_NIK_HMAC_KEY=key.decode())
    env.update(env_extra or {})
    proc = subprocess.Popen(
        [CAKUPAN, "load", "enrollment", str(path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = proc.communicate(timeout=600)
    usage = os.wait4(proc.pid, 0)[2] if proc.returncode is None else None
    peak = (usage.ru_maxrss if usage else _peak_of_last_child()) * 1024
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), peak


def _peak_of_last_child() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "plain"])
def test_one_endless_line_is_refused_with_its_number_in_bounded_memory(dsn, key, tmp_path, gz):
    path = tmp_path / ("enrollment_2025-01.csv" + (".gz" if gz else ""))
    opener = gzip.open if gz else open
    with opener(path, "wb") as f:
        f.write(",".join(ENROLLMENT.columns).encode() + b"\n")
        f.write(b"15060000001,1506070601910001\n")
        chunk = b"A" * (1 << 20)
        for _ in range(600):  # one 600 MiB line
            f.write(chunk)
    result, peak = _cli_load(dsn, key, path)
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(f"cakupan: error: {path}, line 3: line longer than 33,554,432 bytes")
    )
    assert "Traceback" not in result.stderr
    assert peak < 1 << 30, f"peak memory {peak / 2**20:.0f} MiB"


def test_killed_load_is_marked_failed_by_the_next_run(dsn, key, tmp_path):
    rows = [person(i) for i in range(300_000)]
    path = write_csv(tmp_path / "enrollment_2025-01.csv", rows)
    env = dict(os.environ, CAKUPAN_WAREHOUSE_DSN=dsn, CAKUPAN_NIK_HMAC_KEY=key.decode())
    proc = subprocess.Popen(
        [CAKUPAN, "load", "enrollment", str(path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        deadline = time.monotonic() + 60
        while not conn.execute(
            "select count(*) from pg_stat_activity where application_name = 'cakupan-quarantine'"
        ).fetchone()[0]:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed = conn.execute(
            "select load_id, status from audit.extract_loads order by load_id desc limit 1"
        ).fetchone()
        assert killed[1] == "running"
        # Give the server a moment to notice the client is gone and end its session.
        while conn.execute(
            "select count(*) from pg_stat_activity where application_name like 'cakupan-%%'"
        ).fetchone()[0]:
            time.sleep(0.05)
    small = write_csv(tmp_path / "enrollment_2025-02.csv", [person(1, last_paid_month="2025-02")])
    load_extract(dsn, "enrollment", str(small), key=key)
    with psycopg.connect(dsn) as conn:
        status, error = conn.execute(
            "select status, error from audit.extract_loads where load_id = %s", (killed[0],)
        ).fetchone()
        assert conn.execute("select count(*) from raw.enrollment_snapshot").fetchone()[0] == 1
    assert status == "failed" and error.startswith("abandoned:")


def test_a_load_still_running_is_not_marked_abandoned(dsn, key, tmp_path, monkeypatch):
    release = threading.Event()
    swapping = threading.Event()
    from cakupan.partitions import StagingTable

    real_swap = StagingTable.swap

    def slow_swap(staging):
        swapping.set()
        assert release.wait(60)
        real_swap(staging)

    monkeypatch.setattr(StagingTable, "swap", slow_swap)
    path = write_csv(tmp_path / "enrollment_2025-01.csv", [person(i) for i in range(20)])
    loader = threading.Thread(
        target=load_extract, args=(dsn, "enrollment", str(path)), kwargs={"key": key}
    )
    loader.start()
    try:
        assert swapping.wait(60)
        with psycopg.connect(dsn) as conn:
            assert mark_abandoned_loads(conn) == []
    finally:
        release.set()
        loader.join()
    assert last_load(dsn)[1] == "loaded"


# --- one clear error, naming file, line and cause -----------------------------------------


def test_nul_byte_quarantines_its_row_only(dsn, key, tmp_path):
    rows = [person(i) for i in range(60)]
    rows[4]["name"] = "Ag\x00us"
    rows[6]["ecosystem"] = "pa\x00sar"
    path = write_csv(tmp_path / "enrollment_2025-01.csv", rows)
    result = load_extract(dsn, "enrollment", str(path), key=key)
    assert (result.rows_loaded, result.rows_rejected) == (58, 2)
    faults = quarantined(dsn, result.load_id)
    assert [(line, reason) for line, _, reason, _ in faults] == [
        (6, "contains a NUL byte"),
        (8, "contains a NUL byte"),
    ]


def test_unclosed_quote_is_the_fault_of_its_line(dsn, key, tmp_path):
    rows = [person(i) for i in range(30)]
    path = write_csv(tmp_path / "enrollment_2025-01.csv", rows)
    lines = path.read_text().splitlines(keepends=True)
    lines[10] = lines[10].replace(",PU,", ',"PU,', 1)  # line 11: a quote that never closes
    path.write_text("".join(lines))
    result = load_extract(dsn, "enrollment", str(path), key=key)
    assert (result.rows_loaded, result.rows_rejected) == (29, 1)
    ((line, column, reason, _),) = quarantined(dsn, result.load_id)
    assert (line, column) == (11, "*") and reason.startswith("unclosed quote")


def test_cr_only_line_ends_are_one_clear_error(dsn, key, tmp_path):
    path = write_csv(tmp_path / "enrollment_2025-01.csv", [person(i) for i in range(5)])
    path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r"))
    message = str(refused(dsn, key, path))
    assert "enrollment_2025-01.csv, line 1: a carriage return inside the header line" in message


def test_ten_mib_field_in_an_optional_column_quarantines_the_row(dsn, key, tmp_path):
    rows = [person(i) for i in range(30)]
    rows[3]["ecosystem"] = "pasar" * (2 << 20)
    path = write_csv(tmp_path / "enrollment_2025-01.csv", rows)
    result = load_extract(dsn, "enrollment", str(path), key=key)
    assert (result.rows_loaded, result.rows_rejected) == (29, 1)
    ((line, column, reason, value),) = quarantined(dsn, result.load_id)
    assert (line, column) == (5, "ecosystem") and "over the 65,536 allowed" in reason
    assert value is None or len(value) < 200


def test_implausible_births_are_quarantined(dsn, key, tmp_path):
    rows = [person(i) for i in range(40)]
    rows[1] = person(1, birth_date="1899-01-06", nik="1506070601990001")
    rows[2] = person(2, birth_date="2020-01-06", nik="1506070601200002")
    path = write_csv(tmp_path / "enrollment_2025-01.csv", rows)
    result = load_extract(dsn, "enrollment", str(path), key=key)
    assert result.rows_rejected == 2
    assert {(line, column) for line, column, _, _ in quarantined(dsn, result.load_id)} == {
        (3, "birth_date"),
        (4, "birth_date"),
    }


def test_xlsx_faults(dsn, key, tmp_path):
    book = openpyxl.Workbook()
    book.active.append(list(ENROLLMENT.columns))
    for i in range(20):
        book.active.append([person(i)[c] for c in ENROLLMENT.columns])
    book.active["P5"] = "=1+1"  # a formula Excel never calculated: no cached value
    good = tmp_path / "enrollment_2025-01.xlsx"
    book.save(good)
    result = load_extract(dsn, "enrollment", str(good), key=key)
    assert (result.rows_loaded, result.rows_rejected) == (19, 1)
    ((line, _, reason, _),) = quarantined(dsn, result.load_id)
    assert line == 5 and reason.startswith("formula without a calculated value")

    # The same workbook with its sheet XML cut in the middle of a row.
    import zipfile

    broken = tmp_path / "resend" / "enrollment_2025-01.xlsx"
    broken.parent.mkdir()
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(broken, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2] + b"<row><c>"
            dst.writestr(item, data)
    message = str(refused(dsn, key, broken))
    assert "enrollment_2025-01.xlsx" in message and "malformed XLSX sheet" in message
    assert ", line " in message


# --- periods, editions and files must be plausible ---------------------------------------


def test_periods_in_the_future_or_too_old_are_refused(dsn, key, tmp_path):
    import datetime as dt

    future = dt.date.today().year + 2
    for name, cause in [
        (f"enrollment_{future}-01.csv", "lies in the future"),
        ("enrollment_2009-01.csv", "before the first period kept (2014-01"),
    ]:
        path = write_csv(tmp_path / name, [person(1)])
        assert cause in str(refused(dsn, key, path))
    with psycopg.connect(dsn) as conn:
        assert conn.execute("select count(*) from raw.enrollment_snapshot").fetchone()[0] == 0


def test_tiny_reference_edition_is_refused_unless_accepted(dsn, key, tmp_path):
    tiny = tmp_path / "kemendagri_2026_regions.csv"
    tiny.write_text("".join(REGIONS_CSV.read_text().splitlines(keepends=True)[:7]))
    message = str(refused(dsn, None, tiny, dataset="regions"))
    assert "edition_size: 6 rows against 7,837 in the edition in use (2025)" in message
    with psycopg.connect(dsn) as conn:
        assert conn.execute("select max(edition_year) from raw.regions").fetchone()[0] == 2025
    load_extract(dsn, "regions", str(tiny), options=LoadOptions(accept_implausible=True))
    assert last_load(dsn)[1:2] + last_load(dsn)[5:] == ("loaded", ["edition_size"])


def test_population_total_that_jumps_is_refused(dsn, key, tmp_path):
    load_extract(dsn, "population", str(POPULATION_CSV))
    lines = POPULATION_CSV.read_text().splitlines()
    doubled = [lines[0]]
    for line in lines[1:]:
        code, name, *counts = line.split(",")
        doubled.append(",".join([code, name, *(str(int(c) * 2) for c in counts)]))
    path = tmp_path / "kemendagri_2026_population_by_region.csv"
    path.write_text("\n".join(doubled) + "\n")
    assert "population_total: 569,947,286 against 284,973,643" in str(
        refused(dsn, None, path, dataset="population")
    )


def test_two_files_for_one_month_are_both_refused(dsn, key, tmp_path, monkeypatch):
    from cakupan.ingest import find_new_extracts, load
    from cakupan.loader import RunInfo

    source = tmp_path / "enrollment"
    source.mkdir()
    write_csv(source / "enrollment_2025-01.csv", [person(i) for i in range(5)])
    write_csv(source / "enrollment_202501.csv.gz", [person(i) for i in range(6)], gz=True)
    write_csv(
        source / "enrollment_2025-02.csv", [person(i, last_paid_month="2025-02") for i in range(4)]
    )
    monkeypatch.setenv("CAKUPAN_SOURCE_ENROLLMENT", str(source))
    uris = find_new_extracts(dsn, "enrollment")
    assert [Path(u).name for u in uris] == [
        "enrollment_2025-01.csv",
        "enrollment_2025-02.csv",
        "enrollment_202501.csv.gz",
    ]
    messages = {}
    for uri in uris:
        try:
            load(dsn, "enrollment", uri, RunInfo(), key)
        except ExtractError as exc:
            messages[Path(uri).name] = str(exc)
    assert set(messages) == {"enrollment_2025-01.csv", "enrollment_202501.csv.gz"}
    assert "same period 2025-01-01: enrollment_202501.csv.gz" in messages["enrollment_2025-01.csv"]
    with psycopg.connect(dsn) as conn:
        months = conn.execute(
            "select distinct snapshot_month::text from raw.enrollment_snapshot"
        ).fetchall()
    assert months == [("2025-02-01",)]


def test_published_raw_never_changes_on_refusal(dsn, key, tmp_path):
    good = write_csv(tmp_path / "enrollment_2025-01.csv", [person(i) for i in range(40)])
    load_extract(dsn, "enrollment", str(good), key=key)
    with psycopg.connect(dsn) as conn:
        before = table_checksum(conn, "raw.enrollment_snapshot")
    (tmp_path / "bad").mkdir()
    for build in (hostile.swapped_columns, hostile.header_missing):
        refused(dsn, key, build(tmp_path / "bad" / "enrollment_2025-01.csv"))
    with psycopg.connect(dsn) as conn:
        assert table_checksum(conn, "raw.enrollment_snapshot") == before


def test_cli_turns_operator_mistakes_into_one_line(tmp_path):
    env = dict(
        os.environ,
        CAKUPAN_WAREHOUSE_DSN=f"postgresql://postgres@/warehouse?host={tmp_path}",
        CAKUPAN_NIK_HMAC_KEY="k" * 32,
    )
    for args, expected in [
        (["load", "enrollment", "enrollment_2025-01.csv"], "cannot reach the warehouse"),
        (["summary"], "cannot reach the warehouse"),
    ]:
        proc = subprocess.run([CAKUPAN, *args], env=env, capture_output=True, text=True)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        (line,) = proc.stderr.strip().splitlines()
        assert line.startswith("cakupan: error: ") and expected in line and "make warehouse" in line
    # No warehouse running: Airflow must not quietly fall back to a SQLite database.
    bare = {k: v for k, v in env.items() if not k.startswith(("AIRFLOW", "CAKUPAN"))}
    proc = subprocess.run(
        [CAKUPAN, "airflow", "dags", "list"],
        env=dict(bare, CAKUPAN_LOCAL_DIR=str(tmp_path / "local"), CAKUPAN_NIK_HMAC_KEY="k" * 32),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1 and proc.stderr.startswith(
        "cakupan: error: the warehouse is not running: start it with `make warehouse`"
    )
    assert not list((tmp_path / "local").rglob("*.db"))  # no SQLite database was made
    proc = subprocess.run(
        [CAKUPAN, "load", "enrollment", "x.csv"],
        env=dict(env, CAKUPAN_MAX_REJECT_RATIO="lots"),
        capture_output=True,
        text=True,
    )
    assert proc.stderr.strip() == (
        "cakupan: error: CAKUPAN_MAX_REJECT_RATIO must be a number, 0 to 1; got 'lots'"
    )


@pytest.mark.parametrize("reader", ["columnar", "per_row"])
def test_one_nik_under_two_kpjs_is_flagged(dsn, key, tmp_path, monkeypatch, reader):
    if reader == "per_row":
        from cakupan import readers

        def refuse(job):
            raise readers.NotColumnar("forced for the test")

        monkeypatch.setattr(readers, "copy_columnar", refuse)
    rows = [person(i) for i in range(30)]
    rows.append(person(77, nik=rows[4]["nik"]))  # same person, another KPJ
    rows.append(person(78, nik=rows[4]["nik"]))
    # The same KPJ twice: quarantined as a duplicate, so it must not count as a NIK
    # under another KPJ (the columnar reader counted it before it was dropped).
    rows.append(dict(rows[4]))
    path = write_csv(tmp_path / "enrollment_2025-01.csv", rows)
    result = load_extract(dsn, "enrollment", str(path), key=key)
    assert (result.rows_loaded, result.rows_rejected) == (32, 1)
    with psycopg.connect(dsn) as conn:
        (repeated,) = conn.execute(
            "select rows_repeated_nik from audit.extract_loads where load_id = %s",
            (result.load_id,),
        ).fetchone()
    assert repeated == 2


def test_a_changed_nik_key_is_refused_unless_rotating(dsn, key, tmp_path):
    """Tokens of two keys never match: a month under another key (a secrets backend
    serving the wrong key) is refused; a deliberate rotation says so, and is audited."""
    january = write_csv(tmp_path / "enrollment_2025-01.csv", [person(i) for i in range(20)])
    load_extract(dsn, "enrollment", str(january), key=key)
    february = write_csv(
        tmp_path / "enrollment_2025-02.csv",
        [person(i, last_paid_month="2025-02") for i in range(20)],
    )
    other_key = b"o" * 32
    message = str(refused(dsn, other_key, february))
    assert "key_change: this load's NIK key (fingerprint" in message
    assert "1 month(s) in raw (2025-01-01 to 2025-01-01" in message
    load_extract(
        dsn, "enrollment", str(february), key=other_key, options=LoadOptions(accept_new_key=True)
    )
    assert last_load(dsn)[1:2] + last_load(dsn)[5:] == ("loaded", ["key_change"])
    # The rotation goes on with January; once every month is under the new key, a
    # reload under it needs no override.
    load_extract(
        dsn, "enrollment", str(january), key=other_key, options=LoadOptions(accept_new_key=True)
    )
    load_extract(dsn, "enrollment", str(february), key=other_key)
    assert last_load(dsn)[5] is None
