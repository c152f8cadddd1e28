"""Migrations 0005 and 0009 fill unmatched_signature_daily and _weekly from the unmatched raw rows (both engines)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine

from core.metrics import FailcatMetrics
from core.schema import failure_matches as fm
from core.schema import unmatched_signature_daily as usd
from core.schema import unmatched_signature_weekly as usw
from core.timebuckets import day_floor, week_floor
from core.types import utcnow
from loaders.ingest.pipeline import IngestPipeline
from loaders.migrate import alembic_config, upgrade_schema
from tests.support.databases import empty_database


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_engine(request, tmp_path) -> Iterator[Engine]:
    """A brand-new database of each kind migrated to head, removed afterwards."""
    with empty_database(request.param, tmp_path, "failcat_sigmig") as eng:
        upgrade_schema(eng)
        yield eng


def test_upgrade_backfills_from_unmatched_rows(fresh_engine):
    now = utcnow()
    # No catalog in this database: every event is unmatched; times straddle past midnights (never the future, which
    # validation refuses, whatever the hour the test runs at).
    events = [{"tenant_id": f"t{i % 3}", "run_id": f"r{i}", "error_message": f"gizmo {i % 4} failed at step {i}",
               "occurred_at": (day_floor(now) - timedelta(days=1 + (i % 3) * 4,
                                                          minutes=(i * 37) % 200 - 100)).isoformat()}
              for i in range(60)]  # the midnights 1, 5 and 9 days back: two or three weeks
    pipeline = IngestPipeline(fresh_engine, metrics=FailcatMetrics(), check_flag=False)
    assert pipeline.ingest(events).inserted == len(events)
    with fresh_engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
    with fresh_engine.connect() as conn:
        assert "unmatched_signature_daily" not in inspect(conn).get_table_names()
    upgrade_schema(fresh_engine)  # 0005 and 0009 again: the tables come back filled from failure_matches
    with fresh_engine.connect() as conn:
        raw = conn.execute(select(fm.c.tenant_id, fm.c.signature, fm.c.error_code, fm.c.created_at)
                           .where(fm.c.catalog_entry_id.is_(None))).all()
        stored = {table: conn.execute(select(table)).mappings().all() for table in (usd, usw)}
    for table, floor in ((usd, day_floor), (usw, week_floor)):
        expected: dict[tuple, list] = {}
        for t, s, c, ts in raw:
            key = (t, floor(ts), s, c)
            entry = expected.setdefault(key, [0, ts, ts])
            entry[0] += 1
            entry[1], entry[2] = min(entry[1], ts), max(entry[2], ts)
        got = {(r["tenant_id"], r["bucket"], r["signature"], r["error_code"]): [r["occurrences"], r["first_seen"],
                                                                              r["last_seen"]] for r in stored[table]}
        assert got == expected, table.name
        assert sum(Counter({k: v[0] for k, v in got.items()}).values()) == 60
    assert len({k[1] for k in got}) >= 2  # the weekly level has more than one week
