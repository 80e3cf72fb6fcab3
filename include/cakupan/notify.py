"""Failure notification: one clear summary line per failed task in the task log, and
the same line by e-mail when CAKUPAN_ALERT_EMAIL names recipients (alert_email.py, the
SMTP provider's notifier over the connection CAKUPAN_ALERT_SMTP_CONN_ID). Slack: add the
Slack provider's SlackNotifier to failure_callbacks() (it does not install offline here).
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


def on_dbt_warning(context) -> None:
    """Cosmos calls this when a dbt test of severity warn finds rows (the run goes on):
    one line per test, so a figure that needs a caveat (vulnerable workers' coverage
    above 100%) is visible in the task log, not only in dbt's own output."""
    ti = context.get("task_instance") or context.get("ti")
    for name, message in zip(
        context.get("test_names", []), context.get("test_results", []), strict=False
    ):
        log.warning(
            "CAKUPAN WARNING dag=%s task=%s run=%s: dbt test %s: %s",
            getattr(ti, "dag_id", "?"),
            getattr(ti, "task_id", "?"),
            context.get("run_id", "?"),
            name,
            message,
        )


def failure_callbacks() -> list:
    """The DAGs' on_failure_callback: the log line always, the e-mail when configured."""
    from cakupan.config import settings

    config = settings()
    callbacks = [on_failure]
    if config.alert_emails:
        from cakupan.alert_email import FailureEmail

        callbacks.append(
            FailureEmail(to=list(config.alert_emails), smtp_conn_id=config.alert_smtp_conn_id)
        )
    return callbacks
