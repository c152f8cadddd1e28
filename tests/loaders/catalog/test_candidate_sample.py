"""The Catalog page's smaller candidate sample: skills come from the latest sample_rows failures only, the
counts still cover the whole window."""
from __future__ import annotations

from datetime import timedelta

from core.types import utcnow
from loaders.catalog.candidates import get_candidate_patterns
from loaders.ingest.pipeline import IngestPipeline


def test_sample_rows_bounds_skills_not_counts(engine, metrics):
    now = utcnow()
    events = [{"tenant_id": "t1", "run_id": f"r{i}", "skill_id": f"skill-{i}",
               "error_message": f"gizmo wobbled on lever {i}",
               "occurred_at": (now - timedelta(minutes=10 * (i + 1))).isoformat()} for i in range(8)]
    assert IngestPipeline(engine, metrics=metrics).ingest(events).inserted == 8
    with engine.connect() as conn:
        full = get_candidate_patterns(conn, tenant_id="t1", start=now - timedelta(days=1), end=now)
        small = get_candidate_patterns(conn, tenant_id="t1", start=now - timedelta(days=1), end=now,
                                       sample_rows=3)
    assert len(full) == len(small) == 1
    assert full["occurrences"].iloc[0] == small["occurrences"].iloc[0] == 8
    assert sorted(full["affected_skills"].iloc[0]) == sorted(f"skill-{i}" for i in range(8))
    assert sorted(small["affected_skills"].iloc[0]) == ["skill-0", "skill-1", "skill-2"]  # the 3 latest
