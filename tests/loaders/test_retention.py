"""Retention removes old rows (failures, history, rollups) and keeps recent ones consistent."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from core.schema import failure_matches, failure_rollups, recovery_events
from core.types import utcnow
from loaders.ingest.pipeline import IngestPipeline
from loaders.retention import apply_retention
from queries.failures.recovery import mark_recovery


def _count(engine, table, column=None):
    with engine.connect() as conn:
        expr = func.sum(column) if column is not None else func.count()
        return conn.execute(select(expr).select_from(table)).scalar() or 0


def test_retention_deletes_old_rows_in_batches(engine, metrics, long_retention):
    now = utcnow()
    old = [{"tenant_id": "t1", "run_id": f"old{i}", "error_message": "connection refused",
            "occurred_at": (now - timedelta(days=100, minutes=i)).isoformat()} for i in range(7)]
    new = [{"tenant_id": "t1", "run_id": f"new{i}", "error_message": "connection refused",
            "occurred_at": (now - timedelta(days=1, minutes=i)).isoformat()} for i in range(3)]
    report = IngestPipeline(engine, metrics=metrics).ingest(old + new)
    assert report.inserted == 10
    with engine.begin() as conn:
        old_id = conn.execute(select(failure_matches.c.id).where(failure_matches.c.run_id == "old0")).scalar()
        mark_recovery(conn, failure_id=old_id, succeeded=True, recovered_by="ops")

    result = apply_retention(engine, days=90, batch_size=3)

    assert result.failures == 7
    assert result.recovery_events == 1
    assert _count(engine, failure_matches) == 3
    assert _count(engine, recovery_events) == 0
    # Rollups still add up to the rows that remain.
    assert _count(engine, failure_rollups, failure_rollups.c.failures) == 3
