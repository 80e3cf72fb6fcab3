"""What may leave the loader: values and messages with no personal data in them.

Everything a load writes besides its raw rows (quarantine records, audit errors,
log lines, task failures) goes through here. The rules, in one place:

- A value of a personal column (NIK, name, birth date) is never kept.
- In any text, a NIK-shaped run of digits (12 or more, separators allowed) and a
  date (2001-02-30, 30/02/2001, 20010230) are withheld: a careless supplier can
  put them under any column (swapped columns, a data row where the header
  should be).
- In extracts that hold personal data, a rejected value is kept as written only
  when every word in it belongs to the contract's vocabulary (segment, program,
  status codes...); anything else, a name under `segment` for instance, is kept
  as its shape ("Aaaa Aaaaaaa", "9999-99-99"), which still tells an operator
  what kind of value arrived.
- Control characters are escaped, so a file name or value cannot forge a log line.
"""

from __future__ import annotations

import re

MAX_SHOWN = 60  # characters of a value kept in quarantine or quoted in a message
NIK_SHAPED = re.compile(r"(?<!\d)\d(?:[ .\-]?\d){11,}(?!\d)")
_DATE_SHAPED = re.compile(
    r"(?<!\d)(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}"
    r"|(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:[0-3]\d)|(?:[0-3]\d)(?:0[1-9]|1[0-2])(?:19|20)\d{2})"
    r"(?!\d)"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_WORD = re.compile(r"[^\W\d_]+")
WITHHELD_DIGITS = "<digits withheld>"
WITHHELD_DATE = "<date withheld>"


def _escape_control(text: str) -> str:
    return _CONTROL.sub(lambda m: repr(m[0])[1:-1], text)


def safe_text(text: str) -> str:
    """A file name, URI or message of our own, safe to print, log and store: NIK-shaped
    numbers withheld, control characters escaped (one line, whatever the input)."""
    return _escape_control(NIK_SHAPED.sub(WITHHELD_DIGITS, text))


def clean_text(text: str) -> str:
    """Text that may carry row data (values, header cells, a library's error message):
    as safe_text, and dates withheld too."""
    return safe_text(_DATE_SHAPED.sub(WITHHELD_DATE, text))


def shape(value: str) -> str:
    """The value with letters as A/a and digits as 9: its form without its content."""
    out = []
    for ch in value[:MAX_SHOWN]:
        if ch.isdigit():
            out.append("9")
        elif ch.isalpha():
            out.append("A" if ch.isupper() else "a")
        else:
            out.append(ch)
    return _shortened(_escape_control("".join(out)), len(value))


def _shortened(text: str, length: int) -> str:
    if length <= MAX_SHOWN:
        return text
    return f"{text[:MAX_SHOWN]}... ({length:,} characters)"


def has_personal_shape(value: str) -> bool:
    """A NIK-shaped number or a date somewhere in the text."""
    return bool(NIK_SHAPED.search(value) or _DATE_SHAPED.search(value))


def kept_value(
    value: str | None,
    column: str,
    personal_columns: frozenset[str],
    vocabulary: frozenset[str] | None,
) -> str | None:
    """What quarantine may keep of a rejected value (see the module's rules).

    `vocabulary`: the words an extract with personal data may show as written
    (None for extracts without personal data, whose values are kept but cleaned)."""
    if value is None or column in personal_columns:
        return None
    if vocabulary is None:
        return _shortened(clean_text(value), len(value))
    words = {w.upper() for w in _WORD.findall(value)}
    if has_personal_shape(value) or not words <= vocabulary or len(value) > MAX_SHOWN:
        return shape(value)
    return _escape_control(value)


def quoted_names(names: list[str]) -> list[str]:
    """Header cells as they may be quoted in an error: identifier-like names as
    written, anything else (a value, where the header should be) withheld."""
    identifier = re.compile(r"^[a-z_][a-z0-9_]{0,39}$")
    return [n if identifier.match(n) else f"<cell {i + 1} withheld>" for i, n in enumerate(names)]


def vocabulary_of(values) -> frozenset[str]:
    """The words of a contract's allowed values, as kept_value compares them."""
    return frozenset(w.upper() for v in values for w in _WORD.findall(v))
