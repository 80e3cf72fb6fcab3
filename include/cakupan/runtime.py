"""The environment Airflow runs in locally: embedded PostgreSQL, this repo's DAGs.

Values already set in the environment win, so an operator can point Airflow or
the warehouse elsewhere (AIRFLOW__DATABASE__SQL_ALCHEMY_CONN,
AIRFLOW_CONN_WAREHOUSE, AIRFLOW_CONN_CAKUPAN_NIK_HMAC) with no code change.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from cakupan import embedded
from cakupan.config import PROJECT_ROOT, settings
from cakupan.errors import ConfigurationError
from cakupan.warehouse import DUTY_ROLES, airflow_conn_id, sqlalchemy_url


def nik_key_file() -> str:
    """A random HMAC key for local runs, created once under .local/secrets (git-ignored)."""
    path = settings().secrets_dir / "nik_hmac_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return str(path)


def openlineage_file() -> Path:
    """Where local Airflow runs write their OpenLineage events, one JSON per line."""
    path = settings().local_dir / "openlineage" / "events.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


# What every dbt model's task imports, loaded once before the executor forks its workers.
TASK_PRELOAD = ("airflow.sdk", "dbt.cli.main", "dbt.adapters.postgres", "cosmos.operators.local")


def airflow_env() -> dict[str, str]:
    s = settings()
    sock = embedded.socket_dir()
    defaults = {
        "AIRFLOW_HOME": str(s.local_dir / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "60",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "AIRFLOW__API__EXPOSE_CONFIG": "False",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        # LocalExecutor workers start from a forkserver that has dbt and Cosmos imported,
        # and fork each task from there: a dbt model's task no longer spends about 1.8 s
        # importing them (measured on 2 cores, a transform triggered on a live scheduler,
        # one month at scale 0.0005: the dbt part 62-66 s before, 45 s after).
        "AIRFLOW__SCHEDULER__MP_START_METHOD": "forkserver",
        "AIRFLOW__CORE__MP_FORKSERVER_PRELOAD": ",".join(TASK_PRELOAD),
        # No phoning home: the machines running this have no general internet access.
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        # OpenLineage events of every task (Cosmos adds dbt's inputs and outputs) to a
        # local file; a deployment points the transport at Marquez or another backend.
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "cakupan",
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(openlineage_file()), "append": True}
        ),
        # Cosmos's plugin: the dbt docs cakupan_report writes, under Browse in the UI.
        "AIRFLOW__COSMOS__DBT_DOCS_PROJECTS": json.dumps(
            {"cakupan": {"dir": str(s.dbt_docs_dir), "name": "dbt docs"}}
        ),
        "CAKUPAN_HOME": str(PROJECT_ROOT),
        "CAKUPAN_LOCAL_DIR": str(s.local_dir),
    }
    external = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW_CONN_WAREHOUSE"}
    if not external <= set(os.environ) and not embedded.is_running():
        # Airflow would quietly fall back to a SQLite metadata database of its own.
        raise ConfigurationError(
            "the warehouse is not running: start it with `make warehouse` (or `cakupan "
            "warehouse up`), or point AIRFLOW__DATABASE__SQL_ALCHEMY_CONN and "
            "AIRFLOW_CONN_WAREHOUSE at your own PostgreSQL"
        )
    if sock:
        defaults["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = sqlalchemy_url(
            embedded.running_server_uri("airflow")
        )
        defaults["AIRFLOW_CONN_WAREHOUSE"] = embedded.airflow_conn_uri("warehouse")
        for duty, role in DUTY_ROLES.items():
            defaults[f"AIRFLOW_CONN_{airflow_conn_id(duty).upper()}"] = embedded.airflow_conn_uri(
                "warehouse", user=role
            )
    # Tasks read the key from the connection only (pseudonymise.py): give it the key
    # the CLI would use, wherever that comes from.
    from cakupan.pseudonymise import resolve_key

    key = resolve_key(default_key_file=nik_key_file()).decode()
    defaults["AIRFLOW_CONN_CAKUPAN_NIK_HMAC"] = json.dumps(
        {"conn_type": "generic", "password": key}
    )
    env = dict(os.environ)
    for name, value in defaults.items():
        env.setdefault(name, value)
    return env
