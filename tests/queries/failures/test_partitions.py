"""Weekly partitions of failure_matches (PostgreSQL) and the behaviour that must not change on either engine:
migration round trips keep every row, ingest creates the weeks it needs and still refuses a stored id,
retention drops whole weeks and deletes the straddling rows with exact counts, by-id lookups work."""
from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, inspect, select, text

from bench.explain import seq_scans
from cli import main as cli
from core.ids import event_failure_id
from core.metrics import FailcatMetrics
from core.schema import failure_matches, failure_rollups, recovery_events
from core.types import utcnow
from loaders.ingest.pipeline import IngestPipeline
from loaders.ingest.writers import COPY_MIN_ROWS
from loaders.migrate import upgrade_schema
from loaders.retention import apply_retention, retention_cutoff
from queries.failures.listing import get_failure, recovery_history_rows
from queries.failures.partitions import (
    WEEK,
    ensure_partitions,
    is_partitioned,
    list_partitions,
    partition_name,
    week_start,
)
from queries.failures.recovery import mark_recovery
from tests.migrations.test_migrations import _downgrade
from tests.support.databases import empty_database

fm = failure_matches


def _ev(run: str, at: datetime | None, **extra) -> dict:
    ev = {"tenant_id": extra.pop("tenant_id", "t1"), "run_id": run, "error_message": "connection refused", **extra}
    if at is not None:
        ev["occurred_at"] = at.isoformat()
    return ev


def _count(engine, *where) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(fm).where(*where)).scalar_one())


def _weeks(engine) -> set[datetime]:
    with engine.connect() as conn:
        return {p.start for p in list_partitions(conn)}


# --- migration ------------------------------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def scratch(request, tmp_path):
    """An empty database of each kind, dropped afterwards."""
    with empty_database(request.param, tmp_path, "failcat_part_test") as eng:
        yield eng


def _indexes(engine) -> list[dict]:
    """Every secondary index of failure_matches as reflected: columns, sorting, partial WHERE, uniqueness."""
    with engine.connect() as conn:
        found = inspect(conn).get_indexes("failure_matches")
    for ix in found:  # partial WHERE clauses are reflected as text clauses: compare their SQL
        ix["dialect_options"] = {k: str(v) for k, v in ix.get("dialect_options", {}).items()}
    return sorted(found, key=lambda ix: ix["name"])


def _snapshot(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(fm.c.id, fm.c.created_at, fm.c.tenant_id, fm.c.version,
                                                      fm.c.recovery_succeeded).order_by(fm.c.id))]


def test_migration_round_trip_keeps_every_row(scratch):
    upgrade_schema(scratch, "0003")
    now = utcnow()
    rows = [dict(id=uuid.uuid4(), run_id=f"r{i}", tenant_id=f"t{i % 3}", error_code="X", error_message="m",
                 signature="s", match_type="none", created_at=now - timedelta(days=i * 3, minutes=i),
                 updated_at=now, recovery_succeeded=(i % 4 == 0) or None) for i in range(40)]  # ~17 weeks
    with scratch.begin() as conn:
        conn.execute(fm.insert(), rows)
    before, indexes_before = _snapshot(scratch), _indexes(scratch)
    assert len(before) == 40 and len(indexes_before) == 15
    pg = scratch.dialect.name == "postgresql"

    upgrade_schema(scratch, "0004")
    assert _snapshot(scratch) == before
    with scratch.connect() as conn:
        assert is_partitioned(conn) is pg
        parts = list_partitions(conn)
        pk = inspect(conn).get_pk_constraint("failure_matches")["constrained_columns"]
        if pg:  # every row's week has a partition, through the current week and the next weeks
            counted = {p.start: conn.execute(text(f"SELECT count(*) FROM {p.qualified}")).scalar_one()  # noqa: S608
                       for p in parts}
            per_week: dict[datetime, int] = {}
            for r in rows:
                per_week[week_start(r["created_at"])] = per_week.get(week_start(r["created_at"]), 0) + 1
            assert {w: n for w, n in counted.items() if n} == per_week
            assert max(counted) >= week_start(now) + 4 * WEEK
            assert all(p.name == partition_name(p.start) and p.end - p.start == WEEK for p in parts)
    assert pk == (["id", "created_at"] if pg else ["id"])
    assert _indexes(scratch) == indexes_before  # partial and DESC indexes included

    _downgrade(scratch, "0003")
    assert _snapshot(scratch) == before
    assert _indexes(scratch) == indexes_before
    with scratch.connect() as conn:
        assert not is_partitioned(conn)
        assert inspect(conn).get_pk_constraint("failure_matches")["constrained_columns"] == ["id"]
        if pg:
            assert not conn.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = 'failcat_partitions'")).first()

    upgrade_schema(scratch, "0004")
    assert _snapshot(scratch) == before
    with scratch.connect() as conn:
        assert is_partitioned(conn) is pg


