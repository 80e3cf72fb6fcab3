"""Retention: raw enrollment months (pseudonymised NIKs, birth dates) are dropped once
older than the retention window (CAKUPAN_RETENTION_MONTHS, default 24 months up to the
current one) and once the published marts hold them; the marts keep their aggregates.

Runs after each publication. Audited in audit.retired_periods; the loads become
'retired' in audit.extract_loads. Runs as the loader (raw's owner). It updates no
Asset: the marts do not change.
"""

from datetime import datetime

from airflow.sdk import Param, dag, task

from cakupan import airflow_tasks
from cakupan.assets import MART_COVERAGE_BY_REGENCY
from cakupan.dag_defaults import DEFAULT_ARGS


@dag(
    dag_id="cakupan_retention",
    description=(
        "Drops raw enrollment months past the retention window once published (audited); "
        "the marts keep their aggregates"
    ),
    schedule=MART_COVERAGE_BY_REGENCY,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["cakupan", "retention", "privacy"],
    doc_md=__doc__,
    params={
        "retention_months": Param(
            None,
            type=["null", "integer"],
            minimum=1,
            description="months kept in raw (empty: CAKUPAN_RETENTION_MONTHS, default 24)",
        ),
        "dry_run": Param(False, type="boolean", description="list what would go, drop nothing"),
    },
)
def cakupan_retention():
    task(airflow_tasks.apply_retention, task_id="retire_expired_months")()


cakupan_retention()
