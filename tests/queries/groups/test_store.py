"""Groups equal their raw rows after ingest, promotion and retention; a failure reopens a resolved group; an
ignore runs out by time or by count (both engines)."""
from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from sqlalchemy import select, update

from core.ids import group_id
from core.schema import failure_group_daily as gd
from core.schema import failure_groups as g
from core.schema import failure_matches as fm
from core.schema import group_events as ge
from core.timebuckets import day_floor
from core.types import utcnow
from loaders.catalog.promotion import promote_entry
from loaders.ingest.pipeline import IngestPipeline
from loaders.retention import apply_retention
from queries.groups.reads import GroupFilter, get_group, list_groups
from queries.groups.triage import Triage, update_group

NOW = utcnow()


def _events(n: int = 60) -> list[dict]:
    messages = ["connect ECONNREFUSED 10.0.0.{i}:5432", "gizmo frobnication failed for batch {i}",
                "HTTP 503 Service Unavailable for request req_{i:08d}x", "widget {i} exploded in stage 3"]
    return [{"tenant_id": f"t{i % 3}", "run_id": f"r{i}", "error_message": messages[i % 4].format(i=i),
             "occurred_at": (NOW - timedelta(days=(i * 7) % 20, minutes=i)).isoformat()} for i in range(n)]


def _assert_groups_equal_raw(engine) -> None:
    with engine.connect() as conn:
        raw = conn.execute(select(fm.c.tenant_id, fm.c.signature, fm.c.error_code, fm.c.created_at)).all()
        groups = {(r.tenant_id, r.signature): r for r in conn.execute(select(g))}
        daily = {(r.tenant_id, day_floor(r.bucket), r.signature): r.failures for r in conn.execute(select(gd))
                 if r.failures}
    expected: dict[tuple, list] = {}
    days: dict[tuple, int] = defaultdict(int)
    for t, s, code, ts in raw:
        e = expected.setdefault((t, s), [0, ts, ts, code])
        e[0] += 1
        e[1], e[2] = min(e[1], ts), max(e[2], ts)
        days[(t, day_floor(ts), s)] += 1
    assert set(groups) == set(expected)
    for key, (n, first, last, code) in expected.items():
        row = groups[key]
        assert (row.failures, row.first_seen, row.last_seen, row.error_code) == (n, first, last, code), key
        assert row.id == group_id(*key) and row.title
    assert daily == dict(days)


def test_groups_follow_ingest_promotion_and_retention(engine, metrics, long_retention):
    pipeline = IngestPipeline(engine, metrics=metrics)
    assert pipeline.ingest(_events()).inserted == 60
    _assert_groups_equal_raw(engine)
    with engine.begin() as conn:
        result = promote_entry(conn, created_by="ada", entry={
            "code": "WIDGET_EXPLODED", "category": "TOOL", "severity": "high", "recovery_mode": "ESCALATE",
            "message": "a widget exploded", "patterns": ["widget \\d+ exploded"]})
    assert result.rematched == 15
    _assert_groups_equal_raw(engine)
    with engine.connect() as conn:
        before = conn.execute(select(g.c.id)).scalars().all()
    report = apply_retention(engine, days=10, now=NOW)
    _assert_groups_equal_raw(engine)
    with engine.connect() as conn:
        assert conn.execute(select(fm.c.id).where(fm.c.created_at < report.cutoff)).first() is None
        after = conn.execute(select(g.c.id)).scalars().all()
    assert report.groups == len(before) - len(after)


def _resolve(engine, key, **extra) -> None:
    with engine.begin() as conn:
        conn.execute(update(g).where(g.c.id == group_id(*key)).values(state="resolved", resolved_at=utcnow(),
                                                                        **extra))


