"""The on-call queue and the promotion scan use their partial indexes (EXPLAIN on both engines)."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite

from bench.explain import normalise_plan
from loaders.catalog.promotion import unmatched_batch_query
from queries.failures.oncall import unrecovered_queue_query
from tests.support.ops_seed import seed


def _plan(conn, query) -> str:
    dialect = postgresql.dialect() if conn.dialect.name == "postgresql" else sqlite.dialect()
    compiled = query.compile(dialect=dialect)
    if conn.dialect.name == "postgresql":
        # With a handful of rows the planner prefers a sequential scan; forbid it to see the index path.
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params))
        return normalise_plan(conn, plan)  # partition indexes read under their parents' names (ix_fm_...)
    params = tuple(compiled.params[k] for k in compiled.positiontup) if compiled.positiontup else ()
    return "\n".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params))


def test_queue_uses_unrecovered_index(engine):
    seed(engine)
    with engine.begin() as conn:
        assert "ix_fm_unrecovered" in _plan(conn, unrecovered_queue_query(tenant_id="t1"))
        assert "ix_fm_unrecovered" in _plan(conn, unrecovered_queue_query(tenant_id=None))


def test_promotion_scan_uses_unmatched_index(engine):
    seed(engine)
    with engine.begin() as conn:
        assert "ix_fm_unmatched" in _plan(conn, unmatched_batch_query(after=None))
