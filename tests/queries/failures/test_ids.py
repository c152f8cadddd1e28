"""Failure ids are UUIDv7 of their created_at (core.ids): lookups by id narrow to that millisecond (one partition
on PostgreSQL), and ids made elsewhere (an event's own v4 or v7 id with another time) are still found."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from core.ids import id_created_ms, new_failure_id
from core.schema import failure_matches as fm
from core.types import utcnow
from loaders.ingest.pipeline import IngestPipeline
from queries.failures.listing import get_failure, get_failure_query, id_bounds
from queries.failures.recovery import mark_recoveries, mark_recovery


def test_new_failure_id_is_a_uuid7_of_the_millisecond():
    at = datetime(2026, 11, 29, 10, 9, 22, 431_999, tzinfo=UTC)
    ids = {new_failure_id(at) for _ in range(1000)}
    assert len(ids) == 1000  # 74 random bits
    for i in ids:
        assert i.version == 7 and i.variant == uuid.RFC_4122
        assert id_created_ms(i) == datetime(2026, 11, 29, 10, 9, 22, 431_000, tzinfo=UTC)
    # Ordered by time: a later millisecond sorts after every id of an earlier one.
    later = new_failure_id(at + timedelta(milliseconds=1))
    assert all(str(i) < str(later) for i in ids)
    assert id_created_ms(uuid.uuid4()) is None
    before_epoch = new_failure_id(datetime(1960, 1, 1, tzinfo=UTC))
    assert before_epoch.version == 4 and id_created_ms(before_epoch) is None


def test_id_bounds_cover_every_named_millisecond():
    b = utcnow()  # one clock read: two could straddle a millisecond
    a = b - timedelta(days=20)
    lo, hi = id_bounds([new_failure_id(b), new_failure_id(a)])
    assert lo <= a < hi and lo <= b < hi and hi - lo < timedelta(days=20, milliseconds=2)
    assert id_bounds([new_failure_id(a), uuid.uuid4()]) is None
    assert id_bounds([]) is None


def _ingest(engine, metrics, **extra):
    event = {"tenant_id": "t1", "run_id": "r1", "error_message": "connection refused",
             "occurred_at": (utcnow() - timedelta(days=9)).isoformat(), **extra}
    report = IngestPipeline(engine, metrics=metrics).ingest([event])
    assert report.inserted == 1, report.errors
    return uuid.UUID(report.ids[0])


def test_lookups_and_marks_by_every_kind_of_id(engine, metrics):
    made = _ingest(engine, metrics)
    assert made.version == 7
    with engine.connect() as conn:
        stored = conn.execute(select(fm.c.created_at).where(fm.c.id == made)).scalar_one()
    assert id_created_ms(made) <= stored < id_created_ms(made) + timedelta(milliseconds=1)
    # An event's own ids: a v4, and a v7 whose time is not the failure's (a client's uuid7 library).
    own_v4 = _ingest(engine, metrics, id=str(uuid.uuid4()))
    own_v7 = _ingest(engine, metrics, id=str(new_failure_id(utcnow() - timedelta(days=40))))
    for fid in (made, own_v4, own_v7):
        with engine.connect() as conn:
            row = get_failure(conn, failure_id=fid, tenant_id="t1")
            assert row is not None and row["id"] == str(fid)
            assert get_failure(conn, failure_id=fid, tenant_id="t2") is None
        with engine.begin() as conn:
            change = mark_recovery(conn, failure_id=fid, succeeded=True, recovered_by="ann")
        assert change.changed and change.version == 2
        with engine.connect() as conn:
            assert conn.execute(select(fm.c.recovery_succeeded, fm.c.version).where(fm.c.id == fid)).one() == (True, 2)
    # A bulk mark over all three kinds at once.
    with engine.begin() as conn:
        changes = mark_recoveries(conn, items=[(f, 2) for f in (made, own_v4, own_v7)], succeeded=False,
                                  recovered_by="bob")
    assert [c.version for c in changes] == [3, 3, 3]
    with engine.connect() as conn:
        assert get_failure(conn, failure_id=new_failure_id(utcnow()), tenant_id=None) is None


def test_narrowed_lookup_reads_one_partition(engine, metrics):
    made = _ingest(engine, metrics)
    with engine.connect() as conn:
        query = get_failure_query(failure_id=made, tenant_id=None, narrowed=True)
        if engine.dialect.name != "postgresql":
            assert conn.execute(query).first() is not None  # no partitions on SQLite: only the result counts
            return
        compiled = query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
        plan = "\n".join(r[0] for r in conn.execute(text(f"EXPLAIN {compiled}")))
        wide = get_failure_query(failure_id=made, tenant_id=None).compile(
            dialect=conn.dialect, compile_kwargs={"literal_binds": True})
        wide_plan = "\n".join(r[0] for r in conn.execute(text(f"EXPLAIN {wide}")))
    scanned = [line for line in plan.splitlines() if "failure_matches_p" in line]
    assert len(scanned) == 1, plan
    assert len([line for line in wide_plan.splitlines() if "failure_matches_p" in line]) > 1, wide_plan
