"""Population side: Kemendagri regions, population per region, working population.

Regions first, because every other extract is checked against their codes (a refused
regions file does not stop the others: they are checked against the edition in use).
Each load replaces its period's partition in raw and updates its Asset.
"""

from datetime import datetime

from airflow.sdk import dag, task

from cakupan import airflow_tasks
from cakupan.assets import RAW_ASSETS
from cakupan.contracts import POPULATION_SIDE
from cakupan.dag_defaults import DEFAULT_ARGS, ingest_params


@dag(
    dag_id="cakupan_ingest_population",
    description=(
        "Kemendagri regions and population, Dukcapil working population: new or changed "
        "editions into raw (regions first)"
    ),
    schedule="@daily",
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params=ingest_params(),
    tags=["cakupan", "ingestion"],
    doc_md=__doc__,
)
def cakupan_ingest_population():
    previous = None
    for dataset in (d.name for d in POPULATION_SIDE):
        # all_done: after the previous dataset's loads, whatever their outcome. A refused
        # regions edition leaves the one in use as the reference, which the other
        # extracts are still checked against.
        uris = task(
            airflow_tasks.find_new_extracts, task_id=f"find_{dataset}", trigger_rule="all_done"
        )(dataset=dataset)
        loads = (
            task(
                airflow_tasks.load_extract,
                task_id=f"load_{dataset}",
                outlets=[RAW_ASSETS[dataset]],
                max_active_tis_per_dag=1,
            )
            .partial(dataset=dataset)
            .expand(uri=uris)
        )
        if previous is not None:
            previous >> uris
        previous = loads


cakupan_ingest_population()
