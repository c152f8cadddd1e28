"""Multi-batch ingest: the next batch is matched while the previous one is written (one writer thread);
reports stay in input order, every event is stored once, and a failing write surfaces in the caller."""
from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import func, select

from core.schema import failure_matches as fm
from core.schema import failure_rollups as fr
from core.types import utcnow
from loaders.ingest.pipeline import IngestPipeline


def _events(n: int) -> list[dict]:
    now = utcnow().isoformat()
    return [{"tenant_id": f"t{i % 3}", "run_id": f"r{i}", "error_message": f"connection refused #{i}",
             "occurred_at": now} for i in range(n)]


def test_many_small_batches_store_everything_in_order(engine, metrics):
    events = _events(23)
    events[5] = {"tenant_id": "t1"}  # invalid: reported, not stored, does not stop the others
    pipeline = IngestPipeline(engine, metrics=metrics, batch_size=4)
    report = pipeline.ingest(events)
    assert report.received == 23 and report.inserted == 22 and {e.position for e in report.errors} == {6}
    with engine.connect() as conn:
        stored = dict(conn.execute(select(fm.c.id, fm.c.run_id)).all())
        assert conn.execute(select(func.sum(fr.c.failures))).scalar() == 22
    # ids come back in input order (the invalid event has none)
    assert [stored[uuid.UUID(i)] for i in report.ids] == [f"r{i}" for i in range(23) if i != 5]


def test_a_write_error_reaches_the_caller_and_the_writer_thread_ends(engine, metrics, monkeypatch):
    pipeline = IngestPipeline(engine, metrics=metrics, batch_size=3)
    calls = {"n": 0}
    original = pipeline._insert

    def failing_insert(rows, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk on fire")
        return original(rows, **kwargs)

    monkeypatch.setattr(pipeline, "_insert", failing_insert)
    with pytest.raises(RuntimeError, match="disk on fire"):
        pipeline.ingest(_events(12))
    assert not [t for t in threading.enumerate() if t.name.startswith("failcat-ingest")]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(fm)).scalar() == 3  # the first batch only
