"""Failure notification: one clear summary line per failed task in the task log.

Airflow's standard settings route the same failures to people: set `email` and
`email_on_failure` in default_args with an SMTP connection, or add the Slack
provider's notifier to `on_failure_callback` next to this one.
"""

from __future__ import annotations

import logging

log = logging.getLogger("cakupan.alerts")


def failure_summary(context) -> str:
    ti = context.get("task_instance") or context.get("ti")
    error = context.get("exception")
    dag_id = getattr(ti, "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    run_id = context.get("run_id", "?")
    try_number = getattr(ti, "try_number", "?")
    return (
        f"CAKUPAN FAILURE dag={dag_id} task={task_id} run={run_id} try={try_number}: "
        f"{type(error).__name__ if error else 'Error'}: {error}"
    )


def on_failure(context) -> None:
    log.error("%s", failure_summary(context))
