"""queries.failures.listing: keyset paging, counts, one failure, the unrecovered queue, EXPLAIN on PostgreSQL."""
from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bench.explain import normalise_plan
from core.schema import failure_matches
from core.types import utcnow
from core.vocabulary import SEVERITY_RANK
from queries.failures.filters import FailureFilter, FilterError
from queries.failures.listing import (
    count_failures,
    count_failures_query,
    decode_cursor,
    encode_cursor,
    get_failure,
    get_recovery_history,
    list_failures,
    list_failures_query,
    list_unrecovered,
    list_unrecovered_query,
)
from queries.failures.partitions import ensure_partitions
from queries.failures.recovery import mark_recovery
from queries.reports.stats import raw_query, rollup_query
from tests.support.failures import CRITICAL_CODE, add_critical_entry, all_rows, event, hours_ago, ingest, mixed_events


def _newest_first(rows):
    return [str(r["id"]) for r in sorted(rows, key=lambda r: (r["created_at"], str(r["id"])), reverse=True)]


def test_keyset_pages_walk_every_row_newest_first(engine):
    ingest(engine, mixed_events())
    # Several rows with the very same created_at: the id breaks the tie.
    same = utcnow() - timedelta(minutes=1)
    ingest(engine, [{**event("t1"), "occurred_at": same.isoformat(), "run_id": f"same-{i}"} for i in range(5)])
    rows = all_rows(engine)
    expected = _newest_first(rows)
    seen, cursor = [], None
    with engine.connect() as conn:
        while True:
            page = list_failures(conn, filt=FailureFilter(), limit=7, cursor=cursor)
            assert len(page.rows) <= 7
            seen += list(page.rows["id"])
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == expected
        assert count_failures(conn, filt=FailureFilter()) == len(rows)
        # offset paging (compatibility) gives the same order
        off = list_failures(conn, filt=FailureFilter(), limit=5, offset=5)
        assert list(off.rows["id"]) == expected[5:10]
        assert str(off.rows["created_at"].dtype).startswith("datetime64") and "UTC" in str(off.rows["created_at"].dtype)


def test_filters_tenant_and_status(engine):
    ids = ingest(engine, mixed_events())
    rows = all_rows(engine)
    with engine.begin() as conn:
        mark_recovery(conn, failure_id=ids[1], succeeded=True, recovered_by="a")
        mark_recovery(conn, failure_id=ids[2], succeeded=False, recovered_by="a")
    with engine.connect() as conn:
        t2 = list_failures(conn, filt=FailureFilter(tenant_id="t2"), limit=1000).rows
        assert sorted(t2["id"]) == sorted(str(r["id"]) for r in rows if r["tenant_id"] == "t2")
        assert list(list_failures(conn, filt=FailureFilter(status="recovered")).rows["id"]) == [ids[1]]
        assert list(list_failures(conn, filt=FailureFilter(status="failed")).rows["id"]) == [ids[2]]
        assert count_failures(conn, filt=FailureFilter(status="unrecovered")) == len(rows) - 2
        assert count_failures(conn, filt=FailureFilter(status="open")) == len(rows) - 1
        assert count_failures(conn, filt=FailureFilter(matched=False)) == sum(
            1 for r in rows if r["catalog_entry_id"] is None)


# A fixed time: a test id built from the clock differs between pytest-xdist workers.
CURSOR_TIME = datetime(2026, 11, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["x", "!!!", encode_cursor(CURSOR_TIME, "1" * 32)[:-3] + "@@@", "e30", "W10",
                                 "a" * 500])
def test_bad_cursor_is_a_filter_error(bad):
    with pytest.raises(FilterError):
        decode_cursor(bad)
    with pytest.raises(FilterError):
        list_failures_query(filt=FailureFilter(), cursor=bad)


def test_limit_bounds():
    for bad in (0, 1001):
        with pytest.raises(FilterError):
            list_failures_query(filt=FailureFilter(), limit=bad)


def test_get_failure_scope_and_malformed(engine):
    ids = ingest(engine, [event("t1"), event("t2")])
    with engine.begin() as conn:
        mark_recovery(conn, failure_id=ids[0], succeeded=False, recovered_by="ops")
        mark_recovery(conn, failure_id=ids[0], succeeded=True, recovered_by="ops")
    with engine.connect() as conn:
        one = get_failure(conn, failure_id=ids[0], tenant_id="t1")
        assert one is not None and one["id"] == ids[0] and one["version"] == 3 and one["recovery_succeeded"] is True
        assert get_failure(conn, failure_id=ids[0], tenant_id="t2") is None
        assert get_failure(conn, failure_id=ids[1], tenant_id=None)["tenant_id"] == "t2"
        with pytest.raises(ValueError):
            get_failure(conn, failure_id="not-a-uuid", tenant_id=None)
        hist = get_recovery_history(conn, failure_id=ids[0], tenant_id="t1")
        assert list(hist["to_state"]) == ["failed", "recovered"]
        assert get_recovery_history(conn, failure_id=ids[0], tenant_id="t2").empty


