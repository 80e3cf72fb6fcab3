"""Data contracts of the extracts: expected columns, how each row is checked and typed.

Each dataset turns a source row (a list of strings) into the text values of its
raw table, or into a list of (column, reason) faults that send the row to
quarantine. Human-readable versions live in docs/contracts/. The parsers are the
hot path of a load, so they are plain functions over strings.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from cakupan.privacy import has_personal_shape, vocabulary_of
from cakupan.pseudonymise import NikPseudonymiser

NULL = "\\N"  # COPY text-format null

PROGRAMS = ("JKK", "JKM", "JHT", "JP", "JKP")
MANDATORY_PROGRAMS = ("JKK", "JKM")
# The programs each segment may join (DOMAIN.md: BPU may not join JP; JAKON only JKK and
# JKM; PMI JKK and JKM mandatory). dbt's seed segments.csv must say the same (tested).
SEGMENT_PROGRAMS = {
    "PU": PROGRAMS,
    "BPU": ("JKK", "JKM", "JHT"),
    "JAKON": ("JKK", "JKM"),
    "PMI": ("JKK", "JKM", "JHT"),
}
SEGMENTS = frozenset(SEGMENT_PROGRAMS)
ECOSYSTEMS = frozenset({"desa", "pasar", "umkm", "ecommerce", "rentan"})
PAYERS = frozenset({"participant", "employer", "apbd_regency", "apbd_province", "apbn"})
STATUSES = frozenset({"active", "non_active"})
SEXES = frozenset({"L", "P"})
MAX_OCCUPATION_CODE = 89
# The raw columns' integer types: a larger count would fail inside COPY, far from its line.
BIGINT_MAX = 2**63 - 1
INTEGER_MAX = 2**31 - 1
# No field of these extracts is longer than a few dozen characters: a longer one is a
# fault of its row (quarantined), not of the file.
MAX_FIELD_CHARS = 65_536
# Plausible participants (assumptions, not sources): born 1900 or later, aged 13 to 100
# in the snapshot year (UU 13/2003 art. 69 allows light work from age 13).
OLDEST_BIRTH_YEAR = 1900
MIN_PARTICIPANT_AGE = 13
MAX_PARTICIPANT_AGE = 100

_KPJ = re.compile(r"^\d{11}$", re.ASCII)
_NIK = re.compile(r"^\d{16}$", re.ASCII)
_NPP = re.compile(r"^[A-Z0-9]{6,12}$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$", re.ASCII)
_DMY_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$", re.ASCII)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$", re.ASCII)
_AGE_BAND = re.compile(r"^(\d{2})-(\d{2})$|^(\d{2})\+$", re.ASCII)
_REGION_LEVEL = {
    1: re.compile(r"^\d{2}$", re.ASCII),
    2: re.compile(r"^\d{2}\.\d{2}$", re.ASCII),
    3: re.compile(r"^\d{2}\.\d{2}\.\d{2}$", re.ASCII),
}


@dataclass(frozen=True)
class Regions:
    """Kemendagri codes the extracts are checked against (from raw.regions)."""

    provinces: frozenset[str]
    regencies: frozenset[str]
    districts: frozenset[str]


@dataclass
class RowContext:
    period: str
    period_end: dt.date | None = None
    regions: Regions | None = None
    pseudonymiser: NikPseudonymiser | None = None


Faults = list[tuple[str, str]]


def is_digits(text: str) -> bool:
    """0-9 only: str.isdigit() also takes other scripts' digits and "²", which int() refuses."""
    return text.isascii() and text.isdigit()


# Region names hold no long numbers and no dates: one that does is personal data in the
# wrong column (a NIK, a birth date) and must not be stored.
PERSONAL_SHAPE_REASON = "holds a NIK-shaped number or a date; region names have neither"


def is_occupation_code(text: str) -> bool:
    return is_digits(text) and len(text) <= 2 and 1 <= int(text) <= MAX_OCCUPATION_CODE


def plausible_birth_year(year: int, snapshot_year: int) -> bool:
    age = snapshot_year - year
    return year >= OLDEST_BIRTH_YEAR and MIN_PARTICIPANT_AGE <= age <= MAX_PARTICIPANT_AGE


def implausible_birth_reason() -> str:
    return (
        f"implausible for a participant (born before {OLDEST_BIRTH_YEAR}, or aged under "
        f"{MIN_PARTICIPANT_AGE} or over {MAX_PARTICIPANT_AGE} in the snapshot year)"
    )


def parse_date(text: str) -> dt.date | None:
    """ISO (2025-01-31) or Indonesian office style (31/01/2025); None if neither."""
    m = _ISO_DATE.match(text)
    try:
        if m:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        m = _DMY_DATE.match(text)
        if m:
            return dt.date(int(m[3]), int(m[2]), int(m[1]))
    except ValueError:
        return None
    return None


