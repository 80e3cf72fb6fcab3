"""The quality gate: GX Core suites (quality_suites.py, built in Python from the
contracts) run by one checkpoint over the raw tables and the freshly built marts
(schema marts_build); results are stored in the warehouse and Data Docs built as HTML.
Failed critical expectations fail the gate; warning ones are recorded and logged only.

What is checked, so that the cost does not grow with history:
- raw: one batch per period loaded since the last gate that passed (a load is news
  when its commit is not visible in the snapshot that gate started from, as for the
  incremental dbt models); the first run checks every period;
- whole history, without scanning raw: every raw partition holds the load the audit
  says is its latest (catalog plus one row per partition), and every month of raw is
  in the marts with the participants its load stored (a reconciliation on the marts);
- the marts, whole (they are small: regencies x months).
"""

from __future__ import annotations

import json
import logging
import shutil
import warnings
from dataclasses import dataclass, field

import psycopg

from cakupan.config import PROJECT_ROOT
from cakupan.contracts import DATASETS
from cakupan.partitions import partition_name
from cakupan.warehouse import sqlalchemy_url

log = logging.getLogger(__name__)
DATA_DOCS = PROJECT_ROOT / "expectations" / "gx" / "uncommitted" / "data_docs" / "local_site"
CHECKPOINT = "warehouse_gate"
WATERMARK = f"quality_gate:{CHECKPOINT}"  # its row in audit.transform_watermarks


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


def periods_to_check(conn) -> tuple[str, dict[str, list[str]]]:
    """(snapshot taken now, raw periods per dataset loaded since the last passed gate)."""
    with conn.transaction():
        snapshot, watermark = conn.execute(
            """select pg_current_snapshot()::text,
                      (select snapshot::text from audit.transform_watermarks where model = %s)""",
            (WATERMARK,),
        ).fetchone()
        periods = {}
        for name, dataset in DATASETS.items():
            periods[name] = [
                r[0]
                for r in conn.execute(
                    """select distinct l.period from audit.extract_loads l
                       join audit.raw_partitions p on p.table_name = %s and p.period = l.period
                       where l.dataset = %s and l.status = 'loaded'
                         and (%s::pg_snapshot is null or (l.commit_xid is not null
                              and not pg_visible_in_snapshot(l.commit_xid, %s::pg_snapshot)))
                       order by 1""",
                    (dataset.table, name, watermark, watermark),
                )
            ]
    return snapshot, periods


def _context(dsn: str):
    """An ephemeral GX context: nothing in it is kept but the Data Docs it writes."""
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    # The site shows this run (history is in audit.quality_runs): pages of earlier runs
    # would pile up and be linked from nowhere.
    shutil.rmtree(DATA_DOCS, ignore_errors=True)
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    context.update_data_docs_site(
        "local_site",
        {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(DATA_DOCS) + "/",
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    with warnings.catch_warnings():
        # The generic SQL datasource on purpose: GX's Postgres one refuses the unix-socket
        # URLs of the embedded server.
        warnings.filterwarnings("ignore", message="You are using a generic SQLDatasource")
        source = context.data_sources.add_sql("warehouse", connection_string=sqlalchemy_url(dsn))
    return context, source


def _validations(context, source, periods: dict[str, list[str]]):
    """(validation name, asset, expectations) for everything the gate checks this run."""
    import great_expectations as gx

    from cakupan import quality_suites as suites

    def validation(name: str, asset, expectations) -> gx.ValidationDefinition:
        suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))
        batch = asset.add_batch_definition_whole_table("whole")
        return context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch, suite=suite)
        )

    out = []
    for name, dataset in DATASETS.items():
        for period in periods[name]:
            # The period's partition as a table, not a query on the parent: GX learns a
            # query's columns by running it and fetching every row (a national month
            # would not fit in memory), a table's from the catalog.
            label = f"raw.{dataset.table} {period}"
            asset = source.add_table_asset(
                label, table_name=partition_name(dataset, period), schema_name="raw"
            )
            out.append(validation(label, asset, suites.raw_suite(dataset)))
        label = f"audit.raw_partitions {dataset.table}"
        asset = source.add_query_asset(label, query="select * from audit.raw_partitions")
        out.append(validation(label, asset, suites.partitions_as_loaded(dataset)))
    for mart in suites.mart_suites():
        label = f"marts.{mart.mart}"
        asset = source.add_table_asset(label, table_name=mart.mart, schema_name=suites.MART_SCHEMA)
        out.append(validation(label, asset, mart.expectations))
    return out


def run_gate(dsn: str, run_id: str) -> GateResult:
    """Run the checkpoint against the warehouse at dsn; record and return the outcome."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    with psycopg.connect(dsn) as conn:
        snapshot, periods = periods_to_check(conn)
    checked = {name: p for name, p in periods.items() if p}
    log.info("quality gate: raw periods loaded since the last passed gate: %s", checked or "none")
    context, source = _context(dsn)
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=CHECKPOINT,
            validation_definitions=_validations(context, source, periods),
            actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs")],
            result_format={"result_format": "SUMMARY"},
        )
    )
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
    from cakupan.data_docs_offline import localise

    localise(DATA_DOCS)
    docs = DATA_DOCS / "index.html"
    gate.data_docs = str(docs) if docs.exists() else None
    record(dsn, gate, snapshot)
    for line in gate.summary().splitlines():  # one record per line: each names its logger
        log.info("%s", line)
    return gate


def record(dsn: str, gate: GateResult, snapshot: str) -> None:
    """The outcome per suite in audit.quality_runs; a passed gate moves its watermark to the
    snapshot it started from, so the next run checks only periods loaded since."""
    with psycopg.connect(dsn) as conn, conn.transaction():
        if gate.passed:
            conn.execute(
                """insert into audit.transform_watermarks
                     (model, snapshot, candidate_snapshot, candidate_invocation)
                   values (%s, %s::pg_snapshot, %s::pg_snapshot, %s)
                   on conflict (model) do update set snapshot = excluded.snapshot,
                     candidate_snapshot = excluded.candidate_snapshot,
                     candidate_invocation = excluded.candidate_invocation, updated_at = now()""",
                (WATERMARK, snapshot, snapshot, gate.run_id),
            )
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
