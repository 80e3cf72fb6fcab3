"""Settings from the environment, with defaults that make a fresh checkout work.

Every setting is an environment variable so that an operator can point the
pipeline at other storage or another warehouse without touching code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(os.environ.get("CAKUPAN_HOME", Path(__file__).resolve().parents[2]))


@dataclass(frozen=True)
class Settings:
    local_dir: Path
    landing_uri: str
    regions_uri: str
    max_reject_ratio: float
    progress_every_s: float

    @property
    def pgdata(self) -> Path:
        return self.local_dir / "pgdata"

    @property
    def report_dir(self) -> Path:
        return Path(os.environ.get("CAKUPAN_REPORT_DIR", self.local_dir / "report"))

    @property
    def secrets_dir(self) -> Path:
        return self.local_dir / "secrets"

    def source_uri(self, dataset: str) -> str:
        """Where a dataset's extracts land: CAKUPAN_SOURCE_<DATASET> or <landing>/<dataset>."""
        override = os.environ.get(f"CAKUPAN_SOURCE_{dataset.upper()}")
        if override:
            return override
        if dataset == "regions":
            return self.regions_uri
        return f"{self.landing_uri.rstrip('/')}/{dataset}"


def settings() -> Settings:
    local_dir = Path(os.environ.get("CAKUPAN_LOCAL_DIR", PROJECT_ROOT / ".local")).resolve()
    return Settings(
        local_dir=local_dir,
        landing_uri=os.environ.get("CAKUPAN_LANDING_URI", str(local_dir / "landing")),
        regions_uri=os.environ.get(
            "CAKUPAN_REGIONS_URI", str(PROJECT_ROOT / "sample_data" / "reference")
        ),
        max_reject_ratio=float(os.environ.get("CAKUPAN_MAX_REJECT_RATIO", "0.05")),
        progress_every_s=float(os.environ.get("CAKUPAN_PROGRESS_EVERY_S", "5")),
    )
