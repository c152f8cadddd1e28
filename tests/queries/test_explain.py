"""At 200k rows on PostgreSQL the product's main queries use their indexes (EXPLAIN (FORMAT JSON)).

The statements are the ones the product builds (queries.failures.listing, queries.reports.stats,
queries.failures.oncall), so a change there that loses its index fails here.
"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.dialects import postgresql

from bench.explain import parent_names
from core.db import make_engine
from core.schema import failure_matches, failure_rollups
from core.types import utcnow
from queries.failures.filters import FailureFilter
from queries.failures.listing import list_failures_query, list_unrecovered_query
from queries.failures.oncall import unrecovered_queue_query
from queries.failures.partitions import ensure_partitions
from queries.reports.stats import raw_query, rollup_query

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROWS = 200_000
TENANTS = 20

# Rows are made by the server (one INSERT ... SELECT generate_series), so 200k take seconds: 20 tenants
# (skewed), 90 days, codes from the catalog, ~15% unmatched, ~60% recovery attempted.
_FILL = text(
    """
    WITH codes AS (
        SELECT row_number() OVER (ORDER BY id) - 1 AS i, id, code, category, severity, recovery_mode, is_retryable
        FROM catalog_entries WHERE enabled
    ), k AS (SELECT count(*) AS n FROM codes),
    g AS (
        SELECT s, random() < 0.15 AS miss,
               floor(random() * (SELECT n FROM k))::int AS ci,
               floor(power(random(), 1.5) * :tenants)::int AS ti,
               now() - random() * interval '90 days' AS ts
        FROM generate_series(1, :rows) AS s
    )
    INSERT INTO failure_matches (id, run_id, tenant_id, error_code, error_message, signature, catalog_entry_id,
        match_type, confidence, category, severity, severity_rank, recovery_mode, skill_id, step_index,
        is_retryable, recovery_attempted, recovery_succeeded, context, created_at, updated_at, version)
    SELECT gen_random_uuid(), 'run-' || (g.s / 4), 'tenant-' || lpad(g.ti::text, 2, '0'),
           CASE WHEN g.miss THEN 'UNKNOWN' ELSE c.code END,
           CASE WHEN g.miss THEN 'widget frobnication failed for batch ' || g.s ELSE c.code || ' at ' || g.s END,
           md5((g.s % 500)::text)::varchar(16),
           CASE WHEN g.miss THEN NULL ELSE c.id END,
           CASE WHEN g.miss THEN 'none' ELSE 'code' END, CASE WHEN g.miss THEN 0 ELSE 1 END,
           CASE WHEN g.miss THEN NULL ELSE c.category END, CASE WHEN g.miss THEN NULL ELSE c.severity END,
           CASE WHEN g.miss THEN 5 ELSE CASE c.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1
                WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END END,
           CASE WHEN g.miss THEN NULL ELSE c.recovery_mode END,
           'skill-' || (g.s % 25), g.s % 12, CASE WHEN g.miss THEN false ELSE c.is_retryable END,
           (g.s % 10) < 6, CASE WHEN (g.s % 10) < 6 THEN (g.s % 10) < 4 ELSE NULL END,
           jsonb_build_object('n', g.s), g.ts, g.ts, 1
    FROM g JOIN codes c ON c.i = g.ci
    """
)
_ROLLUPS = text(
    """
    INSERT INTO failure_rollups (tenant_id, bucket, error_code, category, severity, recovery_mode, matched,
                                 failures, recovery_attempts, recovery_successes)
    SELECT tenant_id, date_trunc('hour', created_at), error_code, coalesce(category, ''), coalesce(severity, ''),
           coalesce(recovery_mode, ''), catalog_entry_id IS NOT NULL, count(*),
           count(*) FILTER (WHERE recovery_attempted), count(*) FILTER (WHERE recovery_succeeded IS TRUE)
    FROM failure_matches GROUP BY 1, 2, 3, 4, 5, 6, 7
    """
)


@pytest.fixture(scope="module")
def loaded(pg_url):
    """The session's PostgreSQL database with 200k failures, their rollups and fresh planner statistics,
    loaded once for this module and emptied afterwards (PostgreSQL only, like pg_engine)."""
    from tests.conftest import reset_database

    engine = make_engine(pg_url)
    reset_database(engine)
    with engine.begin() as conn:
        now = conn.execute(text("SELECT now()")).scalar_one()
        ensure_partitions(conn, now - timedelta(days=91), now)  # partitioned on PostgreSQL, no DEFAULT partition
        conn.execute(_FILL, {"rows": ROWS, "tenants": TENANTS})
        conn.execute(_ROLLUPS)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE failure_matches"))
        conn.execute(text("ANALYZE failure_rollups"))
        assert conn.execute(select(func.count()).select_from(failure_matches)).scalar_one() == ROWS
    yield engine
    reset_database(engine)
    engine.dispose()


def _nodes(plan: dict) -> list[dict]:
    out = [plan]
    for child in plan.get("Plans", []):
        out.extend(_nodes(child))
    return out


def explain(engine, query) -> list[dict]:
    """EXPLAIN (FORMAT JSON) of a SQLAlchemy statement with its bound parameters; returns the plan nodes."""
    compiled = query.compile(dialect=postgresql.dialect())
    with engine.connect() as conn:
        raw = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params).scalar_one()
        names = parent_names(conn)
    doc = raw if isinstance(raw, list) else json.loads(raw)
    nodes = _nodes(doc[0]["Plan"])
    # Partitions and their indexes are read under their parents' names (failure_matches, ix_fm_...); a scan
    # of a partition the planner knows to be empty (total cost 0) reads nothing and is left out.
    nodes = [n for n in nodes if not (n["Node Type"] == "Seq Scan" and n.get("Total Cost") == 0)]
    for n in nodes:
        for key in ("Relation Name", "Index Name"):
            if n.get(key) in names:
                n[key] = names[n[key]]
    return nodes


def _assert_indexed(nodes: list[dict], table: str, indexes: set[str]) -> None:
    seq = [n for n in nodes if n["Node Type"] == "Seq Scan" and n.get("Relation Name") == table]
    assert not seq, f"sequential scan on {table}: {json.dumps(nodes, indent=1)[:3000]}"
    # Bitmap Index Scan nodes name the index but not the table; index names are unique across tables.
    used = {n["Index Name"] for n in nodes if n.get("Index Name")}
    # Names are prefixes, so a more specific index of the same family (ix_fm_unrecovered_...) also counts.
    assert any(u.startswith(p) for u in used for p in indexes), f"expected {indexes} on {table}, plan used {used}"


def _busy_tenant(engine) -> str:
    with engine.connect() as conn:
        return conn.execute(
            select(failure_matches.c.tenant_id).group_by(failure_matches.c.tenant_id)
            .order_by(func.count().desc()).limit(1)
        ).scalar_one()


def test_main_list_uses_tenant_time_index(loaded):
    tenant, now = _busy_tenant(loaded), utcnow()
    query = list_failures_query(filt=FailureFilter(tenant_id=tenant, start=now - timedelta(days=7), end=now), limit=100)
    _assert_indexed(explain(loaded, query), "failure_matches", {"ix_fm_tenant_created"})
    # All tenants (an admin's view): the time index.
    query = list_failures_query(filt=FailureFilter(start=now - timedelta(days=7), end=now), limit=100)
    _assert_indexed(explain(loaded, query), "failure_matches", {"ix_fm_created"})


def test_stats_read_rollups_by_tenant_and_bucket(loaded):
    tenant, now = _busy_tenant(loaded), utcnow().replace(minute=0, second=0, microsecond=0)
    if now.hour == 0:  # seven whole days are read from the daily level alone; keep hourly edges to look at
        now -= timedelta(hours=1)
    nodes = explain(loaded, rollup_query(tenant_id=tenant, start=now - timedelta(days=7), end=now))
    _assert_indexed(nodes, "failure_rollups", {"ix_fr_tenant_bucket", "uq_failure_rollups_key"})
    assert not any(n.get("Relation Name") == "failure_matches" for n in nodes)
    # The partial-hour edges read raw rows through the tenant + time index.
    edge = raw_query(tenant_id=tenant, start=now, end=now + timedelta(minutes=30))
    _assert_indexed(explain(loaded, edge), "failure_matches", {"ix_fm_tenant_created"})


def test_unrecovered_queue_uses_partial_index(loaded):
    tenant, now = _busy_tenant(loaded), utcnow()
    query = list_unrecovered_query(tenant_id=tenant, start=now - timedelta(days=90), limit=50)
    _assert_indexed(explain(loaded, query), "failure_matches", {"ix_fm_unrecovered"})
    _assert_indexed(explain(loaded, unrecovered_queue_query(tenant_id=tenant, limit=50)), "failure_matches",
                    {"ix_fm_unrecovered"})
    _assert_indexed(explain(loaded, unrecovered_queue_query(tenant_id=None, limit=50)), "failure_matches",
                    {"ix_fm_unrecovered"})
    with loaded.connect() as conn:  # the data really has an unrecovered backlog for the index to serve
        backlog = select(func.count()).where(
            failure_matches.c.tenant_id == tenant, failure_matches.c.recovery_succeeded.is_not(True))
        assert conn.execute(backlog).scalar_one() > 1000
        assert conn.execute(select(func.count()).select_from(failure_rollups)).scalar_one() > 1000
