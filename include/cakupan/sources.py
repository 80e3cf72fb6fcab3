"""Finding and reading extracts wherever they land.

A source is a URI understood by fsspec (the layer under Airflow's
ObjectStoragePath): a local folder, http(s):// (an index page listing files),
s3://, gs://, memory:// ... Files may be CSV (comma or semicolon, UTF-8 with or
without BOM, optionally gzip) or XLSX. Rows are streamed, never held whole.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import fsspec

from cakupan.errors import ExtractError

EXTENSIONS = (".csv", ".csv.gz", ".txt", ".txt.gz", ".xlsx")
GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"


def file_name(uri: str) -> str:
    return PurePosixPath(uri.split("?")[0]).name


def _is_extract_name(uri: str) -> bool:
    return uri.split("?")[0].lower().endswith(EXTENSIONS)


def list_extracts(source_uri: str) -> list[str]:
    """Extract files directly under a source folder (or the file itself), sorted by name."""
    fs, path = fsspec.core.url_to_fs(source_uri)
    # Over HTTP a folder is an index page, which is "a file" too: decide by extension.
    if _is_extract_name(source_uri) and fs.isfile(path):
        return [source_uri]
    if not fs.exists(path):
        return []
    entries = fs.ls(path, detail=True)
    names = [e["name"] for e in entries if e.get("type") == "file" and _is_extract_name(e["name"])]
    return sorted((_full_uri(fs, n) for n in names), key=file_name)


def _full_uri(fs, name: str) -> str:
    if "://" in name:
        return name
    return fs.unstrip_protocol(name) if fs.protocol not in ("file", ("file", "local")) else name


def file_checksum(uri: str) -> str:
    """SHA-256 of the file's bytes as stored (compressed files are hashed compressed)."""
    digest = hashlib.sha256()
    try:
        with fsspec.open(uri, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    except FileNotFoundError as exc:
        raise ExtractError(uri, "file not found") from exc
    return digest.hexdigest()


class _HashingReader(io.RawIOBase):
    """Computes the checksum and size of the bytes as received, while they stream by."""

    def __init__(self, raw):
        self._raw = raw
        self.sha256 = hashlib.sha256()
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.sha256.update(data)
        self.bytes_read += n
        return n


@dataclass
class Extract:
    """An open extract: its header, a row iterator and, once consumed, checksum and size."""

    uri: str
    format: str
    header: list[str]
    rows: Iterator[tuple[int, list[str]]]
    _hasher: _HashingReader = field(repr=False)

    @property
    def checksum(self) -> str:
        return self._hasher.sha256.hexdigest()

    @property
    def bytes_read(self) -> int:
        return self._hasher.bytes_read

    def drain(self) -> None:
        """Read to the end so the checksum covers the whole file."""
        while self._hasher.read(1 << 20):
            pass


@contextmanager
def _open_bytes(uri: str) -> Iterator[tuple[_HashingReader, io.BufferedReader, bool, object]]:
    """(hasher, buffered file, is_xlsx, decompressed CSV byte stream)."""
    try:
        raw = fsspec.open(uri, "rb").open()
    except FileNotFoundError as exc:
        raise ExtractError(uri, "file not found") from exc
    try:
        hasher = _HashingReader(raw)
        buffered = io.BufferedReader(hasher, buffer_size=1 << 20)
        magic = buffered.peek(4)[:4]
        if not magic:
            raise ExtractError(uri, "file is empty")
        is_xlsx = magic.startswith(ZIP_MAGIC) or uri.lower().endswith(".xlsx")
        stream = buffered
        if magic.startswith(GZIP_MAGIC):
            import gzip

            stream = gzip.GzipFile(fileobj=buffered, mode="rb")
        yield hasher, buffered, is_xlsx, stream
    finally:
        raw.close()


@contextmanager
def open_extract(uri: str) -> Iterator[Extract]:
    with _open_bytes(uri) as (hasher, buffered, is_xlsx, stream):
        if is_xlsx:
            yield _open_xlsx(uri, buffered, hasher)
        else:
            yield _open_csv(uri, stream, hasher)


def _delimiter(header_line: str) -> str:
    return ";" if header_line.count(";") > header_line.count(",") else ","


@dataclass
class CsvStream:
    """A CSV extract as bytes for a columnar reader: header and delimiter already read,
    `stream` positioned on the first data line (line 2), decompressed."""

    uri: str
    header: list[str]
    delimiter: str
    stream: object
    _hasher: _HashingReader = field(repr=False)

    checksum = Extract.checksum
    bytes_read = Extract.bytes_read
    drain = Extract.drain


@contextmanager
def open_csv_stream(uri: str) -> Iterator[CsvStream | None]:
    """The extract as a CsvStream, or None when it is not a plain CSV whose header
    decodes (XLSX, or a fault the row-by-row reader of open_extract will name)."""
    with _open_bytes(uri) as (hasher, _buffered, is_xlsx, stream):
        if is_xlsx:
            yield None
            return
        try:
            first = stream.readline().decode("utf-8-sig")
        except (UnicodeDecodeError, EOFError, OSError):
            yield None
            return
        if not first.strip() or not first.endswith("\n"):
            yield None
            return
        delimiter = _delimiter(first)
        header = [h.strip() for h in next(csv.reader([first], delimiter=delimiter))]
        yield CsvStream(uri, header, delimiter, stream, hasher)


def _text_lines(uri: str, stream, state: dict) -> Iterator[str]:
    """Decoded lines (decoded one by one so an encoding fault names its line); remembers
    whether the last line ended with a newline, for the truncation check."""
    line_no = 0
    try:
        for raw_line in stream:
            line_no += 1
            line = raw_line.decode("utf-8-sig" if line_no == 1 else "utf-8")
            state["ended_with_newline"] = line.endswith(("\n", "\r"))
            yield line
    except UnicodeDecodeError as exc:
        raise ExtractError(
            uri, f"not valid UTF-8 ({exc.reason} at byte {exc.start} of the line)", line=line_no
        ) from exc
    except (EOFError, OSError) as exc:  # gzip stream cut short, or corrupt
        raise ExtractError(uri, f"file is truncated or corrupt: {exc}", line=line_no + 1) from exc


def _open_csv(uri: str, stream, hasher: _HashingReader) -> Extract:
    state = {"ended_with_newline": True}
    lines = _text_lines(uri, stream, state)
    first = next(lines, None)
    if first is None or not first.strip():
        raise ExtractError(uri, "file is empty (no header row)", line=1)
    delimiter = _delimiter(first)
    header = [h.strip() for h in next(csv.reader([first], delimiter=delimiter))]
    width = len(header)

    def rows() -> Iterator[tuple[int, list[str]]]:
        reader = csv.reader(lines, delimiter=delimiter, strict=True)
        try:
            for values in reader:
                if not values:  # blank line
                    continue
                line = reader.line_num + 1  # +1: the header was read outside this reader
                if len(values) != width and not state["ended_with_newline"]:
                    raise ExtractError(
                        uri,
                        f"file is truncated: last row has {len(values)} of {width} fields "
                        "and no line end",
                        line=line,
                    )
                yield line, values
        except csv.Error as exc:
            raise ExtractError(uri, f"malformed CSV: {exc}", line=reader.line_num + 1) from exc

    return Extract(uri, "csv", header, rows(), hasher)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _open_xlsx(uri: str, buffered, hasher: _HashingReader) -> Extract:
    import openpyxl

    # openpyxl needs a seekable file; spreadsheets sent by offices are small.
    data = io.BytesIO(buffered.read())
    try:
        book = openpyxl.load_workbook(data, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise ExtractError(uri, f"not a readable XLSX workbook: {exc}") from exc
    sheet = book.worksheets[0]
    cells = sheet.iter_rows(values_only=True)
    first = next(cells, None)
    if first is None or all(v is None for v in first):
        raise ExtractError(uri, "workbook's first sheet is empty (no header row)", line=1)
    header = [_cell_text(v) for v in first]
    while header and header[-1] == "":
        header.pop()
    width = len(header)

    def rows() -> Iterator[tuple[int, list[str]]]:
        for line, values in enumerate(cells, start=2):
            texts = [_cell_text(v) for v in values]
            if not any(texts):
                continue
            if len(texts) > width and not any(texts[width:]):
                texts = texts[:width]
            yield line, texts
        book.close()

    return Extract(uri, "xlsx", header, rows(), hasher)
