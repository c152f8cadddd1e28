"""The ingest pipeline stores, matches and rolls up events on both engines."""
from __future__ import annotations

from sqlalchemy import func, select

from core.schema import failure_matches, failure_rollups
from loaders.ingest.pipeline import IngestPipeline


def test_ingest_stores_matches_and_rollups(engine, metrics):
    pipeline = IngestPipeline(engine, metrics=metrics)
    report = pipeline.ingest([
        {"tenant_id": "t1", "run_id": "r1", "error_message": "connect ECONNREFUSED 10.0.0.1:5432"},
        {"tenant_id": "t1", "run_id": "r1", "error_message": "something odd 1234"},
        {"tenant_id": "t1"},
    ])
    assert (report.inserted, report.matched, report.unmatched, report.rejected) == (2, 1, 1, 1)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(failure_matches)).scalar() == 2
        assert conn.execute(select(func.sum(failure_rollups.c.failures))).scalar() == 2
    assert metrics.registry.get_sample_value(
        "failure_match_hits_total", {"error_code": "NET_CONNECTION_REFUSED", "category": "TRANSIENT_NETWORK"}
    ) == 1


def test_unstorable_text_refuses_only_that_event(engine, metrics):
    """A NUL character (PostgreSQL text cannot hold it) refuses its own event, not the whole batch."""
    report = IngestPipeline(engine, metrics=metrics).ingest([
        {"tenant_id": "t1", "run_id": "r1", "error_message": "bad \x00 byte"},
        {"tenant_id": "t1", "run_id": "r2", "error_message": "fine", "context": {"k": "v\x00"}},
        {"tenant_id": "t1", "run_id": "r3", "error_message": "connection refused"},
    ])
    assert report.inserted == 1
    assert [(e.position, e.field) for e in report.errors] == [(1, "error_message"), (2, "context")]
    with engine.connect() as conn:
        assert conn.execute(select(failure_matches.c.run_id)).scalars().all() == ["r3"]
