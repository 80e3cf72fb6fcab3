"""What dbt's manifest says about the marts: which exist and their columns. The one list
the quality gate, the publication and the mart Assets use (dbt_project/models/marts is
where marts are defined; `make manifest` writes the manifest)."""

from __future__ import annotations

import json
from functools import cache

from cakupan.dbt_env import MANIFEST

MART_SCHEMA = "marts_build"  # where dbt builds them; `marts` is where they are published


@cache
def mart_columns() -> dict[str, list[str]]:
    """mart name -> its columns, in contract order."""
    if not MANIFEST.exists():
        raise FileNotFoundError(f"{MANIFEST}: dbt's manifest is missing; run `make manifest`")
    nodes = json.loads(MANIFEST.read_text())["nodes"].values()
    return {
        n["name"]: list(n["columns"])
        for n in sorted(nodes, key=lambda n: n["name"])
        if n["resource_type"] == "model" and n["schema"] == MART_SCHEMA
    }
