"""GroupFilter's group-level conditions (severity, signature, text in title or code) against raw rows (both
engines)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, select

from core.schema import failure_matches as fm
from core.timebuckets import day_floor
from core.types import utcnow
from loaders.ingest.pipeline import IngestPipeline
from queries.groups.reads import GroupFilter, count_groups, daily_counts, list_groups

NOW = utcnow()


def _ingest(engine) -> None:
    events = [("NET_TIMEOUT", "upstream read timed out"), ("NET_TIMEOUT", "upstream read timed out"),
              (None, "gizmo frobnication failed for batch 7")]
    IngestPipeline(engine).ingest([
        {"tenant_id": "t1", "run_id": f"r{i}", "error_message": m, **({"error_code": c} if c else {}),
         "occurred_at": (NOW - timedelta(minutes=i)).isoformat()} for i, (c, m) in enumerate(events)])


def _keys(engine, filt):
    with engine.connect() as conn:
        page = list_groups(conn, filt, now=NOW, limit=200)
        assert count_groups(conn, filt, now=NOW) == len(page.rows)
    return {(r["tenant_id"], r["signature"]) for r in page.rows}


def _raw(engine, *conds):
    with engine.connect() as conn:
        return {tuple(r) for r in conn.execute(select(fm.c.tenant_id, fm.c.signature).where(*conds).distinct())}


def test_severity_signature_and_text_select_groups(engine):
    _ingest(engine)
    with engine.connect() as conn:
        severity = conn.execute(select(fm.c.severity).where(fm.c.error_code == "NET_TIMEOUT").limit(1)).scalar_one()
        sig = conn.execute(select(fm.c.signature).where(fm.c.error_code == "NET_TIMEOUT").limit(1)).scalar_one()
    assert _keys(engine, GroupFilter(severities=(severity,))) == _raw(engine, fm.c.severity == severity)
    assert _keys(engine, GroupFilter(signature=sig)) == _raw(engine, fm.c.signature == sig)
    assert _keys(engine, GroupFilter(signature=sig[:8])) == set()
    # text: the title or the code, case-insensitive, with % and _ taken literally.
    assert _keys(engine, GroupFilter(text="net_time")) == _raw(engine, fm.c.error_code == "NET_TIMEOUT")
    assert _keys(engine, GroupFilter(text="FROBNICATION")) == _raw(engine, fm.c.error_message.like("gizmo%"))
    assert _keys(engine, GroupFilter(text="net%out")) == set()
    # q stays the API's title-only filter.
    assert _keys(engine, GroupFilter(q="net_time")) == set()


def test_daily_counts_equal_raw_days_across_tenants_and_probe_the_group_index(engine):
    messages = ("upstream read timed out", "gizmo frobnication failed", "disk quota exceeded on volume")
    IngestPipeline(engine).ingest([
        {"tenant_id": tenant, "run_id": f"r{tenant}{i}", "error_message": messages[i % 3],
         "occurred_at": (NOW - timedelta(days=i % 5, minutes=i)).isoformat()}
        for tenant in ("t1", "t2", "t3") for i in range(12)])
    with engine.connect() as conn:
        rows = conn.execute(select(fm.c.tenant_id, fm.c.signature, fm.c.created_at)).all()
        keys = sorted({(t, s) for t, s, _ in rows})
        statements: list[tuple[str, object]] = []

        def keep(conn_, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
            statements.append((statement, parameters))

        event.listen(engine, "before_cursor_execute", keep)
        try:
            got = daily_counts(conn, keys, end=NOW, days=7)
        finally:
            event.remove(engine, "before_cursor_execute", keep)
    first = day_floor(NOW) - timedelta(days=6)
    want = {k: [0] * 7 for k in keys}
    for tenant, signature, at in rows:
        want[(tenant, signature)][(day_floor(at) - first).days] += 1
    assert len(keys) == 9 and got == want
    if engine.dialect.name == "sqlite":  # a row-value IN list would make SQLite scan every group's days
        (statement, parameters), = statements
        with engine.connect() as conn:
            # The statistics of a large table (200k group-days of 20 tenants, 90 days), so the plan is the one a
            # real database gets, whatever the statistics the test database has gathered.
            conn.exec_driver_sql("ANALYZE failure_group_daily")
            conn.exec_driver_sql("DELETE FROM sqlite_stat1 WHERE tbl = 'failure_group_daily'")
            for index, stat in (("ix_fgd_group_bucket", "200000 10000 8 1"), ("ix_fgd_bucket", "200000 2200"),
                                ("sqlite_autoindex_failure_group_daily_1", "200000 10000 110 1")):
                conn.exec_driver_sql("INSERT INTO sqlite_stat1 VALUES ('failure_group_daily', ?, ?)", (index, stat))
            conn.exec_driver_sql("ANALYZE sqlite_schema")  # reload them
            try:
                plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                                                         parameters))
            finally:
                conn.exec_driver_sql("DELETE FROM sqlite_stat1 WHERE tbl = 'failure_group_daily'")
                conn.exec_driver_sql("ANALYZE sqlite_schema")
        assert "ix_fgd_group_bucket" in plan and "SCAN failure_group_daily" not in plan, plan
