"""What Airflow itself costs to run the transform DAG's dbt task group on this machine:
the same tasks (one per dbt model and seed) with the same dependencies, taken from dbt's
manifest as Cosmos takes them, each doing nothing. `make bench-history` triggers it on
the same live Airflow as the real DAG; its wall time is the floor of the dbt part that no
dbt setting can lower while Airflow keeps one task per model.

Benchmark only: the bench points AIRFLOW__CORE__DAGS_FOLDER here for that one run.
"""

import json
from datetime import datetime

from airflow.sdk import TaskGroup, dag, task

from cakupan.dbt_env import MANIFEST


def _graph() -> dict[str, list[str]]:
    """Each model or seed of the project and the models or seeds it depends on."""
    nodes = json.loads(MANIFEST.read_text())["nodes"]
    built = {
        uid: node
        for uid, node in nodes.items()
        if node["resource_type"] in ("model", "seed") and node["package_name"] == "cakupan"
    }
    return {
        node["name"]: [
            built[d]["name"] for d in node.get("depends_on", {}).get("nodes", []) if d in built
        ]
        for node in built.values()
    }


@dag(dag_id="cakupan_transform_floor", schedule=None, start_date=datetime(2025, 1, 1),
     catchup=False, tags=["benchmark"])  # fmt: skip
def cakupan_transform_floor():
    graph = _graph()
    with TaskGroup(group_id="dbt"):
        tasks = {name: task(lambda: None, task_id=name)() for name in graph}
    for name, parents in graph.items():
        for parent in parents:
            tasks[parent] >> tasks[name]


cakupan_transform_floor()
