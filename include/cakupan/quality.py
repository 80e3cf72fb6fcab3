"""The quality gate: GX Core suites (files under expectations/gx/) run by one checkpoint
over the raw tables and the freshly built marts (schema marts_build), results stored in
the warehouse, Data Docs built as HTML. Failed critical expectations fail the gate;
warning ones are recorded and logged only.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from cakupan.config import PROJECT_ROOT
from cakupan.warehouse import sqlalchemy_url

log = logging.getLogger(__name__)
GX_ROOT = PROJECT_ROOT / "expectations"
CHECKPOINT = "warehouse_gate"
URL_VARIABLE = "CAKUPAN_GX_WAREHOUSE_URL"


@dataclass(frozen=True)
class Failure:
    suite: str
    expectation: str
    column: str | None
    severity: str
    description: str | None
    observed: str


@dataclass
class GateResult:
    run_id: str
    suites: dict[str, bool] = field(default_factory=dict)
    evaluated: int = 0
    failures: list[Failure] = field(default_factory=list)
    data_docs: str | None = None

    @property
    def critical(self) -> list[Failure]:
        return [f for f in self.failures if f.severity == "critical"]

    @property
    def passed(self) -> bool:
        return not self.critical

    def summary(self) -> str:
        lines = [
            f"quality gate {'PASSED' if self.passed else 'FAILED'}: {len(self.suites)} suites, "
            f"{self.evaluated} expectations, {len(self.critical)} critical and "
            f"{len(self.failures) - len(self.critical)} warning failures"
        ]
        for f in self.failures:
            what = f.description or f.expectation
            column = f" [{f.column}]" if f.column else ""
            lines.append(f"  {f.severity.upper():8} {f.suite}{column}: {what} ({f.observed})")
        if self.data_docs:
            lines.append(f"  Data Docs: {self.data_docs}")
        return "\n".join(lines)


def _exception(result) -> str | None:
    """The error message if evaluating the expectation raised (GX nests it per metric)."""
    info = result.exception_info or {}
    candidates = [info, *[v for v in info.values() if isinstance(v, dict)]]
    for c in candidates:
        if c.get("raised_exception"):
            return str(c.get("exception_message")).splitlines()[0][:300]
    return None


def _observed(result) -> str:
    error = _exception(result)
    if error:
        return "error: " + error
    r = result.result or {}
    for key in ("unexpected_count", "observed_value"):
        if key in r:
            value = r[key]
            if key == "unexpected_count":
                sample = r.get("partial_unexpected_list") or r.get("details", {}).get(
                    "unexpected_rows"
                )
                return f"{value} unexpected" + (f", e.g. {str(sample)[:200]}" if sample else "")
            return f"observed {str(value)[:200]}"
    return "failed"


def run_gate(dsn: str, run_id: str) -> GateResult:
    """Run the checkpoint against the warehouse at dsn; record and return the outcome."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    os.environ[URL_VARIABLE] = sqlalchemy_url(dsn)
    context = gx.get_context(mode="file", project_root_dir=str(GX_ROOT))
    checkpoint = context.checkpoints.get(CHECKPOINT)
    outcome = checkpoint.run(run_id=RunIdentifier(run_name=run_id))
    gate = GateResult(run_id=run_id)
    for validation in outcome.run_results.values():
        suite = validation.suite_name
        gate.suites[suite] = True
        for r in validation.results:
            gate.evaluated += 1
            config = r.expectation_config
            raised = _exception(r) is not None
            if r.success and not raised:
                continue
            severity = "critical" if raised else str(getattr(config, "severity", "critical"))
            severity = severity.split(".")[-1].lower()
            if severity == "critical":
                gate.suites[suite] = False
            gate.failures.append(
                Failure(
                    suite,
                    config.type,
                    config.kwargs.get("column"),
                    severity,
                    config.description,
                    _observed(r),
                )
            )
    docs = Path(GX_ROOT, "gx", "uncommitted", "data_docs", "local_site", "index.html")
    gate.data_docs = str(docs) if docs.exists() else None
    record(dsn, gate)
    log.info("%s", gate.summary())
    return gate


def record(dsn: str, gate: GateResult) -> None:
    with psycopg.connect(dsn) as conn, conn.transaction():
        for suite, success in gate.suites.items():
            failed = [f for f in gate.failures if f.suite == suite]
            conn.execute(
                """insert into audit.quality_runs
                     (run_id, checkpoint, suite, success, failed_expectations, failures)
                   values (%s, %s, %s, %s, %s, %s)""",
                (
                    gate.run_id,
                    CHECKPOINT,
                    suite,
                    success,
                    len(failed),
                    json.dumps([f.__dict__ for f in failed]),
                ),
            )
