"""Raw and marts agree per month, whatever the timing: a reload that commits while the
transform runs is picked up by the next run, a month that leaves raw leaves the marts,
and the gate catches a month where they disagree."""

from __future__ import annotations

import gzip
import threading

import psycopg

from cakupan.generate import generate
from cakupan.loader import load_extract
from cakupan.partitions import StagingTable
from cakupan.quality import run_gate
from tests.helpers import load_landing, run_dbt


def per_month(dsn) -> dict[str, tuple]:
    """month -> (rows in raw, participants in the intermediate model, in the fact mart)."""
    with psycopg.connect(dsn) as conn:
        raw = dict(
            conn.execute(
                "select snapshot_month::text, count(*) from raw.enrollment_snapshot group by 1"
            )
        )
        inter = dict(
            conn.execute(
                """select snapshot_month::text, sum(registered_participants)
                   from intermediate.int_enrollment__regency_month group by 1"""
            )
        )
        fact = dict(
            conn.execute(
                """select period::text, sum(registered_participants)
                   from marts_build.coverage_by_segment group by 1"""
            )
        )
    months = sorted(set(raw) | set(inter) | set(fact))
    return {m: (raw.get(m), inter.get(m), fact.get(m)) for m in months}


def test_reload_committed_during_a_transform_is_not_missed(dsn, key, tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    generate(landing, "2025-01", "2025-03", seed=5, scale=0.05, regions=["19.06", "21.03"])
    load_landing(dsn, landing, key, ("2025-01", "2025-02"))
    month = landing / "enrollment" / "enrollment_{}.csv.gz"
    target = tmp_path / "target"
    run_dbt(dsn, target, "build")

    # A corrected February (Natuna's rows withdrawn) starts loading; its load id is taken
    # now, but it commits only after a later, shorter load and a whole transform.
    lines = gzip.decompress(month.with_name("enrollment_2025-02.csv.gz").read_bytes()).decode()
    resend = tmp_path / "resend" / "enrollment_2025-02.csv"
    resend.parent.mkdir()
    resend.write_text(
        "".join(line for line in lines.splitlines(keepends=True) if ",21.03." not in line)
    )
    # The reload is held while it still copies, before it takes the table's swap lock:
    # a later, shorter load and a whole transform run meanwhile.
    release, swapping = threading.Event(), threading.Event()
    real_lock = StagingTable.lock_parent

    def held_lock(staging):
        if staging.period == "2025-02-01":  # only the reload waits
            swapping.set()
            assert release.wait(300)
        real_lock(staging)

    monkeypatch.setattr(StagingTable, "lock_parent", held_lock)
    failures = []

    def run_reload():
        try:
            load_extract(dsn, "enrollment", str(resend), key=key)
        except Exception as exc:  # reported by the assertion below
            failures.append(exc)

    reload = threading.Thread(target=run_reload)
    reload.start()
    try:
        assert swapping.wait(120)
        march = load_extract(dsn, "enrollment", str(month).format("2025-03"), key=key)
        run_dbt(dsn, target, "build", "--select", "int_enrollment__regency_month+")
    finally:
        release.set()
        reload.join()
    assert failures == []
    with psycopg.connect(dsn) as conn:
        (reload_id,) = conn.execute(
            "select load_id from audit.extract_loads where file_name = 'enrollment_2025-02.csv'"
        ).fetchone()
    assert reload_id < march.load_id  # started first, committed last
    stale = per_month(dsn)["2025-02-01"]
    assert stale[0] < stale[1]  # raw has the reload, the marts do not yet

    run_dbt(dsn, target, "build", "--select", "int_enrollment__regency_month+")
    agreement = per_month(dsn)
    assert set(agreement) == {"2025-01-01", "2025-02-01", "2025-03-01"}
    assert all(r == i == f for r, i, f in agreement.values()), agreement
    gate = run_gate(dsn, "after-race")
    assert gate.passed, gate.summary()

    # The gate catches a month whose mart disagrees with what its load stored.
    with psycopg.connect(dsn) as conn:
        conn.execute(
            """update marts_build.coverage_by_segment
               set registered_participants = registered_participants + 1
               where period = '2025-02-01' and segment = 'PU'"""
        )
    gate = run_gate(dsn, "tampered")
    assert not gate.passed
    assert any(
        f.suite == "marts.coverage_by_segment"
        and "participants its load stored" in (f.description or "")
        for f in gate.critical
    ), gate.summary()

    # A month whose partition is withdrawn from raw leaves the marts at the next run.
    with psycopg.connect(dsn) as conn:
        conn.execute("drop table raw.enrollment_snapshot_p2025_03_01")
    run_dbt(dsn, target, "build", "--select", "int_enrollment__regency_month+")
    remaining = per_month(dsn)
    assert set(remaining) == {"2025-01-01", "2025-02-01"}
    with psycopg.connect(dsn) as conn:
        assert conn.execute(
            "select count(*) from marts_build.coverage_by_regency where period = '2025-03-01'"
        ).fetchone() == (0,)
