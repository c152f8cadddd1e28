"""Synthetic validation: expected vs stored, read back from the database, on both engines."""
from __future__ import annotations

from sqlalchemy import delete, func, select

from core.schema import failure_matches, failure_rollups
from demo import validate as validate_mod
from demo.validate import CHECKS, run_validation


def _count(engine, *where):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(failure_matches).where(*where)).scalar_one()


def test_validation_passes_and_reads_real_rows(engine, metrics):
    # Data of another tenant must not leak into the validation counts.
    from loaders.ingest.pipeline import IngestPipeline

    IngestPipeline(engine, metrics=metrics).ingest(
        [{"tenant_id": "other", "run_id": "r", "error_message": "connection refused"}] * 3
    )
    result = run_validation(engine, events=1000, seed=7, metrics=metrics)
    assert result.ok, result.table()
    assert [r.check for r in result.rows] == list(CHECKS)
    fm = failure_matches
    t = fm.c.tenant_id == result.tenant_id
    assert result.tenant_id.startswith("validate-")
    stored = {r.check: r.stored for r in result.rows}
    expected = {r.check: r.expected for r in result.rows}
    # Independent counts straight from the tables.
    assert stored["persisted"] == _count(engine, t) == 1000
    assert stored["matched"] == _count(engine, t, fm.c.catalog_entry_id.is_not(None))
    assert stored["unmatched"] == _count(engine, t, fm.c.catalog_entry_id.is_(None)) > 0
    assert stored["recovery_attempted"] == _count(engine, t, fm.c.recovery_attempted.is_(True)) > 0
    assert stored["recovery_succeeded"] == _count(engine, t, fm.c.recovery_succeeded.is_(True)) > 0
    assert 100 <= expected["unmatched"] <= 200
    assert _count(engine, fm.c.tenant_id == "other") == 3
    assert "expected" in result.table() and "DIFF" not in result.table()


def test_validation_reports_differences(engine, metrics, monkeypatch):
    real = validate_mod.apply_recoveries

    def lose_one(engine_, planned, **kw):
        planned = list(planned)
        return real(engine_, planned[1:], **kw)  # one planned recovery never reaches the database

    monkeypatch.setattr(validate_mod, "apply_recoveries", lose_one)
    result = run_validation(engine, events=200, seed=3, metrics=metrics)
    assert not result.ok
    bad = {r.check for r in result.rows if not r.ok}
    assert "recovery_attempted" in bad and "rollup_recovery_attempts" in bad
    assert "DIFF" in result.table()


def test_validation_detects_lost_rows(engine, metrics, monkeypatch):
    real_stored = validate_mod._stored_counts

    def after_loss(engine_, tenant_id, codes):
        with engine_.begin() as conn:
            victim = conn.execute(
                select(failure_matches.c.id).where(failure_matches.c.tenant_id == tenant_id).limit(1)
            ).scalar_one()
            conn.execute(delete(failure_matches).where(failure_matches.c.id == victim))
        return real_stored(engine_, tenant_id, codes)

    monkeypatch.setattr(validate_mod, "_stored_counts", after_loss)
    result = run_validation(engine, events=100, seed=4, metrics=metrics)
    rows = {r.check: r for r in result.rows}
    assert not rows["persisted"].ok and rows["persisted"].stored == rows["persisted"].expected - 1
    assert rows["rollup_failures"].ok  # the rollups still count the lost row: the table shows the mismatch
    with engine.connect() as conn:
        assert conn.execute(select(func.sum(failure_rollups.c.failures)).where(
            failure_rollups.c.tenant_id == result.tenant_id)).scalar_one() == 100
