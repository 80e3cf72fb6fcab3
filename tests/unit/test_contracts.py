import datetime as dt

import pytest

from cakupan.contracts import ENROLLMENT, Regions, RowContext, nik_fault, parse_date
from cakupan.pseudonymise import NikPseudonymiser
from tests.helpers import GOOD_ROW

REGIONS = Regions(
    frozenset({"15", "19"}), frozenset({"15.06", "19.06"}), frozenset({"15.06.07", "19.06.01"})
)


def ctx():
    return RowContext(
        period="2025-01-01",
        period_end=dt.date(2025, 1, 31),
        regions=REGIONS,
        pseudonymiser=NikPseudonymiser(b"k" * 32),
    )


def parse(**changes):
    row = dict(GOOD_ROW, **changes)
    return ENROLLMENT.parse([row[c] for c in ENROLLMENT.columns], ctx())


def test_valid_row_is_typed_and_pseudonymised():
    out, faults = parse()
    assert faults == []
    values = dict(zip(ENROLLMENT.copy_columns, out, strict=True))
    assert values["nik_token"] == NikPseudonymiser(b"k" * 32).token(GOOD_ROW["nik"])
    assert values["regency_code"] == "15.06" and values["district_code"] == "15.06.07"
    assert (values["has_jkk"], values["has_jp"], values["has_jkp"]) == ("t", "t", "f")
    assert values["last_paid_month"] == "2025-01-01"
    assert GOOD_ROW["nik"] not in out and GOOD_ROW["name"] not in out


@pytest.mark.parametrize(
    "nik,birth,sex,why",
    [
        ("150607060191000", dt.date(1991, 1, 6), "L", "16 digits"),
        ("9906070601910001", dt.date(1991, 1, 6), "L", "province code 99"),
        ("1506073201910001", dt.date(1991, 1, 6), "L", "not a valid DDMMYY"),
        ("1506070701910001", dt.date(1991, 1, 6), "L", "does not match birth_date"),
        ("1506074601910001", dt.date(1991, 1, 6), "L", "does not match sex"),
    ],
)
def test_invalid_niks(nik, birth, sex, why):
    assert why in nik_fault(nik, birth, sex, REGIONS)


def test_women_have_day_plus_forty():
    assert nik_fault("1506074601910001", dt.date(1991, 1, 6), "P", REGIONS) is None


@pytest.mark.parametrize(
    "changes,column",
    [
        ({"birth_date": "1991-02-30"}, "birth_date"),
        ({"registration_date": "2025-02-01"}, "registration_date"),
        ({"last_paid_month": "2025-13"}, "last_paid_month"),
        ({"last_paid_month": "2025-02"}, "last_paid_month"),
        ({"domicile_region_code": "15.99"}, "domicile_region_code"),
        ({"segment": "XX"}, "segment"),
        ({"programs": "JKK"}, "programs"),
        ({"segment": "BPU", "programs": "JKK|JKM|JP", "employer_npp": ""}, "programs"),
        ({"segment": "JAKON", "programs": "JKK|JKM|JHT"}, "programs"),
        ({"employer_npp": ""}, "employer_npp"),
        ({"occupation_code": "90"}, "occupation_code"),
        ({"ecosystem": "mall"}, "ecosystem"),
        ({"contribution_payer": "bank"}, "contribution_payer"),
        ({"status": "aktif"}, "status"),
        ({"poverty_decile": "11"}, "poverty_decile"),
        ({"kpj": "123"}, "kpj"),
    ],
)
def test_rule_violations_name_their_column(changes, column):
    out, faults = parse(**changes)
    assert out is None
    assert column in [c for c, _ in faults]


def test_office_style_dates_are_accepted():
    assert parse_date("06/01/1991") == dt.date(1991, 1, 6)
    assert parse_date("1991-01-06") == dt.date(1991, 1, 6)
    assert parse_date("6 Jan 1991") is None
    out, faults = parse(birth_date="06/01/1991")
    assert faults == [] and "1991-01-06" in out


def test_period_from_file_names():
    assert ENROLLMENT.period_from_file("enrollment_2025-03.csv.gz") == "2025-03-01"
    assert ENROLLMENT.period_from_file("peserta_202503.xlsx") == "2025-03-01"
    assert ENROLLMENT.period_from_file("peserta.csv") is None


def _seed(name: str) -> list[dict]:
    import csv

    from cakupan.dbt_env import DBT_PROJECT_DIR

    with open(DBT_PROJECT_DIR / "seeds" / f"{name}.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_dbt_seeds_say_what_the_contract_says():
    """The contract is the one source of the lists; dbt's seeds describe the same ones."""
    from cakupan.contracts import MAX_OCCUPATION_CODE, PAYERS, PROGRAMS, SEGMENT_PROGRAMS

    segments = {r["segment"]: tuple(r["allowed_programs"].split("|")) for r in _seed("segments")}
    assert segments == SEGMENT_PROGRAMS
    assert tuple(r["program"] for r in _seed("programs")) == PROGRAMS
    assert {r["contribution_payer"] for r in _seed("contribution_payers")} == PAYERS
    codes = [int(r["occupation_code"]) for r in _seed("occupation_classes")]
    assert sorted(codes) == list(range(1, MAX_OCCUPATION_CODE + 1))


def test_generated_extracts_with_personal_data_are_owner_only(tmp_path):
    import stat

    from cakupan.generate import generate

    paths = generate(tmp_path, "2025-01", "2025-01", seed=1, scale=0.001, regions=["19.06"])
    (extract,) = [p for p in paths if p.name.startswith("enrollment_")]
    assert stat.S_IMODE(extract.stat().st_mode) == 0o600
    assert stat.S_IMODE(extract.parent.stat().st_mode) == 0o700
