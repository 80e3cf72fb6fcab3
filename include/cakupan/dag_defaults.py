"""default_args shared by every Cakupan DAG."""

from datetime import timedelta

from cakupan.notify import on_failure

DEFAULT_ARGS = {
    "owner": "data-eng",
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "on_failure_callback": on_failure,
}
