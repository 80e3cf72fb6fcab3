"""docker-compose.yml cannot run here (no Docker engine), so check it as data: every
service, image and mounted path it names must exist and fit together."""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
AIRFLOW_SERVICES = [
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
]


def test_all_components_are_there():
    assert set(SERVICES) == {"airflow-db", "warehouse", "redis", *AIRFLOW_SERVICES}
    commands = {name: SERVICES[name]["command"] for name in AIRFLOW_SERVICES[1:]}
    assert commands == {
        "airflow-apiserver": "api-server",
        "airflow-scheduler": "scheduler",
        "airflow-dag-processor": "dag-processor",
        "airflow-triggerer": "triggerer",
        "airflow-worker": "celery worker",
    }


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_images_are_pinned(name):
    image = SERVICES[name]["image"]
    repo, _, tag = image.rpartition(":")
    assert repo and tag and tag != "latest", f"{name}: image {image!r} is not pinned"


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_airflow_services_mount_existing_project_paths(name):
    service = SERVICES[name]
    env = service["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:")
    assert "@airflow-db:" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    # Tasks connect as their duty's role; the owner's password reaches airflow-init only.
    from cakupan.warehouse import DUTY_ROLES, airflow_conn_id

    for duty, role in DUTY_ROLES.items():
        uri = env[f"AIRFLOW_CONN_{airflow_conn_id(duty).upper()}"]
        assert uri.startswith(f"postgres://{role}:") and uri.endswith("@warehouse:5432/warehouse")
    assert "WAREHOUSE_PASSWORD" not in str(env) or name == "airflow-init"
    assert ("CAKUPAN_WAREHOUSE_DSN" in env) == (name == "airflow-init")
    named_volumes = set(COMPOSE["volumes"])
    mounted = set()
    for volume in service["volumes"]:
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            assert (ROOT / source).exists(), f"{name} mounts missing path {source}"
        else:
            assert source in named_volumes
        mounted.add(target)
    for path in ("dags", "include", "dbt_project", "expectations"):
        assert f"/opt/airflow/{path}" in mounted
    for dependency in service["depends_on"]:
        assert dependency in SERVICES


def test_workers_can_be_scaled():
    worker = SERVICES["airflow-worker"]
    assert "container_name" not in worker and "ports" not in worker


def test_no_secret_in_the_file():
    text = (ROOT / "docker-compose.yml").read_text()
    for variable in ("AIRFLOW_DB_PASSWORD", "WAREHOUSE_PASSWORD", "NIK_HMAC_KEY"):
        assert f"${{{variable}" in text


def test_image_matches_the_pinned_airflow():
    dockerfile = (ROOT / "Dockerfile").read_text()
    pinned = next(
        line.split("==")[1]
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.startswith("apache-airflow==")
    )
    assert f"FROM apache/airflow:{pinned}-python3.11" in dockerfile
    assert SERVICES["airflow-worker"]["build"] == "."
