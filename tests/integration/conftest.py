"""Fixtures shared by the integration tests."""

from __future__ import annotations

import psycopg
import pytest

from cakupan.generate import generate
from cakupan.loader import load_extract
from cakupan.publish import publish
from cakupan.quality import run_gate
from cakupan.warehouse import duty_dsn, grant_database
from tests.conftest import POPULATION_CSV
from tests.helpers import run_dbt


@pytest.fixture
def published(dsn, key, tmp_path):
    """Two good months of Belitung Timur built, audited and published."""
    landing = tmp_path / "landing"
    generate(landing, "2025-01", "2025-03", seed=3, scale=0.2, regions=["19.06"])
    load_extract(dsn, "population", str(POPULATION_CSV))
    load_extract(
        dsn,
        "working_population",
        str(landing / "working_population" / "working_population_2025-S1.csv"),
    )
    for month in ("2025-01", "2025-02"):
        load_extract(
            dsn, "enrollment", str(landing / "enrollment" / f"enrollment_{month}.csv.gz"), key=key
        )
    run_dbt(dsn, tmp_path / "target", "build")
    gate = run_gate(dsn, "good-run")
    assert gate.passed, gate.summary()
    counts = publish(dsn, "good-run")
    assert counts["coverage_by_regency"] == 2
    return landing


@pytest.fixture
def duties(dsn):
    """A DSN per duty (loader, transformer, bi) on the test's database, each its own role."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        grant_database(conn)  # a copied database does not inherit the template's grants
    return {duty: duty_dsn(duty, base=dsn) for duty in ("loader", "transformer", "bi")}
