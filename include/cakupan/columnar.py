"""Vectorised contract check of enrollment rows: a whole batch at a time, in Arrow.

The per-row parser in contracts.py stays the reference. Rows this check does not
accept are handed to it, and it either accepts them after all (unusual but valid
forms such as 31/01/2025 dates or programs written "JKM, JKK") or names their
faults. So this check may be stricter than the parser, never looser, and must give
the same values for the rows it accepts; tests/unit/test_columnar.py holds it to that.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cakupan.contracts import (
    ECOSYSTEMS,
    ENROLLMENT,
    MANDATORY_PROGRAMS,
    MAX_FIELD_CHARS,
    MAX_OCCUPATION_CODE,
    MAX_PARTICIPANT_AGE,
    MIN_PARTICIPANT_AGE,
    OLDEST_BIRTH_YEAR,
    PAYERS,
    PROGRAMS,
    SEGMENT_PROGRAMS,
    SEGMENTS,
    SEXES,
    STATUSES,
    Regions,
)
from cakupan.pseudonymise import TOKEN_CHARS, TOKEN_KEY_CHARS, NikPseudonymiser

NIK_DIGITS = 16
KPJ_DIGITS = 11

# Output columns: the line, then ENROLLMENT.copy_columns, typed as checked (dates that
# were parsed stay dates); binary_copy.py takes them to the raw table's column types.
_CHECKED_TYPES = {
    "birth_date": pa.date32(),
    "registration_date": pa.date32(),
    "last_paid_month": pa.date32(),
    "occupation_code": pa.int16(),
    "poverty_decile": pa.int16(),
    **{f"has_{p.lower()}": pa.bool_() for p in PROGRAMS},
}
OUTPUT_SCHEMA = pa.schema(
    [
        ("_line", pa.int32()),
        *[(c, _CHECKED_TYPES.get(c, pa.string())) for c in ENROLLMENT.copy_columns],
    ]
)

# Program lists in their canonical spelling ("JKK|JKM|JHT"): the mandatory programs
# plus any subset of the others, in contract order.
_OPTIONAL = [p for p in PROGRAMS if p not in MANDATORY_PROGRAMS]
_CANONICAL_PROGRAMS = [
    [p for p in PROGRAMS if p in MANDATORY_PROGRAMS or p in subset]
    for n in range(len(_OPTIONAL) + 1)
    for subset in itertools.combinations(_OPTIONAL, n)
]
_PROGRAM_TEXT = pa.array(["|".join(p) for p in _CANONICAL_PROGRAMS])
_PROGRAM_FLAGS = {p: pa.array([p in chosen for chosen in _CANONICAL_PROGRAMS]) for p in PROGRAMS}


@dataclass(frozen=True)
class BatchContext:
    """What the check needs besides the rows, as Arrow values (built once per load)."""

    period: pa.Scalar  # date32: the month's first day
    snapshot_year: int
    period_end: pa.Scalar  # date32
    province_numbers: pa.Array  # int64: NIK province parts are compared as numbers
    regencies: pa.Array
    districts: pa.Array
    pseudonymiser: NikPseudonymiser

    @classmethod
    def build(
        cls, period: str, period_end: dt.date, regions: Regions, pseudonymiser: NikPseudonymiser
    ):
        return cls(
            period=pa.scalar(dt.date.fromisoformat(period), pa.date32()),
            snapshot_year=period_end.year,
            period_end=pa.scalar(period_end, pa.date32()),
            province_numbers=pa.array(sorted(int(p) for p in regions.provinces), pa.int64()),
            regencies=pa.array(sorted(regions.regencies)),
            districts=pa.array(sorted(regions.districts)),
            pseudonymiser=pseudonymiser,
        )


def _matches(column: pa.Array, pattern: str) -> pa.Array:
    return pc.match_substring_regex(column, pattern)


def _digits(column: pa.Array, width: int) -> pa.Array:
    """Exactly `width` ASCII digits (cheaper than a regex)."""
    return pc.and_(pc.equal(pc.binary_length(column), width), pc.ascii_is_decimal(column))


def _one_of(column: pa.Array, values) -> pa.Array:
    return pc.is_in(column, value_set=pa.array(sorted(values)))


def _iso_date(column: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(date32 values, valid mask): YYYY-MM-DD naming a real day."""
    try:
        # Arrow's cast takes exactly YYYY-MM-DD naming a real day, and refuses the whole
        # column otherwise: a tenth of the cost of the shape check below, for clean blocks.
        parsed = pc.cast(column, pa.date32())
    except pa.ArrowInvalid:
        pass
    else:
        return parsed, pc.greater_equal(parsed, _FIRST_DAY)
    shaped = _matches(column, r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
    safe = pc.if_else(shaped, column, "2000-01-01")
    parsed = pc.cast(
        pc.strptime(safe, format="%Y-%m-%d", unit="s", error_is_null=True), pa.date32()
    )
    # strptime rolls 2025-02-30 over to March 2: the day must come back unchanged.
    same_day = pc.equal(pc.day(parsed), pc.cast(pc.utf8_slice_codeunits(safe, 8, 10), pa.int64()))
    valid = pc.and_(shaped, pc.and_(same_day, pc.greater_equal(parsed, _FIRST_DAY)))
    return parsed, pc.fill_null(valid, False)


_DECILES = [str(d) for d in range(1, 11)]
_FIRST_DAY = pa.scalar(dt.date(1, 1, 1), pa.date32())  # the parser's dates start at year 1
_NO_DATE = pa.scalar(None, pa.date32())


def _paid_month(column: pa.Array) -> pa.Array:
    """YYYY-MM months as the date of their first day, null where not such a month. A
    month's extract holds a few distinct values: each is checked once, then looked up."""
    distinct = pc.unique(column)
    good = pc.filter(distinct, _matches(distinct, r"^[0-9]{4}-(0[1-9]|1[0-2])$"))
    first_days = pc.cast(pc.binary_join_element_wise(good, "-01", ""), pa.date32())
    index = pc.index_in(column, value_set=good)
    # Year 0000 is no date to PostgreSQL (nor to the per-row parser's datetime).
    usable = pc.if_else(pc.greater_equal(first_days, _FIRST_DAY), first_days, _NO_DATE)
    return pc.take(usable, index)


def _employer_npp(column: pa.Array) -> pa.Array:
    """6 to 12 characters, each A-Z or 0-9 (the regex ^[A-Z0-9]{6,12}$, at half its cost)."""
    length = pc.binary_length(column)
    return pc.and_(
        pc.and_(pc.greater_equal(length, 6), pc.less_equal(length, 12)),
        pc.and_(pc.ascii_is_alnum(column), pc.equal(pc.ascii_upper(column), column)),
    )


def _tokens(niks: pa.Array, pseudonymiser: NikPseudonymiser) -> pa.Array:
    """HMAC tokens of accepted NIKs. They are all 16 ASCII digits, so the Arrow data
    buffer is already the NIKs end to end: hash from it, build the result in place."""
    n = len(niks)
    if n == 0:
        return pa.array([], pa.string())
    offsets = np.frombuffer(niks.buffers()[1], np.int32, n + 1, niks.offset * 4)
    packed = niks.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]]
    data = pseudonymiser.packed_tokens(packed, NIK_DIGITS)
    token_offsets = np.arange(0, (n + 1) * TOKEN_CHARS, TOKEN_CHARS, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(token_offsets), pa.py_buffer(data))


