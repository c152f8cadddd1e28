"""The embedded SQLite default serves like a database: WAL and sized caches on every connection, and planner
statistics kept after migrate, seed, large ingests and retention, so lookups take their indexes."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core import db
from core.db import make_engine
from core.schema import failure_matches as fm
from core.types import utcnow
from loaders.ingest.pipeline import IngestPipeline
from loaders.migrate import migrate


@pytest.fixture
def sqlite_engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'stats.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def _stats(engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.exec_driver_sql("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'failure_matches'").all())


def test_every_connection_gets_the_serving_pragmas(sqlite_engine):
    with sqlite_engine.connect() as conn:
        got = {p: conn.exec_driver_sql(f"PRAGMA {p}").scalar() for p in
               ("journal_mode", "synchronous", "cache_size", "mmap_size", "temp_store", "foreign_keys")}
    assert got == {"journal_mode": "wal", "synchronous": 1, "cache_size": -65536, "mmap_size": 268435456,
                   "temp_store": 2, "foreign_keys": 1}


def test_large_ingests_refresh_the_statistics_and_the_run_index_is_used(sqlite_engine, monkeypatch):
    monkeypatch.setattr(db, "STATS_EVERY_ROWS", 300)
    now = utcnow()
    events = [{"tenant_id": "acme", "run_id": f"run-{i % 40}", "error_code": "NET_TIMEOUT",
               "error_message": f"read timed out after {i} ms", "occurred_at": (now - timedelta(minutes=i)).isoformat()}
              for i in range(400)]
    IngestPipeline(sqlite_engine, batch_size=100).ingest(events)
    stats = _stats(sqlite_engine)
    assert int(stats["ix_fm_tenant_run"].split()[0]) >= 300  # rows counted when the statistics were taken
    query = select(fm.c.id).where(fm.c.tenant_id == "acme", fm.c.run_id == "run-7").order_by(fm.c.created_at.desc())
    with sqlite_engine.connect() as conn:
        sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
        plan = " ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    assert "ix_fm_tenant_run" in plan, plan


def test_postgresql_is_left_to_autovacuum(engine):
    db.refresh_statistics(engine)  # a no-op there, never an error
    db.note_rows_written(engine, 10**6)
