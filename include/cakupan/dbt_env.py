"""Running dbt outside Airflow: the profile (dbt_project/profiles.yml) reads its
connection from CAKUPAN_DBT_* variables, derived here from the warehouse DSN."""

from __future__ import annotations

import psycopg

from cakupan.config import PROJECT_ROOT

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"


PROJECT_ENV = {
    "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
    "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR),
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
}


def dbt_env(dsn: str | None) -> dict[str, str]:
    """dbt's environment; without a DSN only commands that need no connection work
    (`dbt parse`, which builds the manifest)."""
    if dsn is None:
        return dict(PROJECT_ENV)
    params = psycopg.conninfo.conninfo_to_dict(dsn)
    return {
        **PROJECT_ENV,
        "CAKUPAN_DBT_HOST": str(params.get("host") or "localhost"),
        "CAKUPAN_DBT_PORT": str(params.get("port") or "5432"),
        "CAKUPAN_DBT_USER": str(params.get("user") or "postgres"),
        "CAKUPAN_DBT_PASSWORD": str(params.get("password") or ""),
        "CAKUPAN_DBT_DBNAME": str(params.get("dbname") or "warehouse"),
    }