def token_keys(tokens: pa.Array) -> np.ndarray:
    """The first 32 hex digits (128 bits) of each token as two int64 words a row: a key
    for finding NIKs that repeat within a month without keeping the tokens or scanning
    the loaded rows. Two NIKs share it with a chance of about n^2 / 2^129 (1e-23 for a
    national month of 45 million), as good as the full token for counting."""
    n = len(tokens)
    if n == 0:
        return np.empty((0, 2), np.int64)
    offsets = np.frombuffer(tokens.buffers()[1], np.int32, n + 1, tokens.offset * 4)
    # Every token is 64 characters, so the data buffer is an n x 64 matrix.
    data = np.frombuffer(tokens.buffers()[2], np.uint8)[offsets[0] : offsets[-1]]
    digits = data.reshape(n, TOKEN_CHARS)[:, :TOKEN_KEY_CHARS]
    # Lowercase hex (our own tokens): '0'-'9' are 0x30-0x39, 'a'-'f' 0x61-0x66. Arithmetic
    # on the bytes takes half the time of a table lookup.
    nibbles = (digits & 0xF) + 9 * (digits >> 6)
    packed = (nibbles[:, 0::2] << 4) | nibbles[:, 1::2]  # 16 bytes, most significant first
    return packed.view(">u8").astype(np.int64)


def _empty_or(column: pa.Array, valid: pa.Array) -> pa.Array:
    # Kleene: an empty value passes even where `valid` is null (nothing to compare).
    return pc.or_kleene(pc.equal(column, ""), valid)


def _null_if_empty(column: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)


