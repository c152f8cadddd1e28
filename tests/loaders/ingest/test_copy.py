"""Big batches take the COPY path on PostgreSQL; stored values must equal what the INSERT path stores, and the
straight COPY of new rows falls back to the stage when a row was stored after all."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.ids import event_failure_id
from core.schema import failure_matches
from core.types import utcnow
from loaders.catalog.matcher import Matcher
from loaders.ingest.copy import copy_insert
from loaders.ingest.events import FailureEvent
from loaders.ingest.pipeline import IngestPipeline, build_row
from loaders.ingest.writers import COPY_MIN_ROWS
from queries.failures.partitions import ensure_for_times, is_missing_partition

TRICKY = [
    "tab\there", "new\nline", "carriage\rreturn", "back\\slash \\N \\t", 'quotes \' " `', "ünïcødé ✓ 日本",
    "trailing space ", "comma, semi; pipe|", "\\", "percent % and underscore _",
]


def test_copy_path_stores_exact_values(engine, metrics):
    events = []
    for i in range(COPY_MIN_ROWS + 50):
        text = TRICKY[i % len(TRICKY)]
        events.append({
            "id": str(uuid.uuid4()), "tenant_id": "t-copy", "run_id": f"r{i}", "error_message": f"{text} #{i}",
            "skill_id": text.strip() or None, "step_index": i % 5 if i % 3 else None,
            "context": {"text": text, "n": i, "nested": {"list": [1, "a\tb", None]}} if i % 2 else None,
        })
    report = IngestPipeline(engine, metrics=metrics, batch_size=len(events)).ingest(events)
    assert report.inserted == len(events)
    with engine.connect() as conn:
        query = select(failure_matches).where(failure_matches.c.tenant_id == "t-copy")
        rows = {str(r.id): r for r in conn.execute(query)}
    assert len(rows) == len(events)
    for e in events:
        row = rows[str(event_failure_id(e["tenant_id"], uuid.UUID(e["id"])))]
        assert row.error_message == e["error_message"]
        assert row.skill_id == e["skill_id"]
        assert row.step_index == e["step_index"]
        assert row.context == e["context"]
        assert row.created_at.tzinfo is not None and row.recovery_succeeded is None
        assert row.recovery_attempted is False and row.version == 1
    again = IngestPipeline(engine, metrics=metrics, batch_size=len(events)).ingest(events)
    assert (again.inserted, again.duplicates) == (0, len(events))



def _rows(n: int, tenant: str) -> list[dict]:
    now = utcnow()
    return [build_row(FailureEvent.model_validate({"tenant_id": tenant, "run_id": f"r{i}",
                                                   "error_message": f"fresh path #{i}"}), Matcher([]), now)
            for i in range(n)]


def test_fresh_copy_falls_back_when_a_row_is_stored_already(pg_engine):
    rows = _rows(300, "t-fresh")
    ensure_for_times(pg_engine, [r["created_at"] for r in rows])
    with pg_engine.begin() as conn:  # straight COPY: every id is new
        assert copy_insert(conn, rows[:200], fresh=True) == {r["id"] for r in rows[:200]}
    with pg_engine.begin() as conn:  # rows 100-199 are stored: the COPY is undone and the stage path skips them
        assert copy_insert(conn, rows[100:], fresh=True) == {r["id"] for r in rows[200:]}
    with pg_engine.connect() as conn:
        stored = conn.execute(select(func.count(), func.count(func.distinct(failure_matches.c.id)))
                              .where(failure_matches.c.tenant_id == "t-fresh")).one()
    assert tuple(stored) == (300, 300)


def test_fresh_copy_reports_a_missing_partition_as_the_insert_would(pg_engine):
    rows = _rows(5, "t-fresh")
    for r in rows:
        r["created_at"] = r["created_at"] - timedelta(days=3650)  # no partition that far back
    with pg_engine.connect() as conn, pytest.raises(IntegrityError) as caught:
        copy_insert(conn, rows, fresh=True)
    assert is_missing_partition(caught.value)
