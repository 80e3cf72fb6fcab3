"""Settings from the environment, with defaults that make a fresh checkout work.

Every setting is an environment variable so that an operator can point the
pipeline at other storage or another warehouse without touching code, and every
one is read here and nowhere else (the README's configuration table lists them).
A wrong value is an operator mistake: ConfigurationError, with the fix.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from cakupan.errors import ConfigurationError

PROJECT_ROOT = Path(os.environ.get("CAKUPAN_HOME", Path(__file__).resolve().parents[2]))


@dataclass(frozen=True)
class Settings:
    local_dir: Path
    landing_uri: str
    regions_uri: str
    report_dir: Path
    # dbt docs as the Airflow UI shows them (Cosmos's dbt docs view reads this folder).
    dbt_docs_dir: Path
    # Source overrides per dataset (CAKUPAN_SOURCE_<DATASET>).
    source_overrides: dict[str, str]
    # The warehouse: a libpq DSN for the CLI, else Airflow's connection URI; None: the
    # embedded server.
    warehouse_dsn: str | None
    airflow_warehouse_uri: str | None
    # Per duty (loader, transformer, bi): its own DSN, where it logs in with a password,
    # and the password `cakupan warehouse migrate` gives its role.
    duty_dsns: dict[str, str] = field(repr=False)
    duty_passwords: dict[str, str] = field(repr=False)
    # The NIK key outside Airflow (kept out of repr: settings get logged).
    nik_hmac_key: str | None = field(repr=False)
    nik_hmac_key_file: str | None
    asset_authority: str
    asset_database: str
    max_reject_ratio: float
    progress_every_s: float
    max_quarantine_rows: int
    max_line_bytes: int
    first_period: str
    months_ahead: int
    min_edition_share: float
    max_population_change: float
    publish_lock_timeout_s: float
    publish_max_wait_s: float
    startup_timeout_s: float
    # The embedded server's TCP port on localhost (for BI tools); None: its socket only.
    warehouse_port: int | None
    retention_months: int
    # Failure e-mails: recipients, and the Airflow SMTP connection that sends them.
    alert_emails: tuple[str, ...]
    alert_smtp_conn_id: str
    dbt_execution_mode: str

    @property
    def pgdata(self) -> Path:
        return self.local_dir / "pgdata"

    @property
    def secrets_dir(self) -> Path:
        return self.local_dir / "secrets"

    def source_uri(self, dataset: str) -> str:
        """Where a dataset's extracts land: CAKUPAN_SOURCE_<DATASET> or <landing>/<dataset>."""
        if dataset in self.source_overrides:
            return self.source_overrides[dataset]
        if dataset == "regions":
            return self.regions_uri
        return f"{self.landing_uri.rstrip('/')}/{dataset}"


def _number(name: str, default: str, kind: type = float, low: float = 0.0, high=None):
    """A numeric setting; a wrong value is an operator mistake with a clear message."""
    text = os.environ.get(name, default)
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        bounds = f"{low:g} to {high:g}" if high is not None else f"at least {low:g}"
        kind_name = "a whole number" if kind is int else "a number"
        raise ConfigurationError(f"{name} must be {kind_name}, {bounds}; got {text!r}")
    return value


# How Cosmos runs dbt in the transform DAG: a `dbt build` per model task (local), or one
# `dbt build` whose per-model tasks follow its events (watcher; Cosmos calls it new).
DBT_EXECUTION_MODES = ("local", "watcher")


def _choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default)
    if value not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def _secret(name: str) -> str | None:
    """A secret from NAME, or from the file named by NAME_FILE (a Docker or Kubernetes
    secret); never both, so that which one wins is never a surprise."""
    value, path = os.environ.get(name), os.environ.get(f"{name}_FILE")
    if value and path:
        raise ConfigurationError(f"set {name} or {name}_FILE, not both")
    if not path:
        return value or None
    try:
        text = Path(path).read_text().strip()
    except OSError as exc:
        raise ConfigurationError(f"{name}_FILE: cannot read {path}: {exc.strerror}") from None
    if not text:
        raise ConfigurationError(f"{name}_FILE: {path} is empty")
    return text