def check_enrollment(columns: list[pa.Array], first_line: int, ctx: BatchContext):
    """Check one batch of enrollment rows (source columns in contract order, as strings).

    Returns (accepted rows as a table of OUTPUT_SCHEMA, boolean mask of accepted rows).
    Rows whose fields are all empty (blank lines) count as neither: the caller skips them.
    """
    (
        kpj,
        nik,
        name,
        birth_t,
        sex,
        region,
        segment,
        programs_t,
        npp,
        occ_t,
        eco,
        payer,
        reg_t,
        paid_t,
        status,
        decile_t,
    ) = columns
    n = len(kpj)
    birth, birth_ok = _iso_date(birth_t)
    registered, registered_ok = _iso_date(reg_t)

    # NIK: 16 digits, existing province, DDMMYY (+40 on the day for women) = birth date and sex.
    # Read as one int64 (digits checked first), its parts come out by arithmetic.
    nik_digits = _digits(nik, NIK_DIGITS)
    nik_number = pc.cast(pc.if_else(nik_digits, nik, "0" * NIK_DIGITS), pa.int64())

    def nik_part(start: int, width: int) -> pa.Array:
        shift = 10 ** (NIK_DIGITS - start - width)
        return pc.remainder(pc.divide(nik_number, shift), 10**width)

    nik_day = nik_part(6, 2)
    female = pc.greater(nik_day, 40)
    nik_ok = [
        nik_digits,
        pc.is_in(nik_part(0, 2), value_set=ctx.province_numbers),
        pc.equal(
            pc.if_else(female, pc.subtract(nik_day, 40), nik_day),
            pc.fill_null(pc.day(birth), 0),
        ),
        pc.equal(nik_part(8, 2), pc.fill_null(pc.month(birth), 0)),
        pc.equal(nik_part(10, 2), pc.fill_null(pc.remainder(pc.year(birth), 100), -1)),
        pc.equal(female, pc.equal(sex, "P")),
    ]

    in_district = pc.is_in(region, value_set=ctx.districts)
    program = pc.index_in(programs_t, value_set=_PROGRAM_TEXT)
    has = {p: pc.fill_null(pc.take(_PROGRAM_FLAGS[p], program), False) for p in PROGRAMS}
    paid = _paid_month(paid_t)
    occ_ok = pc.and_(pc.less_equal(pc.binary_length(occ_t), 2), pc.ascii_is_decimal(occ_t))
    occ = pc.cast(pc.if_else(occ_ok, occ_t, "0"), pa.int16())

    in_segment = {name: pc.equal(segment, name) for name in SEGMENT_PROGRAMS}
    birth_year = pc.year(birth)
    checks = [
        _digits(kpj, KPJ_DIGITS),
        # The name is dropped, but a row the per-row parser refuses must be refused here.
        pc.less_equal(pc.binary_length(name), MAX_FIELD_CHARS),
        pc.invert(pc.match_substring(name, "\x00")),
        birth_ok,
        pc.less_equal(birth, ctx.period_end),
        pc.greater_equal(
            birth_year, max(OLDEST_BIRTH_YEAR, ctx.snapshot_year - MAX_PARTICIPANT_AGE)
        ),
        pc.less_equal(birth_year, ctx.snapshot_year - MIN_PARTICIPANT_AGE),
        _one_of(sex, SEXES),
        *nik_ok,
        pc.or_(in_district, pc.is_in(region, value_set=ctx.regencies)),
        _one_of(segment, SEGMENTS),
        pc.is_valid(program),
        # Each segment joins only its programs (SEGMENT_PROGRAMS).
        *[
            pc.invert(pc.and_(in_segment[name], has[program]))
            for name, allowed in SEGMENT_PROGRAMS.items()
            for program in PROGRAMS
            if program not in allowed
        ],
        pc.if_else(
            pc.equal(npp, ""),
            pc.invert(_one_of(segment, ("PU", "JAKON"))),
            _employer_npp(npp),
        ),
        occ_ok,
        pc.and_(pc.greater_equal(occ, 1), pc.less_equal(occ, MAX_OCCUPATION_CODE)),
        _empty_or(eco, _one_of(eco, ECOSYSTEMS)),
        _one_of(payer, PAYERS),
        registered_ok,
        pc.less_equal(registered, ctx.period_end),
        _empty_or(paid_t, pc.less_equal(paid, ctx.period)),
        _one_of(status, STATUSES),
        _empty_or(decile_t, _one_of(decile_t, _DECILES)),
    ]
    ok = checks[0]
    for check in checks[1:]:
        ok = pc.and_(ok, pc.fill_null(check, False))
    ok = pc.fill_null(ok, False)

    everything = pc.all(ok).as_py() is not False  # the usual case: nothing to filter out

    def accepted(column):
        return column if everything else pc.filter(column, ok)

    lines = pa.array(np.arange(first_line, first_line + n, dtype=np.int32))
    kept_region = accepted(region)
    kept_in_district = accepted(in_district)
    tokens = _tokens(accepted(nik), ctx.pseudonymiser)
    table = pa.Table.from_arrays(
        [
            accepted(lines),
            accepted(kpj),
            tokens,
            accepted(birth),
            accepted(sex),
            pc.if_else(kept_in_district, pc.utf8_slice_codeunits(kept_region, 0, 5), kept_region),
            pc.if_else(kept_in_district, kept_region, pa.scalar(None, pa.string())),
            accepted(segment),
            *[accepted(has[p]) for p in PROGRAMS],
            accepted(_null_if_empty(npp)),
            accepted(occ),
            accepted(_null_if_empty(eco)),
            accepted(payer),
            accepted(registered),
            accepted(paid),
            accepted(status),
            pc.cast(accepted(_null_if_empty(decile_t)), pa.int16()),
        ],
        schema=OUTPUT_SCHEMA,
    )
    return table, ok
