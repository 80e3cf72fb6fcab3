"""What may leave the loader (privacy.py), and the bound that stops a hopeless file early."""

import pytest

from cakupan.contracts import DATASETS, ENROLLMENT, Regions, RowContext
from cakupan.errors import ExtractError
from cakupan.privacy import clean_text, kept_value, quoted_names, safe_text, shape
from cakupan.pseudonymise import NikPseudonymiser
from cakupan.quarantine import RejectBudget

PERSONAL = ENROLLMENT.personal_columns
VOCABULARY = ENROLLMENT.vocabulary


@pytest.mark.parametrize(
    "column,value,kept",
    [
        ("segment", "BPU", "BPU"),  # a code of the contract: shown as written
        ("programs", "JKK, JKX", "AAA, AAA"),  # a word outside the vocabulary: its shape
        ("segment", "Agus Saputra", "Aaaa Aaaaaaa"),  # a name in the wrong column
        ("kpj", "1506070601910001", "9999999999999999"),  # a NIK in the wrong column
        ("kpj", "1506 0706 0191 0001", "9999 9999 9999 9999"),
        ("registration_date", "1991-01-06", "9999-99-99"),  # a date
        ("occupation_code", "99", "99"),
        ("kpj", "12345", "12345"),
        ("nik", "1506070601910001", None),  # personal columns keep nothing
        ("name", "x", None),
        ("birth_date", "kemarin", None),
        ("ecosystem", "pasar" * 100, "aaaaa" * 12 + "... (500 characters)"),
        ("status", "act\nive", "aaa\\naaa"),
    ],
)
def test_kept_value_in_extracts_with_personal_data(column, value, kept):
    assert kept_value(value, column, PERSONAL, VOCABULARY) == kept


def test_kept_value_without_personal_data_is_cleaned_text():
    assert kept_value("Kab 1506070601910001", "nama", frozenset(), None) == (
        "Kab <digits withheld>"
    )
    assert kept_value("-3", "total", frozenset(), None) == "-3"


def test_clean_and_safe_text():
    text = "line\n2: 1506070601910001 born 06/01/1991 or 19910106, period 2025-01-01"
    assert clean_text(text) == (
        "line\\n2: <digits withheld> born <date withheld> or <date withheld>, period "
        "<date withheld>"
    )
    assert safe_text(text) == (
        "line\\n2: <digits withheld> born 06/01/1991 or 19910106, period 2025-01-01"
    )
    assert safe_text("kpj 15060000001") == "kpj 15060000001"  # 11 digits: a KPJ, kept
    assert shape("Ab-9 x") == "Aa-9 a"


def test_header_cells_are_quoted_only_when_they_look_like_names():
    assert quoted_names(["gaji", "nama lengkap", "1506070601910001", "kpj_2"]) == [
        "gaji",
        "<cell 2 withheld>",
        "<cell 3 withheld>",
        "kpj_2",
    ]


def _budget(text_left, dataset=ENROLLMENT, limit=0.05):
    return RejectBudget("f.csv", dataset, limit, lambda consumed: text_left, "quarantine")


def test_budget_stops_only_when_the_limit_cannot_be_met():
    # 1,000 rows read, all rejected; 84 bytes per valid row at least.
    _budget(None).check(1000, 1000, 0, 1001)  # size unknown: cannot tell, keep reading
    left_for_enough = 84 * 19_000  # 19,000 more valid rows would bring it to exactly 5%
    _budget(left_for_enough).check(1000, 1000, 0, 1001)
    with pytest.raises(ExtractError, match=r"line 1001: too many rejected rows.*stopped early"):
        _budget(left_for_enough - 84).check(1000, 1000, 0, 1001)
    _budget(0).check(1000, 50, 0, 1001)  # exactly at the limit is allowed
    with pytest.raises(ExtractError):
        _budget(0).final(1000, 51)


@pytest.mark.parametrize(
    "dataset,row",
    [
        ("regions", "11,X,1,"),
        ("population", "0,,0,0,0"),
        ("working_population", "11.01,L,65+,1,0"),
        # BPU needs no employer: shorter than PU with its NPP.
        (
            "enrollment",
            "11000000001,1101010101910001,,1/1/1991,L,11.01,BPU,JKK JKM,,1,,apbn,1/1/2020,,active,",
        ),
    ],
)
def test_min_row_bytes_bounds_the_shortest_valid_row(dataset, row):
    """RejectBudget's bound is sound only if no valid row is shorter than min_row_bytes:
    these are the shortest valid rows (each field at its shortest valid form)."""
    contract = DATASETS[dataset]
    regions = Regions(frozenset({"11"}), frozenset({"11.01"}), frozenset())
    period = "2025-01-01" if dataset == "enrollment" else "2025"
    ctx = RowContext(
        period=period,
        period_end=contract.period_end(period),
        regions=regions,
        pseudonymiser=NikPseudonymiser(b"k" * 32),
    )
    out, faults = contract.parse(row.split(","), ctx)
    assert faults == [] and out is not None
    assert contract.min_row_bytes <= len(row) <= contract.min_row_bytes + 2
