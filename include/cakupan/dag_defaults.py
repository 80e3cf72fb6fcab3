"""What every Cakupan DAG shares: default_args, and the ingestion DAGs' run parameters."""

from datetime import timedelta

from airflow.sdk import Param

from cakupan.notify import failure_callbacks

DEFAULT_ARGS = {
    "owner": "data-eng",
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "on_failure_callback": failure_callbacks(),
}


def ingest_params(*, key_rotation: bool = False) -> dict[str, Param]:
    """The switches an operator may set when triggering an ingestion DAG (all audited)."""
    params = {
        "force": Param(False, type="boolean", description="reload unchanged files too"),
        "accept_implausible": Param(
            False,
            type="boolean",
            description="load editions that fail the plausibility checks (audited)",
        ),
    }
    if key_rotation:
        params["accept_new_key"] = Param(
            False,
            type="boolean",
            description="key rotation: load months under a NIK key other than raw's (audited)",
        )
    return params
