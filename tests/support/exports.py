"""Test data for exports: unmatched and matched failures for two tenants via the real ingest pipeline."""
from __future__ import annotations

from datetime import timedelta

from core.types import utcnow
from loaders.ingest.pipeline import IngestPipeline

# Unmatched messages (no catalog entry covers them); numbers vary so the signature groups them.
WIDGET = "widget frobnicator exploded at stage {n}"
QUOTA = "quota gate for gizmo plan tripped after {n} calls"
LONELY = "a lonely oddity {n}"


def seed_failures(engine, metrics=None) -> None:
    """t1: 4x WIDGET (skills s1/s2), 3x QUOTA; t2: 5x WIDGET (skill s3), 1x LONELY; plus matched ones."""
    now = utcnow()
    events = []
    for i in range(4):
        events.append({"tenant_id": "t1", "run_id": f"r{i}", "skill_id": "s1" if i < 3 else "s2",
                       "error_message": WIDGET.format(n=i), "occurred_at": (now - timedelta(hours=i + 1)).isoformat()})
    for i in range(3):
        events.append({"tenant_id": "t1", "run_id": f"q{i}", "skill_id": "billing",
                       "error_message": QUOTA.format(n=100 + i),
                       "occurred_at": (now - timedelta(hours=2)).isoformat()})
    for i in range(5):
        events.append({"tenant_id": "t2", "run_id": f"x{i}", "skill_id": "s3",
                       "error_message": WIDGET.format(n=50 + i),
                       "occurred_at": (now - timedelta(minutes=10 + i)).isoformat()})
    events.append({"tenant_id": "t2", "run_id": "y", "error_message": LONELY.format(n=1)})
    # Too old for a 7-day window.
    events.append({"tenant_id": "t1", "run_id": "old", "error_message": WIDGET.format(n=999),
                   "occurred_at": (now - timedelta(days=9)).isoformat()})
    for i in range(3):
        events.append({"tenant_id": "t1", "run_id": f"m{i}", "error_message": f"connect ECONNREFUSED 10.0.0.{i}:5432"})
        events.append({"tenant_id": "t2", "run_id": f"m{i}", "error_message": f"connect ECONNREFUSED 10.0.1.{i}:5432"})
    report = IngestPipeline(engine, metrics=metrics).ingest(events)
    assert report.inserted == len(events), report.errors