# --- ingest ---------------------------------------------------------------------------------------------------

def test_ingest_into_new_weeks_creates_partitions(engine, metrics, long_retention):
    now = utcnow()
    long_ago = [now - timedelta(days=400), now - timedelta(days=407), now - timedelta(days=420)]
    weeks = {week_start(t) for t in long_ago}
    assert not weeks & _weeks(engine)
    report = IngestPipeline(engine, metrics=metrics).ingest([_ev(f"r{i}", t) for i, t in enumerate(long_ago)])
    assert report.inserted == 3
    assert _count(engine, fm.c.created_at < now - timedelta(days=399)) == 3
    if engine.dialect.name == "postgresql":
        assert weeks <= _weeks(engine)
    else:
        assert _weeks(engine) == set()


def test_ingest_recreates_a_week_dropped_after_it_was_cached(pg_engine, metrics, long_retention):
    pipeline = IngestPipeline(pg_engine, metrics=metrics)
    at = utcnow() - timedelta(days=500)
    assert pipeline.ingest([_ev("r1", at)]).inserted == 1  # the week is now cached as existing
    with pg_engine.begin() as conn:
        conn.execute(text("DELETE FROM failure_matches"))
        conn.execute(text(f"DROP TABLE failcat_partitions.{partition_name(week_start(at))}"))
    assert week_start(at) not in _weeks(pg_engine)
    assert pipeline.ingest([_ev("r2", at + timedelta(minutes=1))]).inserted == 1
    assert _count(pg_engine) == 1 and week_start(at) in _weeks(pg_engine)


@pytest.mark.parametrize("n", [3, COPY_MIN_ROWS + 20], ids=["returning", "copy"])
def test_stored_ids_are_refused_whatever_their_time(engine, metrics, n, long_retention):
    """A client id is stored once: resent as is, with another occurred_at (another week), without one, or
    twice in one batch with two times. n >= COPY_MIN_ROWS goes through the COPY stage on PostgreSQL."""
    pipeline = IngestPipeline(engine, metrics=metrics)
    now = utcnow()
    ids = [str(uuid.uuid4()) for _ in range(n)]
    first = pipeline.ingest([_ev(f"r{i}", now - timedelta(hours=1), id=i_) for i, i_ in enumerate(ids)])
    assert (first.inserted, first.duplicates) == (n, 0)
    for at in (now - timedelta(hours=1), now - timedelta(days=20), None):
        again = pipeline.ingest([_ev(f"r{i}", at, id=i_) for i, i_ in enumerate(ids)])
        assert (again.inserted, again.duplicates) == (0, n)
    twice = str(uuid.uuid4())
    batch = [_ev("a", now - timedelta(days=30), id=twice), _ev("b", now - timedelta(days=2), id=twice)]
    report = pipeline.ingest(batch + [_ev(f"x{i}", now) for i in range(n)])
    assert (report.inserted, report.duplicates) == (n + 1, 1)
    with engine.connect() as conn:
        per_id = conn.execute(select(fm.c.id, func.count()).group_by(fm.c.id).having(func.count() > 1)).all()
        assert per_id == []
        stored_id = event_failure_id("t1", uuid.UUID(twice))
        assert conn.execute(select(fm.c.run_id).where(fm.c.id == stored_id)).scalar_one() == "a"
        assert conn.execute(select(func.sum(failure_rollups.c.failures))).scalar_one() == 2 * n + 1
    assert _count(engine) == 2 * n + 1


