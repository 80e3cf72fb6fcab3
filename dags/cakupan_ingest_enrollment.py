"""Enrollment side: monthly BPJS participant snapshots into raw.enrollment_snapshot.

NIKs are replaced by HMAC tokens while streaming; names never reach the database.
"""

from datetime import datetime

from airflow.sdk import dag, task

from cakupan import airflow_tasks
from cakupan.assets import RAW_ASSETS
from cakupan.contracts import ENROLLMENT
from cakupan.dag_defaults import DEFAULT_ARGS, ingest_params


@dag(
    dag_id="cakupan_ingest_enrollment",
    description=(
        "BPJS Ketenagakerjaan participant snapshots: new or changed monthly extracts into"
        " raw (NIK pseudonymised, bad rows quarantined, audited)"
    ),
    schedule="@daily",
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params=ingest_params(key_rotation=True),
    tags=["cakupan", "ingestion"],
    doc_md=__doc__,
)
def cakupan_ingest_enrollment():
    uris = task(airflow_tasks.find_new_extracts, task_id="find_enrollment")(dataset=ENROLLMENT.name)
    (
        task(
            airflow_tasks.load_extract,
            task_id="load_enrollment",
            outlets=[RAW_ASSETS[ENROLLMENT.name]],
            max_active_tis_per_dag=1,
        )
        .partial(dataset=ENROLLMENT.name)
        .expand(uri=uris)
    )


cakupan_ingest_enrollment()
