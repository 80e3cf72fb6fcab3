"""The quality gate's expectations, built in Python from the sources they check against.

- Raw suites come from the data contracts (contracts.py): a raw table's columns, its
  allowed values and ranges are the contract's, never copied.
- Mart suites take each mart's columns from dbt's manifest (the marts' enforced
  contracts) and their allowed values from the contracts or dbt's seeds.
- Columns the database declares NOT NULL get no not-null expectation: it could never
  fail (the load would have failed first).

Each suite is a list of expectations with a severity: "critical" stops publication,
"warning" is recorded and shown only.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

import great_expectations.expectations as gxe

from cakupan.contracts import (
    ECOSYSTEMS,
    ENROLLMENT,
    MANDATORY_PROGRAMS,
    MAX_OCCUPATION_CODE,
    PAYERS,
    POPULATION,
    REGIONS,
    SEGMENTS,
    SEXES,
    STATUSES,
    WORKING_POPULATION,
    Dataset,
)
from cakupan.dbt_env import DBT_PROJECT_DIR
from cakupan.manifest import MART_SCHEMA, mart_columns

CRITICAL, WARNING = "critical", "warning"


def _critical(expectation):
    expectation.severity = CRITICAL
    return expectation


def rows_where(description: str, query: str, severity: str = CRITICAL):
    """An expectation that no row comes back from `query`, which reads the rows checked as
    `t` (GX's {batch} cannot take an alias); it may continue the `with` list (", x as")."""
    joint = "" if query.startswith(",") else " "
    expectation = gxe.UnexpectedRowsExpectation(
        unexpected_rows_query=f"with t as (select * from {{batch}}){joint}{query}",
        description=description,
    )
    expectation.severity = severity
    return expectation


def raw_columns(dataset: Dataset) -> list[str]:
    return ["_load_id", "_line", dataset.period_column, *dataset.copy_columns]


def _schema(columns: list[str]):
    return _critical(
        gxe.ExpectTableColumnsToMatchSet(
            column_set=columns,
            exact_match=True,
            description="Schema: exactly the contract's columns",
        )
    )


def _in_set(column: str, values) -> object:
    return _critical(gxe.ExpectColumnValuesToBeInSet(column=column, value_set=sorted(values)))


def _between(column: str, low=None, high=None, description=None, severity=CRITICAL):
    expectation = gxe.ExpectColumnValuesToBeBetween(
        column=column, min_value=low, max_value=high, description=description
    )
    expectation.severity = severity
    return expectation


def _not_null(column: str):
    return _critical(gxe.ExpectColumnValuesToNotBeNull(column=column))


def _regex(column: str, regex: str, description=None):
    return _critical(
        gxe.ExpectColumnValuesToMatchRegex(column=column, regex=regex, description=description)
    )


def _fixed_chars(column: str, length: int, chars: str, description: str):
    """Every value is `length` characters from the class `chars`: the regex
    ^[chars]{length}$ in a form PostgreSQL checks about ten times faster (its regex
    engine expands a counted repeat into a large automaton), which matters on 45 million
    rows a month."""
    return rows_where(
        description,
        f"select * from t where length({column}) <> {length} or {column} ~ '[^{chars}]'",
    )


def _region_exists(column: str, level: int | None, description: str):
    level_filter = f" and r.level = {level}" if level else ""
    return rows_where(
        description,
        f"select * from t b where not exists (select 1 from raw.regions r "
        f"where r.region_code = b.{column}{level_filter})",
    )


def _rows_as_loaded(dataset: Dataset):
    return rows_where(
        "Rows per period equal the rows the audit table says were loaded",
        f"select b.{dataset.period_column}, count(*), max(l.rows_loaded) from t b "
        "join audit.extract_loads l on l.load_id = b._load_id "
        f"group by b.{dataset.period_column}, b._load_id having count(*) <> max(l.rows_loaded)",
    )


def raw_suite(dataset: Dataset) -> list:
    """The expectations on one period of a raw table (see quality.py for the scope)."""
    common = [_schema(raw_columns(dataset)), _rows_as_loaded(dataset)]
    if dataset is REGIONS:
        return [
            *common,
            _in_set("level", (1, 2, 3)),
            _regex("region_code", r"^\d{2}(\.\d{2}(\.\d{2})?)?$"),
            _between("village_count", 0, 1000),
            _critical(
                gxe.ExpectTableRowCountToBeBetween(
                    min_value=7000,
                    max_value=10000,
                    description="Kemendagri lists about 7,800 regions (7,837 in the 2025 edition)",
                )
            ),
            rows_where(
                "Every regency and district has its parent region",
                "select * from t b where b.level > 1 and not exists (select 1 from "
                "raw.regions p where p.region_code = left(b.region_code, "
                "length(b.region_code) - 3) and p.edition_year = b.edition_year)",
            ),
        ]
    if dataset is POPULATION:
        return [
            *common,
            _between("total", 0),
            rows_where("total = male + female", "select * from t where total <> male + female"),
            rows_where(
                "Region codes exist in the Kemendagri list",
                "select * from t b where b.region_code <> '0' and not exists "
                "(select 1 from raw.regions r where r.region_code = b.region_code)",
            ),
            rows_where(
                "Each province equals the sum of its regencies",
                "select p.region_code, p.total, sum(r.total) "
                "from t p join t r on left(r.region_code, 2) = p.region_code "
                "and length(r.region_code) = 5 and r.edition_year = p.edition_year "
                "where length(p.region_code) = 2 group by p.region_code, p.total "
                "having p.total <> sum(r.total)",
            ),
            rows_where(
                "Indonesia equals the sum of its provinces",
                "select n.total, sum(p.total) from t n "
                "join t p on length(p.region_code) = 2 and p.edition_year = n.edition_year "
                "where n.region_code = '0' group by n.total having n.total <> sum(p.total)",
            ),
        ]
    if dataset is WORKING_POPULATION:
        return [
            *common,
            _in_set("sex", SEXES),
            _between("occupation_code", 1, MAX_OCCUPATION_CODE),
            _between("population", 0),
            _region_exists("regency_code", 2, "Regency codes exist in the Kemendagri list"),
            rows_where(
                "A regency's residents in the extract do not exceed its Kemendagri population",
                "select w.semester, w.regency_code, sum(w.population), max(p.total) "
                "from t w join raw.population_by_region p "
                "on p.region_code = w.regency_code group by 1, 2 "
                "having sum(w.population) > max(p.total)",
            ),
        ]
    assert dataset is ENROLLMENT
    mandatory = " and ".join(f"has_{p.lower()}" for p in MANDATORY_PROGRAMS)
    return [
        *common,
        _fixed_chars(
            "nik_token", 64, "0-9a-f", "NIK tokens are HMAC-SHA256 hex (64 characters), never a NIK"
        ),
        _fixed_chars("kpj", 11, "0-9", "KPJ participant numbers are 11 digits"),
        _in_set("segment", SEGMENTS),
        _in_set("status", STATUSES),
        _in_set("contribution_payer", PAYERS),
        _in_set("ecosystem", ECOSYSTEMS),
        _between("poverty_decile", 1, 10),
        _region_exists("regency_code", 2, "Domicile regency codes exist in the Kemendagri list"),
        rows_where(
            f"{' and '.join(MANDATORY_PROGRAMS)} are mandatory",
            f"select * from t where not ({mandatory})",
        ),
    ]


def partitions_as_loaded(dataset: Dataset) -> list:
    """Whole history, read from the catalog and one row per partition (no scan): every
    raw partition holds the rows of the load the audit says is its latest; and, for
    pseudonymised extracts, all of them under one NIK key (a warning: it is expected
    while a key rotation reloads the months one by one)."""
    cast = {"date": "::date", "integer": "::integer", "text": ""}[dataset.period_sql_type]
    one_key = [
        rows_where(
            "All months in raw were pseudonymised with one NIK key",
            f""", latest as (
                 select distinct on (l.period) l.period, l.key_fingerprint
                 from audit.extract_loads l
                 join t p on p.table_name = '{dataset.table}' and p.period = l.period
                 where l.dataset = '{dataset.name}' and l.status = 'loaded'
                 order by l.period, l.load_id desc
               )
               select count(distinct key_fingerprint) as keys from latest
               having count(distinct key_fingerprint) > 1""",
            severity=WARNING,
        )
    ]
    return [
        *(one_key if dataset.needs_key else []),
        rows_where(
            f"Every partition of raw.{dataset.table} holds its latest loaded extract",
            f"select p.period from t p where p.table_name = '{dataset.table}' and "
            "(select r._load_id from raw." + dataset.table + " r where r."
            f"{dataset.period_column} = p.period{cast} limit 1) is distinct from "
            "(select max(l.load_id) from audit.extract_loads l where l.dataset = "
            f"'{dataset.name}' and l.period = p.period and l.status = 'loaded')",
        ),
    ]


def _seed_values(seed: str, column: str) -> set[str]:
    with open(DBT_PROJECT_DIR / "seeds" / f"{seed}.csv", encoding="utf-8") as f:
        return {row[column] for row in csv.DictReader(f)}


@dataclass(frozen=True)
class MartSuite:
    mart: str
    expectations: list


def mart_suites() -> list[MartSuite]:
    cov_range = "Coverage between 0 and 150%; above that the numerator or denominator is wrong"
    suites = {
        "dim_region": [
            *map(_not_null, ("region_code", "region_name", "province_name", "population_total")),
            _critical(gxe.ExpectColumnValuesToBeUnique(column="region_code")),
            _in_set("region_type", ("province", "regency", "city")),
            rows_where(
                "Names are cleaned (no double spaces, no 'Kab' abbreviation)",
                "select * from t where region_name ~ '  |^Kab '",
            ),
            rows_where(
                "Province population equals the sum of its regencies",
                "select p.region_code from t p "
                "where p.level = 1 and p.population_total <> (select sum(r.population_total) "
                "from t r where r.level = 2 and r.province_code = p.region_code)",
            ),
        ],
        "coverage_by_segment": [
            *map(_not_null, ("region_code", "period", "segment", "active_participants")),
            _in_set("segment", SEGMENTS),
            _between("active_participants", 0),
            rows_where(
                "Segments add up to the regency's active participants",
                "select f.region_code, f.period from t f join "
                f"{MART_SCHEMA}.coverage_by_regency c on c.region_code = f.region_code and "
                "c.period = f.period group by f.region_code, f.period, c.active_participants "
                "having sum(f.active_participants) <> c.active_participants",
            ),
            rows_where(
                "Every month in raw (or retired from it) is in the mart with exactly the "
                "participants its load stored (catches a reload the transform missed)",
                """, mart as (
                     select period, sum(registered_participants) as participants
                     from t group by 1
                   ), in_raw as (
                     select p.period from audit.raw_partitions p
                     where p.table_name = 'enrollment_snapshot'
                   ), raw_now as (
                     select in_raw.period::date as period,
                            (select r._load_id from raw.enrollment_snapshot r
                             where r.snapshot_month = in_raw.period::date limit 1) as load_id
                     from in_raw
                     union all
                     select r.period::date, r.load_id from audit.retired_periods r
                     where r.table_name = 'enrollment_snapshot'
                       and r.period not in (select period from in_raw)
                   ), loaded as (
                     select raw_now.period, l.load_id, l.rows_loaded
                     from raw_now left join audit.extract_loads l on l.load_id = raw_now.load_id
                   )
                   select coalesce(loaded.period, mart.period) as period, loaded.load_id,
                          loaded.rows_loaded, mart.participants
                   from loaded full join mart on mart.period = loaded.period
                   where loaded.rows_loaded is distinct from mart.participants""",
            ),
        ],
        "coverage_by_regency": [
            *map(
                _not_null,
                (
                    "region_code",
                    "region_name",
                    "province_code",
                    "period",
                    "active_participants",
                    "working_population",
                ),
            ),
            _critical(gxe.ExpectCompoundColumnsToBeUnique(column_list=["region_code", "period"])),
            _between("coverage_rate", 0, 1.5, cov_range),
            _between(
                "coverage_rate",
                0,
                1.0,
                "Coverage above 100% happens (participants counted by employer location): "
                "a warning, not a failure",
                severity=WARNING,
            ),
            _between("target_rate", 0, 1),
            _between("workers_to_target", 0),
            rows_where(
                "No regency's active participants jump or fall more than 5x in a month",
                "select * from t where active_participants_change_mom is not null "
                "and active_participants - active_participants_change_mom >= 100 and "
                "(active_participants > 5 * (active_participants - "
                "active_participants_change_mom) or 5 * active_participants < "
                "active_participants - active_participants_change_mom)",
            ),
            _region_exists("region_code", 2, "Region codes exist in the Kemendagri list"),
        ],
        "coverage_by_province": [
            *map(_not_null, ("province_code", "period", "active_participants")),
            _critical(gxe.ExpectCompoundColumnsToBeUnique(column_list=["province_code", "period"])),
            _between("coverage_rate", 0, 1.5, cov_range),
            rows_where(
                "Province totals equal the sum of their regencies",
                "select p.province_code, p.period from t p join "
                f"{MART_SCHEMA}.coverage_by_regency r on r.province_code = p.province_code "
                "and r.period = p.period group by p.province_code, p.period, "
                "p.active_participants, p.working_population having p.active_participants <> "
                "sum(r.active_participants) or p.working_population <> sum(r.working_population)",
            ),
        ],
        "coverage_by_payer": [
            *map(_not_null, ("region_code", "period", "contribution_payer", "payer_group")),
            _in_set("payer_group", _seed_values("contribution_payers", "payer_group")),
            _critical(
                gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A="active_participants",
                    column_B="active_rentan_ecosystem",
                    or_equal=True,
                )
            ),
        ],
        "coverage_by_ecosystem": [
            _in_set("ecosystem", {*ECOSYSTEMS, "none"}),
            _between("share_of_active", 0, 1),
        ],
        "coverage_by_poverty_decile": [
            _between("poverty_decile", 0, 10),
            _critical(
                gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A="active_participants", column_B="active_government_paid", or_equal=True
                )
            ),
        ],
        "coverage_by_district": [
            *map(_not_null, ("district_code", "district_name", "region_code", "period")),
            _regex("district_code", r"^\d{2}\.\d{2}\.\d{2}$"),
        ],
    }
    missing = set(mart_columns()) - set(suites)
    assert not missing, f"marts without a quality suite: {sorted(missing)}"
    return [
        MartSuite(mart, [_schema(mart_columns()[mart]), *expectations])
        for mart, expectations in suites.items()
    ]
