"""Task callables for the DAGs: they read Airflow context and connections, then call the
plain functions in ingest. DAG files wrap these with @task and only wire them."""

from __future__ import annotations

import logging

from cakupan.contracts import DATASETS

log = logging.getLogger(__name__)


def find_new_extracts(dataset: str, **context) -> list[str]:
    from cakupan.ingest import find_new_extracts as find
    from cakupan.warehouse import dsn_from_airflow

    force = bool(context["params"].get("force", False))
    return find(dsn_from_airflow("loader"), dataset, force=force)


def load_extract(dataset: str, uri: str, **context) -> dict:
    from airflow.sdk.exceptions import AirflowFailException

    from cakupan.errors import ExtractError
    from cakupan.ingest import load
    from cakupan.loader import RunInfo
    from cakupan.pseudonymise import resolve_key
    from cakupan.warehouse import dsn_from_airflow

    ti = context["ti"]
    run = RunInfo(run_id=context["run_id"], dag_id=ti.dag_id, task_id=ti.task_id)
    key = resolve_key(use_airflow=True) if DATASETS[dataset].needs_key else None
    params = context["params"]
    try:
        return load(
            dsn_from_airflow("loader"),
            dataset,
            uri,
            run,
            key,
            accept_implausible=bool(params.get("accept_implausible", False)),
            accept_new_key=bool(params.get("accept_new_key", False)),
        )
    except ExtractError as exc:
        # The file itself is at fault: retrying cannot help, fail at once with its cause.
        raise AirflowFailException(f"Extract refused: {exc}") from exc


def quality_gate(**context) -> dict:
    """Run the GX checkpoint; fail (without retry) when a critical expectation fails."""
    from airflow.sdk.exceptions import AirflowFailException

    from cakupan.quality import run_gate
    from cakupan.warehouse import dsn_from_airflow

    gate = run_gate(dsn_from_airflow("transformer"), context["run_id"])
    if not gate.passed:
        raise AirflowFailException(
            "Quality gate failed; the published marts were left unchanged.\n" + gate.summary()
        )
    return {
        "suites": len(gate.suites),
        "expectations": gate.evaluated,
        "warnings": len(gate.failures),
        "data_docs": gate.data_docs,
    }


def publish_marts(**context) -> dict:
    from cakupan.publish import publish
    from cakupan.warehouse import dsn_from_airflow

    return publish(dsn_from_airflow("transformer"), context["run_id"])


def apply_retention(**context) -> dict:
    """Drop raw months with personal data past the retention window (as the loader: raw's
    owner); the marts keep their aggregates."""
    from cakupan.config import settings
    from cakupan.retention import retire_expired
    from cakupan.warehouse import dsn_from_airflow

    params = context["params"]
    months = int(params.get("retention_months") or settings().retention_months)
    result = retire_expired(
        dsn_from_airflow("loader"),
        months,
        run_id=context["run_id"],
        dry_run=bool(params.get("dry_run", False)),
    )
    return {
        "retired": [f"{r.dataset} {r.period}" for r in result.retired],
        "rows_removed": sum(r.rows for r in result.retired),
        "waiting": result.waiting,
    }


def publish_dbt_docs(project_dir: str, **_context) -> None:
    """Cosmos's DbtDocsLocalOperator callback: its `dbt docs generate` ran in a temporary
    copy of the project; move the three files the docs page needs to CAKUPAN_DBT_DOCS_DIR,
    each by rename, so the Airflow UI never serves a half-written page."""
    import shutil
    from pathlib import Path

    from cakupan.config import settings

    out = settings().dbt_docs_dir
    out.mkdir(parents=True, exist_ok=True)
    for name in ("index.html", "manifest.json", "catalog.json"):
        staged = out / f".{name}.new"
        shutil.copyfile(Path(project_dir) / "target" / name, staged)
        staged.replace(out / name)
    log.info("dbt docs written to %s (Airflow UI: Browse > dbt docs)", out)


def coverage_report(**context) -> str:
    from cakupan.config import settings
    from cakupan.report_page import build_report
    from cakupan.warehouse import dsn_from_airflow

    # The report shows what BI users see, read as they read it.
    return str(build_report(dsn_from_airflow("bi"), settings().report_dir))
