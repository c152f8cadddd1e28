"""The candidate grouping reads an index of failure_matches, never the whole table (EXPLAIN on both engines)."""
from __future__ import annotations

from datetime import timedelta

from core.types import utcnow
from loaders.catalog.candidates import candidate_groups_query
from tests.queries.test_ops_indexes import _plan
from tests.support.exports import seed_failures


def test_candidate_grouping_uses_indexes(engine):
    seed_failures(engine)
    end = utcnow()
    start = end - timedelta(days=7)
    if engine.dialect.name == "postgresql":
        # Fresh statistics: with stale ones the planner may pick the plain time index by chance.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE failure_matches")
    with engine.begin() as conn:
        scoped = _plan(conn, candidate_groups_query(tenant_id="t1", start=start, end=end))
        assert "ix_fm_unmatched" in scoped or "ix_fm_tenant_signature_created" in scoped, scoped
        everyone = _plan(conn, candidate_groups_query(tenant_id=None, start=start, end=end))
        assert "ix_fm_" in everyone, everyone
