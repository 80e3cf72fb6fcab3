"""docker-compose.yml cannot run here (no Docker engine). Instead:
- a real Compose implementation that needs no engine (Debian's docker-compose, which
  .ci/run installs) validates and interpolates it with .env.example;
- every image is pinned, every Airflow setting, job type, class and Celery app it names
  exists in the installed Airflow, every CAKUPAN_* variable is a setting of config.py;
- the package, HMAC accelerator included, installs from a wheel, so the image needs no
  mount over it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES = COMPOSE["services"]
AIRFLOW_SERVICES = [
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
]
LONG_RUNNING = [name for name in SERVICES if name != "airflow-init"]
ENV_EXAMPLE = dict(
    line.split("=", 1)
    for line in (ROOT / ".env.example").read_text().splitlines()
    if line and not line.startswith("#")
)
DOCKER_COMPOSE = shutil.which("docker-compose")
needs_compose = pytest.mark.skipif(
    DOCKER_COMPOSE is None and not os.environ.get("CI"),
    reason="docker-compose not installed (.ci/run installs it: apt-get install docker-compose)",
)
# Variables the official image's entrypoint reads (Airflow docs, docker-stack/entrypoint).
IMAGE_ENTRYPOINT_VARIABLES = {
    "_AIRFLOW_DB_MIGRATE",
    "_AIRFLOW_WWW_USER_CREATE",
    "_AIRFLOW_WWW_USER_USERNAME",
    "_AIRFLOW_WWW_USER_PASSWORD",
    "DUMB_INIT_SETSID",
}


def compose(*args: str, env_file: Path, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [DOCKER_COMPOSE, "--env-file", str(env_file), "-p", "cakupan", *args],
        cwd=cwd,
        env={"PATH": os.environ["PATH"]},  # only the env file's values
        capture_output=True,
        text=True,
        timeout=120,
    )


@needs_compose
def test_compose_validates_and_interpolates_with_the_example_env():
    proc = compose("config", env_file=ROOT / ".env.example")
    assert proc.returncode == 0, proc.stderr
    config = yaml.safe_load(proc.stdout)
    api_env = config["services"]["airflow-apiserver"]["environment"]
    assert api_env["AIRFLOW_CONN_WAREHOUSE_BI"].startswith(
        f"postgres://bi_reader:{ENV_EXAMPLE['BI_READER_PASSWORD']}@warehouse:5432/"
    )
    assert config["services"]["airflow-worker"]["user"] == f"{ENV_EXAMPLE['AIRFLOW_UID']}:0"
    assert config["services"]["warehouse"]["ports"] == ["127.0.0.1:5433:5432/tcp"]


@needs_compose
def test_compose_refuses_a_missing_secret_and_a_misspelt_key(tmp_path):
    """The validation above can fail: a missing secret is named, a bad key is refused."""
    env = tmp_path / "env"
    env.write_text(
        "\n".join(f"{k}={v}" for k, v in ENV_EXAMPLE.items() if k != "NIK_HMAC_KEY") + "\n"
    )
    proc = compose("config", "-q", env_file=env)
    assert proc.returncode != 0 and "set NIK_HMAC_KEY" in proc.stderr

    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE_TEXT.replace("    healthcheck:\n", "    healthchek:\n", 1))
    for path in ("dags", "dbt_project", "expectations", "sample_data"):
        (tmp_path / path).mkdir()
    proc = compose("config", "-q", env_file=ROOT / ".env.example", cwd=tmp_path)
    assert proc.returncode != 0 and "healthchek" in proc.stderr


def test_every_required_variable_is_in_the_example_env():
    required = set(re.findall(r"\$\{([A-Z_]+):\?", COMPOSE_TEXT))
    optional = set(re.findall(r"\$\{([A-Z_]+):-", COMPOSE_TEXT))
    assert required and required <= set(ENV_EXAMPLE), required - set(ENV_EXAMPLE)
    assert optional <= set(ENV_EXAMPLE), optional - set(ENV_EXAMPLE)
    assert not (ROOT / ".env").exists() or ".env" in (ROOT / ".gitignore").read_text()


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


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_every_component_has_a_healthcheck_airflow_knows(name):
    test = SERVICES[name]["healthcheck"]["test"]
    command = " ".join(test[1:])
    job = re.search(r"airflow jobs check --job-type (\w+)", command)
    if job:
        from airflow.cli.cli_config import ARG_JOB_TYPE_FILTER

        assert job.group(1) in ARG_JOB_TYPE_FILTER.kwargs["choices"]
    if "celery --app" in command:
        import importlib

        module, _, attribute = command.split("--app ")[1].split()[0].rpartition(".")
        assert hasattr(importlib.import_module(module), attribute)
    if ":8974/health" in command:
        from airflow.configuration import conf

        assert SERVICES[name]["environment"]["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "true"
        assert conf.get("scheduler", "scheduler_health_check_server_port") == "8974"


def test_workers_wait_for_the_api_server_and_shut_down_warmly():
    worker = SERVICES["airflow-worker"]
    assert worker["depends_on"]["airflow-apiserver"] == {"condition": "service_healthy"}
    assert worker["environment"]["DUMB_INIT_SETSID"] == "0"
    assert "container_name" not in worker and "ports" not in worker  # --scale works


def test_production_auth_manager_is_installed():
    import importlib

    path = SERVICES["airflow-apiserver"]["environment"]["AIRFLOW__CORE__AUTH_MANAGER"]
    module, _, cls = path.rpartition(".")
    assert cls == "FabAuthManager" and hasattr(importlib.import_module(module), cls)
    init_env = SERVICES["airflow-init"]["environment"]
    assert init_env["_AIRFLOW_WWW_USER_CREATE"] == "true"
    assert "AIRFLOW_ADMIN_PASSWORD:?" in init_env["_AIRFLOW_WWW_USER_PASSWORD"]


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_every_variable_names_a_real_setting(name):
    from airflow.configuration import conf

    from cakupan import config
    from cakupan.warehouse import DUTY_ROLES, airflow_conn_id

    config_source = Path(config.__file__).read_text()
    duty_conns = {f"AIRFLOW_CONN_{airflow_conn_id(duty).upper()}" for duty in DUTY_ROLES}
    for variable in SERVICES[name]["environment"]:
        if variable.startswith("AIRFLOW__"):
            section, key = variable.removeprefix("AIRFLOW__").lower().split("__")
            if section == "cosmos":  # Cosmos reads [cosmos] from Airflow's config itself
                import cosmos

                package = Path(cosmos.__file__).parent
                sources = [package / "settings.py", package / "plugin" / "airflow3.py"]
                assert any(f'"cosmos", "{key}"' in s.read_text() for s in sources), variable
            else:  # Airflow's and its providers' documented options (defaults may be None)
                options = conf.configuration_description.get(section, {}).get("options", {})
                assert key in options, f"{name}: {variable} is no Airflow setting"
        elif variable.startswith("AIRFLOW_CONN_"):
            assert variable in duty_conns | {"AIRFLOW_CONN_CAKUPAN_NIK_HMAC"}, variable
        elif variable.startswith("CAKUPAN_"):
            stem = re.sub(r"_(LOADER|TRANSFORMER|BI)_PASSWORD$", "_", variable)
            assert f'"{stem}' in config_source or variable == "CAKUPAN_HOME", variable
        else:
            assert variable in IMAGE_ENTRYPOINT_VARIABLES | {"DBT_SEND_ANONYMOUS_USAGE_STATS"}


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_airflow_services_connect_by_duty_and_mount_what_exists(name):
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
    # Components run as AIRFLOW_UID; only the one-off init is root (to own the folders).
    assert service["user"] == ("0:0" if name == "airflow-init" else "${AIRFLOW_UID:-50000}:0")
    named_volumes = set(COMPOSE["volumes"])
    targets = []
    for volume in service["volumes"]:
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            assert (ROOT / source).exists(), f"{name} mounts missing path {source}"
        else:
            assert source in named_volumes
        targets.append(target)
    for path in ("dags", "dbt_project", "expectations", "landing", "report", "dbt_docs", "logs"):
        assert f"/opt/airflow/{path}" in targets
    # Nothing over the installed package: a mount of include/ would hide the compiled
    # accelerator the image built.
    assert not any(t.startswith("/opt/airflow/include") or "site-packages" in t for t in targets)
    assert env["CAKUPAN_LANDING_URI"] == "/opt/airflow/landing"
    assert env["CAKUPAN_REPORT_DIR"] == "/opt/airflow/report"
    docs = json.loads(env["AIRFLOW__COSMOS__DBT_DOCS_PROJECTS"])["cakupan"]["dir"]
    assert docs == env["CAKUPAN_DBT_DOCS_DIR"] == "/opt/airflow/dbt_docs"
    lineage = json.loads(env["AIRFLOW__OPENLINEAGE__TRANSPORT"])
    assert lineage["type"] == "file" and lineage["log_file_path"].startswith("/opt/airflow/logs/")


def test_init_owns_every_folder_the_components_write():
    script = SERVICES["airflow-init"]["command"][1]
    owned = re.search(r'chown -R "\$\{AIRFLOW_UID:-50000\}:0" (.+)', script).group(1).split()
    writable = [
        volume.split(":")[1]
        for volume in SERVICES["airflow-scheduler"]["volumes"]
        if not volume.endswith(":ro")
    ]
    assert sorted(writable) == sorted(owned)
    assert "/entrypoint" in script and "cakupan warehouse migrate" in script


def test_image_installs_the_package_not_an_editable_link():
    dockerfile = (ROOT / "Dockerfile").read_text()
    pinned = next(
        line.split("==")[1]
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.startswith("apache-airflow==")
    )
    assert f"FROM apache/airflow:{pinned}-python3.11" in dockerfile
    assert "pip install --no-cache-dir --no-deps /opt/airflow/src" in dockerfile
    assert " -e " not in dockerfile
    assert 'python -c "import cakupan._hmac_sha256"' in dockerfile
    assert SERVICES["airflow-worker"]["build"] == "."


def test_the_wheel_carries_the_accelerator_templates_and_sql(tmp_path):
    """What the Dockerfile's `pip install /opt/airflow/src` installs, built here."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path),
         str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("cakupan-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(re.fullmatch(r"cakupan/_hmac_sha256\.cpython-311-.*\.so", n) for n in names)
    for needed in ("cakupan/templates/report_page.html", "cakupan/sql/bootstrap.sql"):
        assert needed in names
