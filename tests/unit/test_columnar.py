"""The vectorised enrollment check against the per-row parser it stands in for.

It may leave a row to the parser (stricter), but every row it accepts must be one the
parser accepts, with the same values, or the fast path would load what the contract
refuses.
"""

import datetime as dt
import itertools

import pyarrow as pa
import pytest

from cakupan.columnar import BatchContext, check_enrollment, token_keys
from cakupan.contracts import ENROLLMENT, NULL
from cakupan.pseudonymise import NikPseudonymiser
from tests.helpers import GOOD_ROW
from tests.unit.test_contracts import REGIONS, ctx

WOMAN = dict(GOOD_ROW, nik="1506074601910001", sex="P")  # day + 40
BPU = dict(GOOD_ROW, segment="BPU", programs="JKK|JKM|JHT", employer_npp="")
JAKON = dict(GOOD_ROW, segment="JAKON", programs="JKK|JKM", domicile_region_code="19.06")
BASES = [GOOD_ROW, WOMAN, BPU, JAKON]

# Values to try in each column: valid ones, unusual but valid ones, and faults.
VARIANTS = {
    "kpj": ["15060000009", "1506000000", "150600000091", "1506000000a", "١٥٠٦٠٠٠٠٠٠١",
            " 15060000009"],
    "nik": ["1506070601910002", "150607060191000", "9906070601910001", "1506073201910001",
            "1506070701910001", "1506074601910001", "15060706019100x1", "１５０６070601910001"],
    "birth_date": ["1991-01-06", "06/01/1991", "1991-1-6", "1991-02-30", "0000-01-06",
                   "2025-02-01", "2025-01-31", "", "1991-01-06 "],
    "sex": ["L", "P", "l", "", "X"],
    "domicile_region_code": ["15.06.07", "15.06", "19.06.01", "15", "99.99", "15.06.99", ""],
    "segment": ["PU", "BPU", "JAKON", "PMI", "pu", ""],
    "programs": ["JKK|JKM", "JKK|JKM|JHT", "JKK|JKM|JHT|JP|JKP", "JKK|JKM|JKP", "JKM|JKK",
                 "JKK,JKM,JHT", "JKK|JHT", "JKK|JKM|XYZ", "JKK||JKM", "", "jkk|jkm"],
    "employer_npp": ["15060221", "", "ABC123", "abc123", "AB12", "ABCDEFGHIJKLM", "1506 0221"],
    "occupation_code": ["15", "1", "07", "89", "90", "0", "", "x", "²", "150"],
    "ecosystem": ["", "desa", "rentan", "Desa", "mall"],
    "contribution_payer": ["employer", "participant", "apbd_regency", "apbn", "", "boss"],
    "registration_date": ["2019-09-13", "13/09/2019", "2025-01-31", "2025-02-01", "2019-13-01", ""],
    "last_paid_month": ["2025-01", "2024-12", "", "2025-02", "2025-13", "2025-00", "2025-1",
                        "01-2025", "0000-01"],
    "status": ["active", "non_active", "Active", ""],
    "poverty_decile": ["", "1", "10", "01", "0", "11", "x"],
}  # fmt: skip