def test_concurrent_resends_of_one_id_with_different_times_store_it_once(pg_engine, long_retention):
    fid = str(uuid.uuid4())
    now = utcnow()
    start = threading.Barrier(4)
    reports, errors = [], []

    def send(k: int) -> None:
        try:
            pipeline = IngestPipeline(pg_engine, metrics=FailcatMetrics())
            start.wait()
            reports.append(pipeline.ingest([_ev(f"r{k}", now - timedelta(days=k * 9), id=fid)], replay=False))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(r.inserted for r in reports) == [0, 0, 0, 1]
    assert _count(pg_engine, fm.c.id == event_failure_id("t1", uuid.UUID(fid))) == 1


def test_concurrent_ensure_partitions_does_not_fail(pg_engine):
    lo = week_start(utcnow() - timedelta(days=900))
    hi = lo + 5 * WEEK
    start = threading.Barrier(2)
    created, errors = [], []

    def ensure() -> None:
        try:
            with pg_engine.begin() as conn:
                start.wait()
                created.append(ensure_partitions(conn, lo, hi))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ensure) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(len(c) for c in created) == [0, 6]  # the second caller found them all
    assert {lo + k * WEEK for k in range(6)} <= _weeks(pg_engine)


# --- retention ------------------------------------------------------------------------------------------------

