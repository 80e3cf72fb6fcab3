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
    """The table as an Asset named as BI users and operators know it (`marts.dim_region`)."""
    config = settings()
    return Asset(
        name=f"{schema}.{table}",
        uri=f"postgres://{config.asset_authority}/{config.asset_database}/{schema}/{table}",
    )


RAW_ASSETS = {name: table_asset("raw", dataset.table) for name, dataset in DATASETS.items()}

# A publication replaces every mart at once: what follows it waits on this one.
MART_COVERAGE_BY_REGENCY = table_asset("marts", "coverage_by_regency")


def mart_assets() -> list[Asset]:
    """Every mart dbt publishes (from its manifest, which the transform DAG reads anyway)."""
    from cakupan.manifest import mart_columns

    return [table_asset("marts", mart) for mart in mart_columns()]