def parse_count(text: str, column: str, faults: Faults, maximum: int = BIGINT_MAX) -> int | None:
    digits = text[1:] if text.startswith("-") else text
    if not (is_digits(digits) and len(digits) <= 20):
        faults.append((column, f"not a whole number: {text!r}"))
        return None
    value = int(text)
    if value < 0:
        faults.append((column, f"negative count: {value}"))
        return None
    if value > maximum:
        faults.append((column, f"count too large for its column (over {maximum:,})"))
        return None
    return value


def field_faults(columns: tuple[str, ...], values: list[str]) -> Faults:
    """Faults any field can have whatever its column: a NUL byte, or a length no value of
    these extracts comes near. Checked before the contract's own parse."""
    faults: Faults = []
    for column, value in zip(columns, values, strict=True):
        if "\x00" in value:
            faults.append((column, "contains a NUL byte"))
        elif len(value) > MAX_FIELD_CHARS:
            faults.append(
                (column, f"{len(value):,} characters, over the {MAX_FIELD_CHARS:,} allowed")
            )
    return faults


def nik_fault(nik: str, birth: dt.date | None, sex: str, regions: Regions) -> str | None:
    """Why a NIK is invalid, or None. Checks format, province and the date/sex part.

    The district part is where the NIK was first issued, which may be a code that
    has since been split or renumbered, so only its province must still exist.
    """
    if not _NIK.match(nik):
        return f"must be 16 digits, got {len(nik)} characters"
    if nik[:2] not in regions.provinces:
        return f"province code {nik[:2]} does not exist"
    day, month, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    female = day > 40
    if female:
        day -= 40
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return "date part is not a valid DDMMYY birth date"
    if birth is not None and (day, month, yy) != (birth.day, birth.month, birth.year % 100):
        return "date part does not match birth_date"
    if sex in SEXES and female != (sex == "P"):
        return "day part (+40 for women) does not match sex"
    return None


@dataclass(frozen=True)
class Dataset:
    name: str
    table: str
    columns: tuple[str, ...]  # expected header, in contract order
    copy_columns: tuple[str, ...]  # raw table columns filled from each row
    period_column: str
    period_sql_type: str  # the period column's type in the raw table
    period_pattern: re.Pattern
    period_example: str
    unique_key: tuple[str, ...]
    # Fewest bytes a valid row can take (its shortest valid fields, delimiters and line
    # end): bounds how many valid rows the rest of a file can hold.
    min_row_bytes: int = 1
    needs_regions: bool = True
    needs_key: bool = False
    columnar: bool = False  # large extracts: CSV files are checked in Arrow (columnar.py)
    # A reference edition: checked against the one in use before it replaces anything
    # (plausibility.edition_faults).
    edition_checked: bool = False
    # Columns whose values are personal data: never kept outside the raw table's own form.
    personal_columns: frozenset[str] = field(default_factory=frozenset)
    # Words a rejected value of a dataset with personal data may show as written
    # (privacy.kept_value); None for datasets without personal data.
    vocabulary: frozenset[str] | None = None

    def period_from_file(self, name: str) -> str | None:
        m = self.period_pattern.search(name)
        if not m:
            return None
        return self._period_value(m)

    def _period_value(self, m: re.Match) -> str:
        return m[1]

    def period_end(self, period: str) -> dt.date | None:
        return None

    def parse(self, v: list[str], ctx: RowContext) -> tuple[list[str] | None, Faults]:
        raise NotImplementedError


class RegionsDataset(Dataset):
    def parse(self, v, ctx):
        code, name, level_text, villages_text = v
        faults: Faults = []
        level = int(level_text) if level_text in ("1", "2", "3") else None
        if level is None:
            faults.append(("level", f"must be 1, 2 or 3, got {level_text!r}"))
        elif not _REGION_LEVEL[level].match(code):
            faults.append(("kode", f"{code!r} is not a level-{level} Kemendagri code"))
        if not name.strip():
            faults.append(("nama", "empty"))
        elif has_personal_shape(name):
            faults.append(("nama", PERSONAL_SHAPE_REASON))
        villages = NULL
        if villages_text:
            count = parse_count(villages_text, "desa_count", faults, INTEGER_MAX)
            villages = NULL if count is None else str(count)
        elif level == 3:
            faults.append(("desa_count", "required for districts (level 3)"))
        if faults:
            return None, faults
        return [code, name, str(level), villages], faults


