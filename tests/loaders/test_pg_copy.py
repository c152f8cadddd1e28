"""Big batches take the COPY path on PostgreSQL; stored values must equal what the INSERT path stores."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from core.schema import failure_matches
from loaders.ingest import COPY_MIN_ROWS, IngestPipeline

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
        row = rows[e["id"]]
        assert row.error_message == e["error_message"]
        assert row.skill_id == e["skill_id"]
        assert row.step_index == e["step_index"]
        assert row.context == e["context"]
        assert row.created_at.tzinfo is not None and row.recovery_succeeded is None
        assert row.recovery_attempted is False and row.version == 1
    again = IngestPipeline(engine, metrics=metrics, batch_size=len(events)).ingest(events)
    assert (again.inserted, again.duplicates) == (0, len(events))
