"""Transform, audit, publish (write-audit-publish).

1. dbt builds staging -> intermediate -> marts into the schema marts_build (Cosmos,
   one task per model, each model's dbt tests right after it).
2. The GX checkpoint checks the raw tables and marts_build; results go to
   audit.quality_runs and Data Docs.
3. Only then are the marts copied into `marts`, atomically. A failure anywhere
   leaves the published marts exactly as they were.

Scheduled on the raw Assets: any new extract triggers it.
"""

import operator
from datetime import datetime
from functools import reduce

from airflow.sdk import dag, task
from cosmos import DbtTaskGroup

from cakupan import airflow_tasks, cosmos_config, notify
from cakupan.assets import RAW_ASSETS, mart_assets
from cakupan.dag_defaults import DEFAULT_ARGS


@dag(
    dag_id="cakupan_transform",
    description=(
        "dbt (Cosmos) into marts_build, the GX quality gate, then atomic publication to "
        "marts; on any raw update"
    ),
    schedule=reduce(operator.or_, RAW_ASSETS.values()),  # any raw table's update
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "retries": 1},
    tags=["cakupan", "dbt", "quality"],
    doc_md=__doc__,
)
def cakupan_transform():
    dbt = DbtTaskGroup(
        group_id="dbt",
        project_config=cosmos_config.project_config,
        profile_config=cosmos_config.profile_config,
        execution_config=cosmos_config.execution_config,
        render_config=cosmos_config.render_config,
        operator_args=cosmos_config.operator_args,
        on_warning_callback=notify.on_dbt_warning,
    )
    gate = task(airflow_tasks.quality_gate, task_id="quality_gate", retries=0)()
    publish = task(airflow_tasks.publish_marts, task_id="publish_marts", outlets=mart_assets())()
    dbt >> gate >> publish


cakupan_transform()