def as_copy_text(value) -> str:
    """A typed value of the check's output as the per-row parser writes it."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def candidate_rows() -> list[dict]:
    rows = list(BASES)
    for base, (column, values) in itertools.product(BASES, VARIANTS.items()):
        rows += [dict(base, **{column: v}) for v in values]
    # Pairs of changes, so that checks which depend on two columns meet.
    for (c1, v1s), (c2, v2s) in itertools.combinations(VARIANTS.items(), 2):
        rows += [dict(GOOD_ROW, **{c1: v1, c2: v2}) for v1 in v1s[:4] for v2 in v2s[:4]]
    return rows


def batch_context(row_ctx):
    return BatchContext.build(
        row_ctx.period, row_ctx.period_end, row_ctx.regions, row_ctx.pseudonymiser
    )


def run_columnar(rows: list[dict], first_line: int = 2):
    columns = [pa.array([r[c] for r in rows], pa.string()) for c in ENROLLMENT.columns]
    return check_enrollment(columns, first_line, batch_context(ctx()))


def test_accepted_rows_are_accepted_by_the_parser_with_the_same_values():
    rows = candidate_rows()
    table, ok = run_columnar(rows, first_line=2)
    accepted = [i for i, flag in enumerate(ok.to_pylist()) if flag]
    assert table.num_rows == len(accepted)
    by_line = {r["_line"]: r for r in table.to_pylist()}
    parser_ctx = ctx()
    parser_accepts = 0
    for i, row in enumerate(rows):
        out, faults = ENROLLMENT.parse([row[c].strip() for c in ENROLLMENT.columns], parser_ctx)
        parser_accepts += not faults
        if i not in accepted:
            continue
        assert faults == [], (row, faults)
        expected = dict(zip(ENROLLMENT.copy_columns, out, strict=True))
        got = by_line[i + 2]
        for column, value in expected.items():
            assert as_copy_text(got[column]) == value, (column, row)
    # It does the bulk of the work: every valid row in canonical form is accepted here.
    assert len(accepted) > 0.8 * parser_accepts
    assert all(ok.to_pylist()[: len(BASES)])


def test_a_row_alone_gets_the_verdict_it_gets_among_faulty_rows():
    # Alone, a row's dates take the cast fast path (_iso_date) unless they are faulty
    # themselves; in the mixed batch they take the shape check: both must agree.
    rows = candidate_rows()
    _, ok = run_columnar(rows)
    mixed = ok.to_pylist()
    alone = [run_columnar([row])[1].to_pylist()[0] for row in rows]
    assert alone == mixed
    assert any(r["birth_date"] == "0000-01-06" for r in rows)


def test_unusual_but_valid_forms_are_left_to_the_parser():
    rows = [
        dict(GOOD_ROW, birth_date="06/01/1991"),
        dict(GOOD_ROW, programs="JKM, JKK, JHT, JP"),
        dict(GOOD_ROW, sex=" L"),
    ]
    _, ok = run_columnar(rows)
    assert ok.to_pylist() == [False, False, False]
    for row in rows:
        assert ENROLLMENT.parse([row[c].strip() for c in ENROLLMENT.columns], ctx())[1] == []


def test_tokens_are_the_hmac_of_the_nik_and_lines_are_numbered():
    rows = [GOOD_ROW, dict(GOOD_ROW, kpj="x"), WOMAN]
    table, ok = run_columnar(rows, first_line=10)
    assert ok.to_pylist() == [True, False, True]
    pseudonymiser = NikPseudonymiser(b"k" * 32)
    assert table.column("nik_token").to_pylist() == [
        pseudonymiser.token(GOOD_ROW["nik"]),
        pseudonymiser.token(WOMAN["nik"]),
    ]
    assert table.column("_line").to_pylist() == [10, 12]


def test_token_keys_are_the_first_128_bits_of_the_token():
    tokens = [NikPseudonymiser(b"k" * 32).token(n) for n in ("1506070601910001", "0" * 16)]
    words = token_keys(pa.array(tokens)[1:].cast(pa.string()))  # an offset array too
    assert words.shape == (1, 2)
    value = (int(words[0, 0]) % 2**64) << 64 | int(words[0, 1]) % 2**64
    assert f"{value:032x}" == tokens[1][:32]
    assert token_keys(pa.array(tokens)).shape == (2, 2)


@pytest.mark.parametrize("key", [b"k" * 32, b"k" * 64, b"k" * 65, bytes(range(100))])
def test_packed_tokens_equal_hmac_for_any_key_length(key):
    pseudonymiser = NikPseudonymiser(key)
    niks = ["1506070601910001", "3171014509850002", "0000000000000000"]
    packed = pseudonymiser.packed_tokens("".join(niks).encode(), 16)
    assert packed.decode() == "".join(pseudonymiser.token(n) for n in niks)


def test_period_end_bounds_dates():
    late = dict(GOOD_ROW, registration_date="2025-02-01")
    _, ok = run_columnar([late])
    assert ok.to_pylist() == [False]
    assert REGIONS.districts  # the fixture regions are the ones both checks use
    assert batch_context(ctx()).period_end.as_py() == dt.date(2025, 1, 31)


def test_never_paid_participants_take_the_fast_path():
    """An empty last_paid_month is canonical (never paid), not a row for the slow parser."""
    table, ok = run_columnar([dict(GOOD_ROW, last_paid_month="", status="non_active")])
    assert ok.to_pylist() == [True] and table.column("last_paid_month").to_pylist() == [None]