def settings() -> Settings:
    from cakupan.contracts import DATASETS

    env = os.environ
    local_dir = Path(env.get("CAKUPAN_LOCAL_DIR", PROJECT_ROOT / ".local")).resolve()
    first_period = env.get("CAKUPAN_FIRST_PERIOD", "2014-01")
    if not re.fullmatch(r"(19|20)\d{2}-(0[1-9]|1[0-2])", first_period):
        raise ConfigurationError(f"CAKUPAN_FIRST_PERIOD must be YYYY-MM; got {first_period!r}")
    overrides = {
        name: env[f"CAKUPAN_SOURCE_{name.upper()}"]
        for name in DATASETS
        if env.get(f"CAKUPAN_SOURCE_{name.upper()}")
    }
    return Settings(
        local_dir=local_dir,
        landing_uri=env.get("CAKUPAN_LANDING_URI", str(local_dir / "landing")),
        regions_uri=env.get("CAKUPAN_REGIONS_URI", str(PROJECT_ROOT / "sample_data" / "reference")),
        report_dir=Path(env.get("CAKUPAN_REPORT_DIR", local_dir / "report")),
        dbt_docs_dir=Path(env.get("CAKUPAN_DBT_DOCS_DIR", local_dir / "dbt_docs")),
        source_overrides=overrides,
        warehouse_dsn=env.get("CAKUPAN_WAREHOUSE_DSN") or None,
        airflow_warehouse_uri=env.get("AIRFLOW_CONN_WAREHOUSE") or None,
        duty_dsns={
            duty: env[f"CAKUPAN_{duty.upper()}_DSN"]
            for duty in ("loader", "transformer", "bi")
            if env.get(f"CAKUPAN_{duty.upper()}_DSN")
        },
        duty_passwords={
            duty: password
            for duty in ("loader", "transformer", "bi")
            if (password := _secret(f"CAKUPAN_{duty.upper()}_PASSWORD"))
        },
        nik_hmac_key=env.get("CAKUPAN_NIK_HMAC_KEY") or None,
        nik_hmac_key_file=env.get("CAKUPAN_NIK_HMAC_KEY_FILE") or None,
        asset_authority=env.get("CAKUPAN_ASSET_AUTHORITY", "localhost:5432"),
        asset_database=env.get("CAKUPAN_ASSET_DATABASE", "warehouse"),
        max_reject_ratio=_number("CAKUPAN_MAX_REJECT_RATIO", "0.05", high=1.0),
        progress_every_s=_number("CAKUPAN_PROGRESS_EVERY_S", "5"),
        max_quarantine_rows=_number("CAKUPAN_MAX_QUARANTINE_ROWS", "100000", int, 1),
        max_line_bytes=_number("CAKUPAN_MAX_LINE_BYTES", str(32 << 20), int, 1024),
        # BPJS Ketenagakerjaan operates from 1 January 2014 (UU 24/2011, art. 62).
        first_period=first_period,
        months_ahead=_number("CAKUPAN_MONTHS_AHEAD", "1", int, 0, 24),
        min_edition_share=_number("CAKUPAN_MIN_EDITION_SHARE", "0.9", high=1.0),
        max_population_change=_number("CAKUPAN_MAX_POPULATION_CHANGE", "0.1"),
        publish_lock_timeout_s=_number("CAKUPAN_PUBLISH_LOCK_TIMEOUT_S", "2", low=0.1),
        publish_max_wait_s=_number("CAKUPAN_PUBLISH_MAX_WAIT_S", "900"),
        startup_timeout_s=_number("CAKUPAN_STARTUP_TIMEOUT_S", "3600"),
        warehouse_port=_number("CAKUPAN_WAREHOUSE_PORT", "0", int, 0, 65535) or None,
        retention_months=_number("CAKUPAN_RETENTION_MONTHS", "24", int, 1),
        alert_emails=tuple(
            a.strip() for a in env.get("CAKUPAN_ALERT_EMAIL", "").split(",") if a.strip()
        ),
        alert_smtp_conn_id=env.get("CAKUPAN_ALERT_SMTP_CONN_ID", "smtp_default"),
        dbt_execution_mode=_choice("CAKUPAN_DBT_EXECUTION_MODE", "local", DBT_EXECUTION_MODES),
    )
