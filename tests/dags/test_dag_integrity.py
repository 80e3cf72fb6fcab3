"""Every DAG imports cleanly, parses fast and is wired to the Assets it produces."""

import time
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(p for p in DAGS.glob("*.py") if not p.name.startswith("_"))
MAX_PARSE_SECONDS = 1.0


@pytest.fixture(scope="module")
def dagbag_cls():
    from airflow.dag_processing.dagbag import DagBag

    DagBag(dag_folder=str(DAG_FILES[0]))  # warm the shared imports once
    return DagBag


def test_there_are_dags():
    assert {p.stem for p in DAG_FILES} >= {
        "cakupan_ingest_population",
        "cakupan_ingest_enrollment",
        "cakupan_transform",
        "cakupan_report",
    }


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_imports_fast_without_errors(dagbag_cls, path):
    start = time.perf_counter()
    bag = dagbag_cls(dag_folder=str(path))
    elapsed = time.perf_counter() - start
    assert bag.import_errors == {}
    assert len(bag.dags) == 1
    assert elapsed < MAX_PARSE_SECONDS, f"{path.name} took {elapsed:.2f} s to parse"
    dag = next(iter(bag.dags.values()))
    assert dag.dag_id == path.stem
    assert dag.tags and "cakupan" in dag.tags
    assert dag.description and len(dag.description) > 40  # what the Airflow UI lists
    assert dag.max_active_runs == 1 and not dag.catchup


def test_ingestion_outlets_are_warehouse_assets(dagbag_cls):
    from cakupan.assets import RAW_ASSETS

    bag = dagbag_cls(dag_folder=str(DAGS))
    outlets = {o.uri for d in bag.dags.values() for t in d.tasks for o in t.outlets}
    assert {a.uri for a in RAW_ASSETS.values()} <= outlets
    for uri in outlets:
        assert uri.startswith("postgres://") and uri.count("/") == 5


def test_every_mart_is_an_asset_publication_updates(dagbag_cls):
    from cakupan.manifest import mart_columns

    bag = dagbag_cls(dag_folder=str(DAGS))
    publish = bag.dags["cakupan_transform"].get_task("publish_marts")
    assert sorted(o.name for o in publish.outlets) == sorted(f"marts.{m}" for m in mart_columns())
    assert len(publish.outlets) == 8
    for dag_id in ("cakupan_report", "cakupan_retention"):
        condition = bag.dags[dag_id].timetable.asset_condition
        assert condition.name == "marts.coverage_by_regency", dag_id
