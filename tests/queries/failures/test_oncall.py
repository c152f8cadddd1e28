"""The unrecovered queue: most severe first, newest next, ids and versions, tenant scope."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from core.schema import failure_matches as fm
from queries.failures.oncall import get_unrecovered_queue, get_unrecovered_summary
from queries.failures.recovery import mark_recoveries
from tests.support.ops_seed import seed


def _expected(conn, tenant=None):
    q = select(fm).where(fm.c.recovery_succeeded.is_not(True))
    if tenant:
        q = q.where(fm.c.tenant_id == tenant)
    rows = conn.execute(q).mappings().all()
    return sorted(rows, key=lambda r: (r["severity_rank"], -r["created_at"].timestamp(), str(r["id"])))


def test_queue_order_ids_versions_and_scope(engine):
    seed(engine)
    with engine.connect() as conn:
        for tenant in (None, "t1", "t2"):
            df = get_unrecovered_queue(conn, tenant_id=tenant)
            want = _expected(conn, tenant)
            assert list(df["id"]) == [str(r["id"]) for r in want]
            assert list(df["version"]) == [r["version"] for r in want]
            assert list(df["state"]) == ["failed" if r["recovery_attempted"] else "unrecovered" for r in want]
        t1 = get_unrecovered_queue(conn, tenant_id="t1")
        assert set(t1["tenant_id"]) == {"t1"}
        assert str(t1["created_at"].dt.tz) == "UTC"
        summary = get_unrecovered_summary(conn, tenant_id="t1")
        assert summary["failures"].sum() == len(t1)
        assert summary["failed_attempts"].sum() == (t1["state"] == "failed").sum() == 1
        assert list(get_unrecovered_queue(conn, tenant_id="t1", limit=3)["id"]) == list(t1["id"][:3])


def test_recovered_rows_leave_the_queue(engine):
    seed(engine)
    with engine.connect() as conn:
        before = get_unrecovered_queue(conn, tenant_id="t2")
    first = before.iloc[0]
    with engine.begin() as conn:
        mark_recoveries(conn, items=[(uuid.UUID(first["id"]), int(first["version"]))], succeeded=True,
                        recovered_by="amy")
    with engine.connect() as conn:
        after = get_unrecovered_queue(conn, tenant_id="t2")
    assert first["id"] not in set(after["id"]) and len(after) == len(before) - 1


def test_empty_queue(engine):
    with engine.connect() as conn:
        df = get_unrecovered_queue(conn, tenant_id="nobody")
        assert df.empty and "id" in df.columns and "version" in df.columns
        assert get_unrecovered_summary(conn, tenant_id="nobody").empty
