"""At 200k rows on PostgreSQL no statement a dashboard page runs reads failure_matches sequentially.

The statements are captured while the pages' loads run (bench.pages calls the same queries/ functions as
the dashboard loaders, with the pages' default arguments), for all tenants and for the busiest tenant, and
each is EXPLAINed with its own parameters. The recovery PATCH and the failure detail endpoint are covered
too; the API's list, stats and unrecovered queries are in tests/queries/test_explain.py.
"""
from __future__ import annotations

import pytest
from sqlalchemy import text

from bench import pages
from bench.explain import plan, seq_scans, statements_of
from bench.fill import fill
from queries.failures.listing import get_failure, recovery_history_rows
from queries.failures.recovery import mark_recovery

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROWS = 200_000


@pytest.fixture
def loaded(pg_engine):
    """pg_engine with ROWS synthetic failures, rollups and fresh statistics (bench.fill)."""
    fill(pg_engine, rows=ROWS)
    with pg_engine.connect() as conn:
        busy = conn.execute(text("SELECT tenant_id FROM failure_rollups GROUP BY tenant_id "
                                 "ORDER BY sum(failures) DESC LIMIT 1")).scalar_one()
        failure_id = pages.sample_failure(conn, busy)
    return pg_engine, busy, failure_id


def _offenders(engine, call) -> list[str]:
    stmts = statements_of(engine, call)
    assert stmts, "no statement captured"
    out = []
    with engine.connect() as conn:
        for stmt in stmts:
            found = seq_scans(plan(conn, stmt))
            if found:
                out.append(f"{stmt[0]}\n  -> {found}")
    return out


def test_no_page_or_endpoint_statement_scans_failure_matches(loaded):
    engine, busy, failure_id = loaded
    with engine.connect() as conn:  # the loads below really run against the filled rows
        assert conn.execute(text("SELECT count(*) FROM failure_matches")).scalar_one() == ROWS
        summary, queue = pages.oncall_failures(conn, busy, pages.utc_now())
        unrecovered = conn.execute(text("SELECT count(*) FROM failure_matches WHERE tenant_id = :t AND "
                                        "recovery_succeeded IS NOT TRUE"), {"t": busy}).scalar_one()
    assert int(summary["failures"].sum()) == unrecovered
    assert len(queue) == min(pages.QUEUE_LIMIT, unrecovered)
    offenders: dict[str, list[str]] = {}
    now = pages.utc_now()
    for name, (load, _naive) in pages.PAGES.items():
        extra = (failure_id,) if name == "failure_detail" else ()
        for tenant in (None, busy):
            found = _offenders(engine, lambda conn: load(conn, tenant, now, *extra))  # noqa: B023
            if found:
                offenders[f"{name} tenant={tenant}"] = found

    def patch(conn):  # what PATCH /failures/{id}/recovery runs (rolled back by statements_of)
        mark_recovery(conn, failure_id=failure_id, succeeded=True, recovered_by="explain", tenant_id=busy)
        get_failure(conn, failure_id=failure_id, tenant_id=busy)

    def detail(conn):  # GET /failures/{id}
        get_failure(conn, failure_id=failure_id, tenant_id=None)
        recovery_history_rows(conn, failure_id=failure_id, tenant_id=None)

    for name, call in (("PATCH recovery", patch), ("GET failure", detail)):
        found = _offenders(engine, call)
        if found:
            offenders[name] = found
    assert not offenders, "sequential scans of failure_matches:\n" + "\n".join(
        f"[{k}]\n" + "\n".join(v) for k, v in offenders.items())