def test_a_new_failure_reopens_a_resolved_group_as_regressed(engine, metrics):
    pipeline = IngestPipeline(engine, metrics=metrics)
    event = {"tenant_id": "acme", "run_id": "r1", "error_message": "connect ECONNREFUSED 10.0.0.1:5432"}
    pipeline.ingest([event])
    with engine.connect() as conn:
        key = conn.execute(select(g.c.tenant_id, g.c.signature)).one()
    _resolve(engine, tuple(key))
    report = pipeline.ingest([{**event, "run_id": "r2", "error_message": "connect ECONNREFUSED 10.9.9.9:5432"}])
    assert report.regressed == 1
    with engine.connect() as conn:
        group = get_group(conn, group_id=group_id(*key), tenant_id="acme", now=utcnow())
        history = conn.execute(select(ge.c.action, ge.c.from_value, ge.c.to_value, ge.c.actor)).all()
    assert group is not None and (group["state"], group["regressed"], group["failures"]) == ("unresolved", True, 2)
    assert history == [("regressed", "resolved", "unresolved", "failcat")]
    assert metrics.registry.get_sample_value("failcat_group_regressions_total") == 1
    # An old failure sent late (occurred before the resolution) does not reopen it.
    _resolve(engine, tuple(key), regressed=False)
    late = {**event, "run_id": "r3", "occurred_at": (utcnow() - timedelta(hours=2)).isoformat()}
    assert pipeline.ingest([late]).regressed == 0


def test_an_ignore_runs_out_by_time_or_by_count(engine, metrics):
    pipeline = IngestPipeline(engine, metrics=metrics)
    event = {"tenant_id": "acme", "run_id": "r1", "error_message": "widget 7 exploded in stage 3"}
    pipeline.ingest([event])
    with engine.connect() as conn:
        key = tuple(conn.execute(select(g.c.tenant_id, g.c.signature)).one())
    with engine.begin() as conn:
        conn.execute(update(g).where(g.c.id == group_id(*key)).values(
            state="ignored", ignore_until=utcnow() + timedelta(hours=1)))
    with engine.connect() as conn:
        ignored = list_groups(conn, GroupFilter(tenant_id="acme", state="ignored"), now=utcnow()).rows
        later = utcnow() + timedelta(hours=2)  # the time ran out: it reads as unresolved without a write
        unresolved = list_groups(conn, GroupFilter(tenant_id="acme", state="unresolved"), now=later).rows
    assert [r["id"] for r in ignored] == [group_id(*key)] and unresolved[0]["state"] == "unresolved"
    with engine.begin() as conn:
        conn.execute(update(g).where(g.c.id == group_id(*key)).values(ignore_until=None, ignore_until_failures=2))
    assert pipeline.ingest([{**event, "run_id": "r2"}]).inserted == 1  # 2 failures: still ignored
    with engine.connect() as conn:
        assert conn.execute(select(g.c.state).where(g.c.id == group_id(*key))).scalar_one() == "ignored"
    pipeline.ingest([{**event, "run_id": "r3"}])  # the third one ends it
    with engine.connect() as conn:
        assert conn.execute(select(g.c.state).where(g.c.id == group_id(*key))).scalar_one() == "unresolved"
        assert conn.execute(select(ge.c.action)).scalars().all() == ["unignored"]


def test_ignoring_a_regressed_group_clears_regressed_so_the_ignore_ends_unresolved(engine, metrics):
    pipeline = IngestPipeline(engine, metrics=metrics)
    event = {"tenant_id": "acme", "run_id": "r1", "error_message": "widget 7 exploded in stage 3"}
    pipeline.ingest([event])
    with engine.connect() as conn:
        key = tuple(conn.execute(select(g.c.tenant_id, g.c.signature)).one())
    gid = group_id(*key)

    def triage(change: Triage) -> None:
        with engine.begin() as conn:
            update_group(conn, group_id=gid, tenant_id=None, triage=change, actor="olga", source="test", now=utcnow())

    triage(Triage(state="resolved"))
    assert pipeline.ingest([{**event, "run_id": "r2"}]).regressed == 1
    with engine.connect() as conn:
        regressed_at = conn.execute(select(g.c.regressed_at).where(g.c.id == gid)).scalar_one()
    triage(Triage(state="ignored", ignore_failures=1))
    pipeline.ingest([{**event, "run_id": "r3"}, {**event, "run_id": "r4"}])
    with engine.connect() as conn:
        row = conn.execute(select(g.c.state, g.c.regressed, g.c.regressed_at).where(g.c.id == gid)).one()
        actions = conn.execute(select(ge.c.action).order_by(ge.c.id)).scalars().all()
    assert (row.state, row.regressed, row.regressed_at) == ("unresolved", False, regressed_at)
    assert actions == ["state", "regressed", "state", "unignored"]
