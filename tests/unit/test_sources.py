import gzip

import openpyxl
import pytest

from cakupan.errors import ExtractError
from cakupan.sources import file_checksum, list_source, open_extract

HEADER = ["a", "b", "c"]


def rows_of(path):
    with open_extract(str(path)) as e:
        rows = list(e.rows)
        e.drain()
        return e.header, rows, e.format, e.checksum


@pytest.mark.parametrize(
    "text",
    [
        "a,b,c\n1,2,3\n4,5,6\n",
        "a;b;c\r\n1;2;3\r\n4;5;6\r\n",
        "\ufeffa,b,c\n1,2,3\n4,5,6",
    ],
)
def test_csv_dialects(tmp_path, text):
    path = tmp_path / "x.csv"
    path.write_text(text, encoding="utf-8")
    header, rows, fmt, checksum = rows_of(path)
    assert header == HEADER and fmt == "csv"
    assert rows == [(2, ["1", "2", "3"]), (3, ["4", "5", "6"])]
    assert checksum == file_checksum(str(path))


def test_gzip(tmp_path):
    path = tmp_path / "x.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write("a;b;c\n1;2;3\n")
    header, rows, _, checksum = rows_of(path)
    assert header == HEADER and rows == [(2, ["1", "2", "3"])]
    assert checksum == file_checksum(str(path))


def test_xlsx(tmp_path):
    import datetime as dt

    path = tmp_path / "x.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append([15060000001, dt.datetime(1991, 1, 6), 2.0])
    sheet.append([None, None, None])
    sheet.append(["x", "y", "z"])
    book.save(path)
    header, rows, fmt, _ = rows_of(path)
    assert fmt == "xlsx" and header == HEADER
    assert rows == [(2, ["15060000001", "1991-01-06", "2"]), (4, ["x", "y", "z"])]


def test_empty_file_names_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(ExtractError, match="empty.csv: file is empty"):
        rows_of(path)


def test_bad_encoding_names_line(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("a,b,c\n1,2,3\nJos\xe9,2,3\n".encode("latin-1"))
    with pytest.raises(ExtractError, match=r"latin.csv, line 3: not valid UTF-8"):
        rows_of(path)


def test_truncated_gzip(tmp_path):
    path = tmp_path / "cut.csv.gz"
    data = gzip.compress(("a,b,c\n" + "1,2,3\n" * 50000).encode())
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ExtractError, match="cut.csv.gz.*truncated or corrupt"):
        rows_of(path)


def test_truncated_last_row(tmp_path):
    path = tmp_path / "cut.csv"
    path.write_text("a,b,c\n1,2,3\n4,5")
    with pytest.raises(ExtractError, match=r"cut.csv, line 3: file is truncated"):
        rows_of(path)


def test_list_extracts_sorted_and_filtered(tmp_path):
    for name in ("b_2025-02.csv", "a_2025-01.csv.gz", "notes.md", "c.xlsx", "old_2025-03.xls"):
        (tmp_path / name).write_text("x")
    (tmp_path / "forged\n2026-01-01 INFO all good_2025-04.csv").write_text("x")
    (tmp_path / "sub_2025-05.csv").mkdir()
    (tmp_path / "link_2025-06.csv").symlink_to(tmp_path / "b_2025-02.csv")
    listing = list_source(str(tmp_path))
    assert [p.rsplit("/", 1)[-1] for p in listing.extracts] == [
        "a_2025-01.csv.gz",
        "b_2025-02.csv",
        "c.xlsx",
    ]
    ignored = dict(listing.ignored)
    assert "legacy Excel" in ignored["old_2025-03.xls"]
    assert "not an extract type" in ignored["notes.md"]
    assert "folder" in ignored["sub_2025-05.csv"] and "symbolic link" in ignored["link_2025-06.csv"]
    # A newline in a name is shown escaped: it cannot start a log line of its own.
    (forged,) = [name for name in ignored if name.startswith("forged")]
    assert forged.startswith("forged\\n") and "control characters" in ignored[forged]
    assert all("\n" not in name for name, _ in listing.ignored)
    with pytest.raises(ExtractError, match="missing: source folder does not exist"):
        list_source(str(tmp_path / "missing"))
