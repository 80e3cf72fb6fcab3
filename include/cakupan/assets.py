"""Airflow Assets for the warehouse tables the DAGs produce and consume.

Postgres asset URIs must be postgres://host:port/database/schema/table. The
authority only names the warehouse; CAKUPAN_ASSET_AUTHORITY overrides it for a
deployment whose warehouse lives elsewhere.
"""

from __future__ import annotations

from airflow.sdk import Asset

from cakupan.config import settings
from cakupan.contracts import DATASETS


def table_asset(schema: str, table: str) -> Asset:
    config = settings()
    return Asset(f"postgres://{config.asset_authority}/{config.asset_database}/{schema}/{table}")


RAW_ASSETS = {name: table_asset("raw", dataset.table) for name, dataset in DATASETS.items()}

MART_COVERAGE_BY_REGENCY = table_asset("marts", "coverage_by_regency")
MART_COVERAGE_BY_PROVINCE = table_asset("marts", "coverage_by_province")
MART_ASSETS = [MART_COVERAGE_BY_REGENCY, MART_COVERAGE_BY_PROVINCE]