class PopulationDataset(Dataset):
    def parse(self, v, ctx):
        code, name, male_t, female_t, total_t = v
        faults: Faults = []
        if code != "0" and code not in ctx.regions.provinces and code not in ctx.regions.regencies:
            faults.append(("kode", f"unknown region code {code!r}"))
        if has_personal_shape(name):
            faults.append(("nama", PERSONAL_SHAPE_REASON))
        male = parse_count(male_t, "pria", faults)
        female = parse_count(female_t, "wanita", faults)
        total = parse_count(total_t, "total", faults)
        if None not in (male, female, total) and male + female != total:
            faults.append(("total", f"{total} is not pria + wanita ({male} + {female})"))
        if faults:
            return None, faults
        return [code, name, str(male), str(female), str(total)], faults


class WorkingPopulationDataset(Dataset):
    def _period_value(self, m):
        return f"{m[1]}-S{m[2]}"

    def parse(self, v, ctx):
        region, sex, band, occ_t, pop_t = v
        faults: Faults = []
        if region not in ctx.regions.regencies:
            faults.append(("region_code", f"unknown regency code {region!r}"))
        if sex not in SEXES:
            faults.append(("sex", f"must be L or P, got {sex!r}"))
        if not _AGE_BAND.match(band):
            faults.append(("age_band", f"must look like 15-19 or 65+, got {band!r}"))
        occ = occ_t if is_occupation_code(occ_t) else None
        if occ is None:
            faults.append(("occupation_code", f"not a KTP occupation code: {occ_t!r}"))
        pop = parse_count(pop_t, "population", faults)
        if faults:
            return None, faults
        return [region, sex, band, str(int(occ)), str(pop)], faults


class EnrollmentDataset(Dataset):
    def _period_value(self, m):
        return f"{m[1]}-{m[2]}-01"

    def period_end(self, period):
        first = dt.date.fromisoformat(period)
        nxt = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return nxt - dt.timedelta(days=1)

    def parse(self, v, ctx):
        (
            kpj,
            nik,
            _name,
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
        ) = v
        faults: Faults = []
        regions = ctx.regions
        end = ctx.period_end
        if not _KPJ.match(kpj):
            faults.append(("kpj", "must be 11 digits"))
        # Rejected values are not quoted in reasons: quarantine keeps what may be kept of
        # them (privacy.kept_value), and a swapped column can put a name anywhere.
        birth = parse_date(birth_t)
        if birth is None:
            faults.append(("birth_date", "not a date (YYYY-MM-DD)"))
        elif birth > end:
            faults.append(("birth_date", "after the snapshot month"))
        elif not plausible_birth_year(birth.year, end.year):
            faults.append(("birth_date", implausible_birth_reason()))
        if sex not in SEXES:
            faults.append(("sex", "must be L or P"))
        why = nik_fault(nik, birth, sex, regions)
        if why:
            faults.append(("nik", why))
        if region in regions.districts:
            regency, district = region[:5], region
        elif region in regions.regencies:
            regency, district = region, NULL
        else:
            regency = district = None
            faults.append(("domicile_region_code", "unknown region code"))
        if segment not in SEGMENTS:
            faults.append(("segment", f"must be one of {', '.join(sorted(SEGMENTS))}"))
        chosen = {p.strip() for p in re.split(r"[|;,+ ]+", programs_t) if p.strip()}
        flags = ["t" if p in chosen else "f" for p in PROGRAMS]
        unknown = chosen.difference(PROGRAMS)
        if unknown:
            faults.append(("programs", f"unknown program; allowed: {', '.join(PROGRAMS)}"))
        elif not set(MANDATORY_PROGRAMS) <= chosen:
            faults.append(("programs", f"{' and '.join(MANDATORY_PROGRAMS)} are mandatory"))
        elif segment in SEGMENT_PROGRAMS and not chosen <= set(SEGMENT_PROGRAMS[segment]):
            allowed = ", ".join(SEGMENT_PROGRAMS[segment])
            faults.append(("programs", f"{segment} participants may join {allowed} only"))
        if npp and not _NPP.match(npp):
            faults.append(("employer_npp", "not an NPP (6-12 capital letters or digits)"))
        elif not npp and segment in ("PU", "JAKON"):
            faults.append(("employer_npp", f"required for segment {segment}"))
        if not is_occupation_code(occ_t):
            faults.append(("occupation_code", "not a KTP occupation code (1-89)"))
        if eco and eco not in ECOSYSTEMS:
            faults.append(("ecosystem", f"must be one of {sorted(ECOSYSTEMS)} or empty"))
        if payer not in PAYERS:
            faults.append(("contribution_payer", f"must be one of {sorted(PAYERS)}"))
        registered = parse_date(reg_t)
        if registered is None:
            faults.append(("registration_date", "not a date (YYYY-MM-DD)"))
        elif registered > end:
            faults.append(("registration_date", "after the snapshot month"))
        paid = None
        m = _MONTH.match(paid_t)
        if paid_t and not m:
            faults.append(("last_paid_month", "must be YYYY-MM"))
        elif m:
            paid = f"{m[1]}-{m[2]}-01"
            if not 1 <= int(m[2]) <= 12 or int(m[1]) == 0:
                faults.append(("last_paid_month", "month out of range"))
            elif paid > ctx.period:
                faults.append(("last_paid_month", "after the snapshot month"))
        if status not in STATUSES:
            faults.append(("status", f"must be {' or '.join(sorted(STATUSES))}"))
        if decile_t and not (
            is_digits(decile_t) and len(decile_t) <= 2 and 1 <= int(decile_t) <= 10
        ):
            faults.append(("poverty_decile", "must be 1-10 or empty"))
        if faults:
            return None, faults
        return [
            kpj,
            ctx.pseudonymiser.token(nik),
            birth.isoformat(),
            sex,
            regency,
            district,
            segment,
            *flags,
            npp or NULL,
            str(int(occ_t)),
            eco or NULL,
            payer,
            registered.isoformat(),
            paid or NULL,
            status,
            decile_t or NULL,
        ], faults


