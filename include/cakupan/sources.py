"""Finding and reading extracts wherever they land.

A source is a URI understood by fsspec (the layer under Airflow's
ObjectStoragePath): a local folder, http(s):// (an index page listing files),
s3://, gs://, memory:// ... Files may be CSV (comma or semicolon, UTF-8 with or
without BOM, optionally gzip) or XLSX. Rows are streamed, never held whole.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
import sys
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import fsspec

from cakupan.errors import ExtractError
from cakupan.privacy import clean_text, safe_text

EXTENSIONS = (".csv", ".csv.gz", ".txt", ".txt.gz", ".xlsx")
GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
DEFAULT_MAX_LINE_BYTES = 32 << 20
# Deflate never expands more than about 1032 to 1 (zlib's documented limit), so a gzip
# stream of n bytes holds at most this many times n bytes of text.
MAX_DEFLATE_RATIO = 1032
# Lines are bounded by the reader (max_line_bytes); csv's own field limit would refuse
# the whole file for one long field, which is the fault of its row only.
csv.field_size_limit(sys.maxsize)


def file_name(uri: str) -> str:
    return PurePosixPath(uri.split("?")[0]).name


def _is_extract_name(uri: str) -> bool:
    return uri.split("?")[0].lower().endswith(EXTENSIONS)


@dataclass(frozen=True)
class Listing:
    """A source folder's extracts, and what was left out with the reason."""

    extracts: list[str]
    ignored: list[tuple[str, str]]


def _ignored_reason(entry: dict) -> str | None:
    name = file_name(entry["name"])
    if entry.get("islink"):
        return "a symbolic link (not followed: the landing area holds the files themselves)"
    if entry.get("type") == "directory":
        return "a folder (extracts are read from the source folder itself, not below it)"
    if entry.get("type") != "file":
        return "not a regular file"
    if safe_text(name) != name:
        return "its name holds control characters or a long number; rename it"
    if name.lower().endswith(".xls"):
        return "legacy Excel (.xls) is not read: save it as .xlsx or CSV"
    if not _is_extract_name(name):
        return f"not an extract type ({', '.join(EXTENSIONS)})"
    return None


def list_source(source_uri: str) -> Listing:
    """Extract files directly under a source folder (or the file itself), sorted by name;
    a source that does not exist is an error, not an empty folder."""
    fs, path = fsspec.core.url_to_fs(source_uri)
    # Over HTTP a folder is an index page, which is "a file" too: decide by extension.
    if _is_extract_name(source_uri) and fs.isfile(path):
        return Listing([source_uri], [])
    if not fs.exists(path):
        raise ExtractError(source_uri, "source folder does not exist")
    extracts, ignored = [], []
    for entry in fs.ls(path, detail=True):
        why = _ignored_reason(entry)
        if why:
            ignored.append((safe_text(file_name(entry["name"])), why))
        else:
            extracts.append(_full_uri(fs, entry["name"]))
    return Listing(sorted(extracts, key=file_name), sorted(ignored))


def list_extracts(source_uri: str) -> list[str]:
    return list_source(source_uri).extracts


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
    # (line, fields) per non-blank row; a LineFault where the line cannot be split.
    rows: Iterator[tuple[int, list[str] | LineFault]]
    _hasher: _HashingReader = field(repr=False)
    text_bound: int | None = None  # most bytes of text the file can hold; None: unknown
    _state: dict = field(default_factory=dict, repr=False)

    @property
    def consumed(self) -> int:
        """Bytes of text read so far (CSV): with text_bound, how much can still come."""
        return self._state.get("consumed", 0)

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


@dataclass
class _Opened:
    hasher: _HashingReader
    buffered: io.BufferedReader
    is_xlsx: bool
    stream: object  # the decompressed bytes
    # At most this many bytes of text (decompressed) in the file; None: size unknown.
    text_bound: int | None


@contextmanager
def _open_bytes(uri: str) -> Iterator[_Opened]:
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
        size = getattr(raw, "size", None)
        stream, bound = buffered, size
        if magic.startswith(GZIP_MAGIC):
            stream = gzip.GzipFile(fileobj=buffered, mode="rb")
            bound = size * MAX_DEFLATE_RATIO if size else None
        yield _Opened(hasher, buffered, is_xlsx, stream, bound)
    finally:
        raw.close()


