"""Cosmos configuration for running the dbt project as Airflow tasks.

The DAG is rendered from dbt's manifest (LoadMode.DBT_MANIFEST), so parsing the DAG
never runs dbt; `make manifest` (part of `make demo` and `make test`) builds it.
dbt connects with the Airflow connection `warehouse` (any secrets backend).
"""

from __future__ import annotations

import sys
from pathlib import Path

from cosmos import ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, LoadMode, TestBehavior
from cosmos.profiles import PostgresUserPasswordProfileMapping

from cakupan.config import settings
from cakupan.dbt_env import DBT_PROJECT_DIR, MANIFEST
from cakupan.warehouse import airflow_conn_id

project_config = ProjectConfig(
    dbt_project_path=DBT_PROJECT_DIR,
    manifest_path=MANIFEST,
    project_name="cakupan",
)
profile_config = ProfileConfig(
    profile_name="cakupan",
    target_name="warehouse",
    profile_mapping=PostgresUserPasswordProfileMapping(
        conn_id=airflow_conn_id("transformer"), profile_args={"schema": "marts", "threads": 2}
    ),
)
# CAKUPAN_DBT_EXECUTION_MODE: local (a dbt invocation per model task) or watcher (one
# `dbt build`, the model tasks follow its events); benchmarks/HISTORY.md compares them.
execution_config = ExecutionConfig(
    execution_mode=ExecutionMode(settings().dbt_execution_mode),
    dbt_executable_path=str(Path(sys.executable).parent / "dbt"),
)
# BUILD: each model's tests (and unit tests) run in the same task, right after it.
# Cosmos' own per-model Assets would need OpenLineage; the DAG declares the mart Assets.
# In watcher mode the producer's `dbt build` runs the tests, and each model's task
# reports its tests' outcome (AFTER_EACH: Cosmos has no per-model build task there).
render_config = RenderConfig(
    load_method=LoadMode.DBT_MANIFEST,
    test_behavior=TestBehavior.AFTER_EACH
    if execution_config.execution_mode == ExecutionMode.WATCHER
    else TestBehavior.BUILD,
    emit_datasets=False,
)
# Each task runs `dbt build --select <model>`. With dbt's default (eager) selection, a
# relationships test between two models would run in the task of whichever parent comes
# first, before the other exists; "buildable" runs it with the later one.
operator_args = {
    "install_deps": False,
    "env": {"DBT_INDIRECT_SELECTION": "buildable", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    "append_env": True,
}


def dbt_docs_operator(task_id: str):
    """`dbt docs generate` through Cosmos (same profile as the models), its files moved
    to CAKUPAN_DBT_DOCS_DIR for the Airflow UI's dbt docs view (runtime.airflow_env)."""
    from cosmos.operators.local import DbtDocsLocalOperator

    from cakupan.airflow_tasks import publish_dbt_docs

    return DbtDocsLocalOperator(
        task_id=task_id,
        project_dir=str(DBT_PROJECT_DIR),
        profile_config=profile_config,
        dbt_executable_path=execution_config.dbt_executable_path,
        callback=publish_dbt_docs,
        **operator_args,
    )
