"""Failure e-mail through the SMTP provider's notifier, Airflow's replacement for the
deprecated `email_on_failure`. The mail carries the task log's one failure line and
nothing more (no log excerpt, no rendered template), so no row data can travel in it."""

from __future__ import annotations

from html import escape

from airflow.providers.smtp.notifications.smtp import SmtpNotifier

from cakupan.notify import failure_summary


class FailureEmail(SmtpNotifier):
    def notify(self, context) -> None:
        line = failure_summary(context)
        self.subject = line.split(": ", 1)[0]  # CAKUPAN FAILURE dag=... task=... run=... try=...
        self.html_content = f"<p>{escape(line)}</p>"
        super().notify(context)