@contextmanager
def open_extract(uri: str, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> Iterator[Extract]:
    with _open_bytes(uri) as opened:
        if opened.is_xlsx:
            yield _open_xlsx(uri, opened)
        else:
            yield _open_csv(uri, opened, max_line_bytes)


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
    text_bound: int | None
    header_bytes: int
    _hasher: _HashingReader = field(repr=False)

    checksum = Extract.checksum
    bytes_read = Extract.bytes_read
    drain = Extract.drain


@contextmanager
def open_csv_stream(
    uri: str, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
) -> Iterator[CsvStream | None]:
    """The extract as a CsvStream, or None when it is not a plain CSV whose header
    reads cleanly (XLSX, or a fault the row-by-row reader of open_extract will name)."""
    with _open_bytes(uri) as opened:
        if opened.is_xlsx:
            yield None
            return
        try:
            raw = opened.stream.readline(max_line_bytes + 1)
            first = raw.decode("utf-8-sig")
        except (UnicodeDecodeError, EOFError, OSError, zlib.error):
            yield None
            return
        if not first.strip() or not first.endswith("\n") or _bare_cr(raw):
            yield None
            return
        delimiter = _delimiter(first)
        header = [h.strip() for h in next(csv.reader([first], delimiter=delimiter))]
        yield CsvStream(
            uri, header, delimiter, opened.stream, opened.text_bound, len(raw), opened.hasher
        )


def _bare_cr(line: bytes) -> bool:
    """A carriage return inside the line: CR-only line ends (classic Mac OS) or a stray CR."""
    return b"\r" in line.rstrip(b"\r\n")


def _physical_lines(uri: str, stream, max_line_bytes: int) -> Iterator[bytes]:
    """The file's lines as bytes, none longer than max_line_bytes (a longer one refuses
    the file naming its line: memory stays bounded whatever the input)."""
    line_no = 0
    try:
        while raw := stream.readline(max_line_bytes + 1):
            line_no += 1
            if len(raw) > max_line_bytes:
                raise ExtractError(
                    uri,
                    f"line longer than {max_line_bytes:,} bytes (CAKUPAN_MAX_LINE_BYTES); "
                    "no valid row comes near that",
                    line=line_no,
                )
            if line_no == 1 and _bare_cr(raw):
                raise ExtractError(
                    uri,
                    "a carriage return inside the header line: the line ends are probably "
                    "CR only (classic Mac OS); save the file with LF or CRLF line ends",
                    line=1,
                )
            yield raw
    except (EOFError, OSError, zlib.error) as exc:  # gzip stream cut short, or corrupt
        raise ExtractError(
            uri, f"file is truncated or corrupt: {type(exc).__name__}", line=line_no + 1
        ) from exc


@dataclass(frozen=True)
class LineFault:
    """A line that cannot be split into fields; its row is quarantined."""

    reason: str


def _fields(text: str, delimiter: str) -> list[str] | LineFault:
    """One line split into fields. A quoted field may not span lines (no value of these
    extracts holds a line break), so an unclosed quote is the fault of its own line."""
    if "\x00" in text:
        return LineFault("contains a NUL byte")
    try:
        parsed = list(csv.reader([text], delimiter=delimiter, strict=True))
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            return LineFault("unclosed quote: a quoted field does not end on its line")
        return LineFault(f"malformed CSV: {exc}")
    return parsed[0] if parsed else []


def _open_csv(uri: str, opened: _Opened, max_line_bytes: int) -> Extract:
    lines = _physical_lines(uri, opened.stream, max_line_bytes)
    first = next(lines, None)
    try:
        header_text = first.decode("utf-8-sig") if first else ""
    except UnicodeDecodeError as exc:
        raise ExtractError(uri, f"not valid UTF-8 ({exc.reason})", line=1) from exc
    if not header_text.strip():
        raise ExtractError(uri, "file is empty (no header row)", line=1)
    delimiter = _delimiter(header_text)
    header = [h.strip() for h in next(csv.reader([header_text], delimiter=delimiter))]
    width = len(header)
    state = {"consumed": len(first)}

    def rows() -> Iterator[tuple[int, list[str] | LineFault]]:
        for line, raw in enumerate(lines, start=2):
            state["consumed"] += len(raw)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ExtractError(
                    uri, f"not valid UTF-8 ({exc.reason} at byte {exc.start} of the line)", line
                ) from exc
            if not text.strip():  # blank line
                continue
            values = _fields(text, delimiter)
            if not text.endswith(("\n", "\r")) and (
                isinstance(values, LineFault) or len(values) != width
            ):
                raise ExtractError(
                    uri, "file is truncated: the last row is incomplete and has no line end", line
                )
            yield line, values

    return Extract(uri, "csv", header, rows(), opened.hasher, opened.text_bound, state)


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


# Offices send small workbooks; the limits keep a zip bomb from filling memory
# (openpyxl holds the shared-strings table whole).
MAX_XLSX_BYTES = 128 << 20
MAX_XLSX_SHARED_STRINGS_BYTES = 128 << 20


def _workbook(uri: str, data: io.BytesIO, data_only: bool):
    import openpyxl

    try:
        with zipfile.ZipFile(data) as archive:
            for member in archive.infolist():
                if member.filename.endswith("sharedStrings.xml") and (
                    member.file_size > MAX_XLSX_SHARED_STRINGS_BYTES
                ):
                    raise ExtractError(
                        uri,
                        f"workbook's shared strings inflate to {member.file_size:,} bytes "
                        f"(limit {MAX_XLSX_SHARED_STRINGS_BYTES:,}): send CSV instead",
                    )
        data.seek(0)
        return openpyxl.load_workbook(data, read_only=True, data_only=data_only)
    except ExtractError:
        raise
    except Exception as exc:  # zip, XML or openpyxl faults: the workbook is unreadable
        raise ExtractError(uri, f"not a readable XLSX workbook: {_xlsx_fault(exc)}") from exc


def _xlsx_fault(exc: Exception) -> str:
    return clean_text(f"{type(exc).__name__}: {str(exc)[:200]}")


def _open_xlsx(uri: str, opened: _Opened) -> Extract:
    # openpyxl needs a seekable file; spreadsheets sent by offices are small.
    data = io.BytesIO(opened.buffered.read(MAX_XLSX_BYTES + 1))
    if len(data.getbuffer()) > MAX_XLSX_BYTES:
        raise ExtractError(uri, f"workbook is over {MAX_XLSX_BYTES:,} bytes: send CSV instead")
    book = _workbook(uri, data, data_only=True)
    # A second view of the same sheet shows formulas as written: a formula whose
    # value was never calculated (no cached value) reads as empty in the first one.
    formulas = _workbook(uri, io.BytesIO(data.getvalue()), data_only=False)
    cells = book.worksheets[0].iter_rows(values_only=True)
    written = formulas.worksheets[0].iter_rows(values_only=True)
    line = 1
    try:
        first = next(cells, None)
        next(written, None)
    except Exception as exc:
        raise ExtractError(uri, f"malformed XLSX sheet: {_xlsx_fault(exc)}", line=1) from exc
    if first is None or all(v is None for v in first):
        raise ExtractError(uri, "workbook's first sheet is empty (no header row)", line=1)
    header = [_cell_text(v) for v in first]
    while header and header[-1] == "":
        header.pop()
    width = len(header)

    def rows() -> Iterator[tuple[int, list[str] | LineFault]]:
        nonlocal line
        try:
            for line, (values, as_written) in enumerate(zip(cells, written, strict=True), start=2):
                texts = [_cell_text(v) for v in values]
                if not any(texts) and not any(v is not None for v in as_written):
                    continue
                if len(texts) > width and not any(texts[width:]):
                    texts = texts[:width]
                uncalculated = [
                    i
                    for i, (v, w) in enumerate(zip(values, as_written, strict=False))
                    if v is None and isinstance(w, str) and w.startswith("=")
                ]
                if uncalculated:
                    yield (
                        line,
                        LineFault(
                            f"formula without a calculated value in column {uncalculated[0] + 1}"
                            " (recalculate and save the workbook in Excel)"
                        ),
                    )
                    continue
                yield line, texts
        except ExtractError:
            raise
        except Exception as exc:
            raise ExtractError(
                uri, f"malformed XLSX sheet: {_xlsx_fault(exc)}", line=line + 1
            ) from exc
        finally:
            book.close()
            formulas.close()

    return Extract(uri, "xlsx", header, rows(), opened.hasher, None, {"consumed": 0})
