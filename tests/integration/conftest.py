"""Fixtures shared by the integration tests."""

from __future__ import annotations

import psycopg
import pytest

from cakupan.generate import generate
from cakupan.warehouse import duty_dsn, grant_database
from tests.helpers import load_landing, transform_and_publish


@pytest.fixture
def published(dsn, key, tmp_path):
    """Two good months of Belitung Timur built, audited and published."""
    landing = tmp_path / "landing"
    generate(landing, "2025-01", "2025-03", seed=3, scale=0.2, regions=["19.06"])
    load_landing(dsn, landing, key, ("2025-01", "2025-02"))
    counts = transform_and_publish(dsn, tmp_path / "target", "good-run")
    assert counts["coverage_by_regency"] == 2
    return landing


@pytest.fixture
def duties(dsn):
    """A DSN per duty (loader, transformer, bi) on the test's database, each its own role."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        grant_database(conn)  # a copied database does not inherit the template's grants
    return {duty: duty_dsn(duty, base=dsn) for duty in ("loader", "transformer", "bi")}