def test_unrecovered_queue_most_severe_then_newest(engine):
    add_critical_entry(engine)
    ids = ingest(engine, mixed_events())
    with engine.begin() as conn:
        mark_recovery(conn, failure_id=ids[1], succeeded=True, recovered_by="a")
        mark_recovery(conn, failure_id=ids[5], succeeded=False, recovered_by="a")
    start = hours_ago(24)
    rows = [r for r in all_rows(engine) if r["recovery_succeeded"] is not True and r["created_at"] >= start]
    expected = [str(r["id"]) for r in sorted(rows, key=lambda r: (r["severity_rank"], -r["created_at"].timestamp()))]
    with engine.connect() as conn:
        got = list_unrecovered(conn, tenant_id=None, start=start, limit=50)
        assert list(got["id"]) == expected
        assert got.iloc[0]["error_code"] == CRITICAL_CODE
        assert got.iloc[0]["severity_rank"] == SEVERITY_RANK["critical"]
        assert ids[5] in set(got["id"]) and ids[1] not in set(got["id"])
        t1 = list_unrecovered(conn, tenant_id="t1", start=start, limit=3)
        t1_ids = {str(r["id"]) for r in rows if r["tenant_id"] == "t1"}
        assert list(t1["id"]) == [i for i in expected if i in t1_ids][:3]


def _explain(conn, query) -> str:
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    conn.execute(text("SET enable_seqscan = off"))
    plan = "\n".join(r[0] for r in conn.execute(text(f"EXPLAIN {compiled}")))  # noqa: S608 - our own compiled SQL
    return normalise_plan(conn, plan)  # partitions of failure_matches read under their parents' names


def _bulk_rows(n: int) -> list[dict]:
    """Many rows shaped like production: 3 tenants, most failures recovered, spread over 30 days."""
    now = utcnow()
    rows = []
    for i in range(n):
        created = now - timedelta(minutes=15 * i)
        rows.append({
            "id": uuid.uuid4(), "run_id": f"r{i}", "tenant_id": f"t{i % 3}", "error_code": f"CODE_{i % 40}",
            "error_message": "m", "signature": "s", "match_type": "code", "severity_rank": i % 6,
            "recovery_attempted": i % 10 != 0, "recovery_succeeded": i % 10 > 1,
            "created_at": created, "updated_at": created, "version": 1,
        })
    return rows


def _uses(plan: str, *indexes: str) -> bool:
    """True when the plan reads through one of `indexes` and never scans a whole table."""
    return "Seq Scan" not in plan and any(re.search(rf"(using|Index Scan on) {name}\b", plan) for name in indexes)


def test_explain_uses_indexes_on_postgresql(pg_engine):
    with pg_engine.begin() as conn:
        rows = _bulk_rows(3000)
        ensure_partitions(conn, min(r["created_at"] for r in rows), utcnow())  # no DEFAULT partition
        conn.execute(failure_matches.insert(), rows)
    # VACUUM too: rows deleted by earlier tests (a 200k-row EXPLAIN fixture) leave bloated partitions whose
    # index costs would steer the planner to another plan than a live table's.
    with pg_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE failure_matches"))
    with pg_engine.connect() as conn:
        plan = _explain(conn, list_unrecovered_query(tenant_id="t1", start=hours_ago(24 * 30)))
        assert _uses(plan, "ix_fm_unrecovered_tenant_queue", "ix_fm_unrecovered"), plan
        # No Sort node over the queue index (a Merge Append of partitions prints a "Sort Key" but sorts nothing).
        assert not re.search(r"\bSort  \(cost", plan) or "ix_fm_unrecovered_tenant_queue" not in plan, plan
        plan = _explain(conn, list_unrecovered_query(tenant_id=None, start=hours_ago(24 * 30)))
        assert _uses(plan, "ix_fm_unrecovered_queue", "ix_fm_unrecovered_all"), plan
        plan = _explain(conn, list_failures_query(filt=FailureFilter(tenant_id="t1", start=hours_ago(24))))
        assert _uses(plan, "ix_fm_tenant_created", "ix_fm_created"), plan
        cursor = encode_cursor(utcnow() - timedelta(hours=3), "0" * 32)
        plan = _explain(conn, list_failures_query(filt=FailureFilter(start=hours_ago(24)), cursor=cursor))
        assert _uses(plan, "ix_fm_created"), plan
        plan = _explain(conn, count_failures_query(filt=FailureFilter(tenant_id="t2", start=hours_ago(24))))
        assert _uses(plan, "ix_fm_tenant_created", "ix_fm_created"), plan
        plan = _explain(conn, raw_query(tenant_id="t1", start=hours_ago(1), end=hours_ago(0.5)))
        assert _uses(plan, "ix_fm_tenant_created", "ix_fm_created"), plan
        plan = _explain(conn, rollup_query(tenant_id="t1", start=hours_ago(30), end=hours_ago(1)))
        assert _uses(plan, "ix_fr_tenant_bucket", "ix_fr_bucket", "uq_failure_rollups_key"), plan