REGIONS = RegionsDataset(
    name="regions",
    table="regions",
    columns=("kode", "nama", "level", "desa_count"),
    copy_columns=("region_code", "region_name", "level", "village_count"),
    period_column="edition_year",
    period_sql_type="integer",
    period_pattern=re.compile(r"(?<!\d)(20\d{2})(?!\d)"),
    period_example="kemendagri_2025_regions.csv",
    unique_key=("region_code",),
    min_row_bytes=7,  # "11,X,1," and the line end: code, name, level, 3 delimiters
    needs_regions=False,
    edition_checked=True,
)
POPULATION = PopulationDataset(
    name="population",
    table="population_by_region",
    columns=("kode", "nama", "pria", "wanita", "total"),
    copy_columns=("region_code", "region_name", "male", "female", "total"),
    period_column="edition_year",
    period_sql_type="integer",
    period_pattern=re.compile(r"(?<!\d)(20\d{2})(?!\d)"),
    period_example="kemendagri_2025_population_by_region.csv",
    unique_key=("region_code",),
    min_row_bytes=8,  # "0,,0,0,0": code, three counts, 4 delimiters
    edition_checked=True,
)
WORKING_POPULATION = WorkingPopulationDataset(
    name="working_population",
    table="working_population",
    columns=("region_code", "sex", "age_band", "occupation_code", "population"),
    copy_columns=("regency_code", "sex", "age_band", "occupation_code", "population"),
    period_column="semester",
    period_sql_type="text",
    period_pattern=re.compile(r"(?<!\d)(20\d{2})-?S([12])(?!\d)", re.IGNORECASE),
    period_example="working_population_2025-S1.csv",
    unique_key=("regency_code", "sex", "age_band", "occupation_code"),
    min_row_bytes=15,  # "11.01,L,65+,1,0"
    edition_checked=True,
)
ENROLLMENT = EnrollmentDataset(
    name="enrollment",
    table="enrollment_snapshot",
    columns=(
        "kpj",
        "nik",
        "name",
        "birth_date",
        "sex",
        "domicile_region_code",
        "segment",
        "programs",
        "employer_npp",
        "occupation_code",
        "ecosystem",
        "contribution_payer",
        "registration_date",
        "last_paid_month",
        "status",
        "poverty_decile",
    ),
    copy_columns=(
        "kpj",
        "nik_token",
        "birth_date",
        "sex",
        "regency_code",
        "district_code",
        "segment",
        "has_jkk",
        "has_jkm",
        "has_jht",
        "has_jp",
        "has_jkp",
        "employer_npp",
        "occupation_code",
        "ecosystem",
        "contribution_payer",
        "registration_date",
        "last_paid_month",
        "status",
        "poverty_decile",
    ),
    period_column="snapshot_month",
    period_sql_type="date",
    period_pattern=re.compile(r"(?<!\d)(20\d{2})-?(0[1-9]|1[0-2])(?!\d)"),
    period_example="enrollment_2025-01.csv.gz",
    unique_key=("kpj",),
    # kpj 11 + nik 16 + birth 8 (1/1/1991) + sex 1 + region 5 + segment 2 + programs 7
    # (JKK JKM) + occupation 1 + payer 4 (apbn) + registration 8 + status 6 + 15 delimiters
    min_row_bytes=84,
    needs_key=True,
    columnar=True,
    personal_columns=frozenset({"nik", "name", "birth_date"}),
    vocabulary=vocabulary_of((*SEGMENTS, *PROGRAMS, *ECOSYSTEMS, *PAYERS, *STATUSES, *SEXES)),
)

DATASETS = {d.name: d for d in (REGIONS, POPULATION, WORKING_POPULATION, ENROLLMENT)}
# The population side, in load order: regions first, every other extract is checked
# against their codes.
POPULATION_SIDE = (REGIONS, POPULATION, WORKING_POPULATION)