def test_retention_drops_whole_weeks_and_deletes_the_straddling_rows(engine, metrics, long_retention):
    real_now = utcnow()
    # A cutoff on a Thursday noon, so its week holds rows on both sides of it.
    cutoff = week_start(real_now - timedelta(days=90)) - WEEK + timedelta(days=3, hours=12)
    now = cutoff + timedelta(days=90)
    assert retention_cutoff(90, now) == cutoff and now < real_now
    times = {
        "gone3": cutoff - timedelta(days=17), "gone2": cutoff - timedelta(days=10), "gone1": cutoff - timedelta(days=4),
        "straddle_old": cutoff - timedelta(hours=1), "straddle_old2": cutoff - timedelta(days=2),
        "straddle_new": cutoff + timedelta(hours=1), "kept": cutoff + timedelta(days=10), "recent": real_now,
    }
    events = [_ev(f"{k}-{i}", t) for k, t in times.items() for i in range(3)]
    assert IngestPipeline(engine, metrics=metrics).ingest(events).inserted == len(events)
    with engine.begin() as conn:
        for run in ("gone2-0", "gone2-1", "straddle_old-0", "kept-0"):
            fid = conn.execute(select(fm.c.id).where(fm.c.run_id == run)).scalar_one()
            mark_recovery(conn, failure_id=fid, succeeded=True, recovered_by="ops")
        expired_history = conn.execute(select(func.count()).select_from(recovery_events).where(
            recovery_events.c.failure_id.in_(select(fm.c.id).where(fm.c.created_at < cutoff)))).scalar_one()
    expired, kept = _count(engine, fm.c.created_at < cutoff), _count(engine, fm.c.created_at >= cutoff)
    assert (expired, kept, expired_history) == (15, 9, 3)
    pg = engine.dialect.name == "postgresql"
    whole = {week_start(t) for t in times.values() if week_start(t) + WEEK <= cutoff}
    if pg:
        assert whole <= _weeks(engine) and len(whole) >= 2

    report = apply_retention(engine, days=90, batch_size=2, now=now)

    assert (report.failures, report.recovery_events) == (expired, expired_history)
    assert _count(engine, fm.c.created_at < cutoff) == 0
    assert _count(engine) == kept
    with engine.connect() as conn:
        assert {r for r in conn.execute(select(fm.c.run_id)).scalars()} == {
            f"{k}-{i}" for k in ("straddle_new", "kept", "recent") for i in range(3)}
        assert conn.execute(select(func.count()).select_from(recovery_events)).scalar_one() == 1
        assert conn.execute(select(func.sum(failure_rollups.c.failures))).scalar_one() == kept
    if pg:
        weeks = _weeks(engine)
        assert not whole & weeks  # dropped, not emptied
        assert week_start(cutoff) in weeks  # the straddling week stays, with its newer rows
        assert week_start(real_now) + 4 * WEEK in weeks  # and the next weeks exist
        with engine.connect() as conn:
            leftovers = conn.execute(text(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'failcat_partitions' AND c.relkind = 'r' AND NOT c.relispartition")).scalar_one()
        assert leftovers == 0
    again = apply_retention(engine, days=90, now=now)
    assert (again.failures, again.recovery_events) == (0, 0)


def test_retention_finishes_a_week_left_detached(pg_engine, metrics, long_retention):
    """A run stopped between DETACH and DROP leaves a table; the next run counts and drops it."""
    at = utcnow() - timedelta(days=200)
    assert IngestPipeline(pg_engine, metrics=metrics).ingest([_ev(f"r{i}", at) for i in range(4)]).inserted == 4
    name = f"failcat_partitions.{partition_name(week_start(at))}"
    with pg_engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE failure_matches DETACH PARTITION {name}"))
    assert _count(pg_engine) == 0
    report = apply_retention(pg_engine, days=90)
    assert report.failures == 4
    with pg_engine.connect() as conn:
        assert conn.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar() is None


# --- by-id lookups, plans, command ----------------------------------------------------------------------------

def test_detail_and_patch_by_id_across_weeks(engine, metrics):
    now = utcnow()
    ids = IngestPipeline(engine, metrics=metrics).ingest(
        [_ev(f"r{i}", now - timedelta(days=7 * i)) for i in range(6)]).ids
    for n, fid in enumerate(ids):
        with engine.begin() as conn:
            change = mark_recovery(conn, failure_id=fid, succeeded=bool(n % 2), recovered_by="ops")
            assert change.version == 2
        with engine.connect() as conn:
            row = get_failure(conn, failure_id=fid, tenant_id="t1")
            assert row["id"] == fid and row["version"] == 2 and row["run_id"] == f"r{n}"
            assert row["recovery_succeeded"] is bool(n % 2)
            assert [h["to_state"] for h in recovery_history_rows(conn, failure_id=fid, tenant_id=None)] == [
                "recovered" if n % 2 else "failed"]
            assert get_failure(conn, failure_id=fid, tenant_id="t2") is None


def test_seq_scans_sees_partitions_and_ignores_empty_or_tiny_ones():
    plan = """Append  (cost=0.00..20.00 rows=3 width=8)
  ->  Seq Scan on failure_matches_p20261123 failure_matches_1  (cost=0.00..15.50 rows=2 width=8)
  ->  Parallel Seq Scan on failure_matches_p20261130 failure_matches_2  (cost=0.00..1204.10 rows=1 width=8)
  ->  Seq Scan on failure_matches_p20261207 failure_matches_3  (cost=0.00..0.00 rows=1 width=8)
  ->  Seq Scan on failure_matches_p20260831 failure_matches_5  (cost=0.00..3.08 rows=1 width=102)
  ->  Index Scan using failure_matches_p20261214_pkey on failure_matches_p20261214  (cost=0.15..8.17 rows=1)
  ->  Seq Scan on failure_rollups  (cost=0.00..1.00 rows=1 width=8)"""
    found = seq_scans(plan)
    assert [line.split(" on ")[1].split()[0] for line in found] == [
        "failure_matches_p20261123", "failure_matches_p20261130"]
    assert seq_scans("Seq Scan on failure_matches  (cost=0.00..431.00 rows=1 width=8)")


def test_partitions_command(engine):
    runner = CliRunner()
    if engine.dialect.name == "sqlite":
        result = runner.invoke(cli, ["partitions", "list"])
        assert result.exit_code == 1 and "not partitioned" in result.output
        return
    far = week_start(utcnow()) + 20 * WEEK
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS failcat_partitions.{partition_name(far)}"))
    created = runner.invoke(cli, ["partitions", "ensure", "--weeks-ahead", "20"])
    assert created.exit_code == 0, created.output
    assert f"failcat_partitions.{partition_name(far)}" in created.stdout.split()
    listed = runner.invoke(cli, ["partitions", "list"])
    assert listed.exit_code == 0
    starts = [datetime.fromisoformat(line.split("\t")[1]) for line in listed.stdout.splitlines()]
    assert starts == sorted(starts) and far in starts and all(s.tzinfo is not None for s in starts)
    assert {s.astimezone(UTC).weekday() for s in starts} == {0}
