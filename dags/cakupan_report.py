"""Coverage report (HTML page with PNG charts) and dbt docs (the Airflow UI's dbt docs
view), rebuilt whenever the marts are published."""

from datetime import datetime

from airflow.sdk import dag, task

from cakupan import airflow_tasks, cosmos_config
from cakupan.assets import MART_COVERAGE_BY_REGENCY
from cakupan.dag_defaults import DEFAULT_ARGS


@dag(
    dag_id="cakupan_report",
    description=(
        "The HTML coverage report from the published marts, and dbt docs for the Airflow "
        "UI, after each publication"
    ),
    schedule=MART_COVERAGE_BY_REGENCY,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["cakupan", "report"],
    doc_md=__doc__,
)
def cakupan_report():
    task(airflow_tasks.coverage_report, task_id="coverage_report")()
    cosmos_config.dbt_docs_operator("dbt_docs")


cakupan_report()
