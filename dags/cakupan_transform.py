"""dbt transforms (staging -> intermediate -> marts) run by Cosmos, one task per model.

Scheduled on the raw Assets: any new extract triggers it. Incremental models only
recompute the months loaded since their last run.
"""

from datetime import datetime, timedelta

from airflow.sdk import dag, task
from cosmos import DbtTaskGroup

from cakupan import transform
from cakupan.assets import MART_ASSETS, RAW_ASSETS


@dag(
    dag_id="cakupan_transform",
    schedule=(
        RAW_ASSETS["enrollment"]
        | RAW_ASSETS["working_population"]
        | RAW_ASSETS["population"]
        | RAW_ASSETS["regions"]
    ),
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "data-eng", "retries": 1, "retry_delay": timedelta(minutes=2)},
    tags=["cakupan", "dbt"],
    doc_md=__doc__,
)
def cakupan_transform():
    dbt = DbtTaskGroup(
        group_id="dbt",
        project_config=transform.project_config,
        profile_config=transform.profile_config,
        execution_config=transform.execution_config,
        render_config=transform.render_config,
        operator_args=transform.operator_args,
    )

    @task(outlets=MART_ASSETS)
    def marts_published():
        """Marks the marts updated so downstream DAGs (reports) can be scheduled on them."""

    dbt >> marts_published()


cakupan_transform()
